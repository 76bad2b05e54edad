"""Each custom Keras object of the package survives a `.keras` save and a safe-mode load at
small widths: the same config, the same outputs (and for the joining layers, a list of
both towers' inputs). One harness for all, as keras-hub tests its layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.model import build_alexnet, layers
from alexnet_tf.model.metrics import TopKError
from alexnet_tf.model.network import AlexNet
from alexnet_tf.model.optimizer import PaperSGD

pytestmark = pytest.mark.quick

# name: (make the layer, the input shapes it is called on: one, or a list for both towers)
LAYERS = {
    "conv": (lambda: layers.TowerConv2D(4, 3, padding="same", device="/CPU:0"), [(9, 9, 3)]),
    "conv_both_towers": (lambda: layers.TowerConv2D(4, 3, device="/CPU:1"), [(9, 9, 2)] * 2),
    "dense": (lambda: layers.TowerDense(5, activation="relu"), [(6,)]),
    "dense_both_towers": (lambda: layers.TowerDense(5), [(3,), (4,)]),
    "max_pool_ceil": (lambda: layers.TowerMaxPooling2D(3, 2, ceil_mode=True), [(8, 8, 2)]),
    "zero_padding": (lambda: layers.TowerZeroPadding(2, device="/CPU:0"), [(5, 5, 3)]),
    "dropout": (lambda: layers.TowerDropout(0.5), [(6,)]),
    "flatten": (lambda: layers.TowerFlatten(), [(3, 3, 2)]),
    "lrn": (lambda: layers.LocalResponseNorm(bias=1.0, alpha=2e-5), [(4, 4, 8)]),
    "lrn_op": (lambda: layers.LocalResponseNorm(implementation="op"), [(4, 4, 8)]),
    "preprocess": (
        lambda: layers.ImagePreprocess(std_rgb=(60.0, 61.0, 62.0), seed=3),
        [(8, 8, 3)],
    ),
}


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 255, (2, *s)).astype("float32") for s in shapes]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_round_trips_through_a_keras_file(name, tmp_path):
    make, shapes = LAYERS[name]
    layer = make()
    inputs = [keras.Input(s) for s in shapes]
    outputs = layer(inputs if len(inputs) > 1 else inputs[0])
    model = keras.Model(inputs, outputs)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    again = loaded.layers[-1]
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config()
    x = _inputs(shapes)
    np.testing.assert_array_equal(loaded(x, training=False), model(x, training=False))


def test_the_network_round_trips_at_small_widths(tmp_path):
    widths = {f"conv{i}_filters": 4 for i in range(1, 6)}
    model = build_alexnet(5, tower_devices=None, fc_units=8, init="he", seed=2, **widths)
    model.save(tmp_path / "small.keras")
    loaded = keras.saving.load_model(tmp_path / "small.keras", safe_mode=True)
    assert loaded.get_config() == model.get_config()
    x = _inputs([(224, 224, 3)])[0]
    np.testing.assert_array_equal(loaded(x, training=False), model(x, training=False))


def test_a_network_config_of_before_the_decay_moved_to_the_optimizer_loads():
    """Files written before 2026-11-29 carry weight_decay in the network's config."""
    widths = {f"conv{i}_filters": 4 for i in range(1, 6)}
    model = build_alexnet(5, tower_devices=None, fc_units=8, **widths)
    old = {**model.get_config(), "weight_decay": 5e-4}
    assert AlexNet.from_config(old).get_config() == model.get_config()


def test_metric_and_optimizer_round_trip_with_a_compiled_model(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.TowerDense(6)(inputs))
    model.compile(
        optimizer=PaperSGD(0.02, momentum=0.8, kernel_decay=1e-3, fused=False),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[TopKError(k=5, name="top5_error")],
    )
    x, y = _inputs([(4,)])[0], np.array([1, 4])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "compiled.keras")
    loaded = keras.saving.load_model(tmp_path / "compiled.keras", safe_mode=True)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert isinstance(loaded.optimizer, PaperSGD) and loaded.optimizer.fused is False
    want = model.evaluate(x, y, verbose=0, return_dict=True)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == want  # compiles the metrics
    inner = [m for c in loaded.metrics for m in getattr(c, "metrics", [c])]
    metric = next(m for m in inner if isinstance(m, TopKError))
    assert metric.get_config() == TopKError(k=5, name="top5_error").get_config()
    assert "top5_error" in want
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(tf.convert_to_tensor(a), tf.convert_to_tensor(b))
