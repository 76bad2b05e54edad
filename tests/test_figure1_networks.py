"""What tells Figure 1's two networks apart, each checked on the built model: pooling
types per layer, where the activation sits, each layer's initial weight std, the input's
scale; and the pieces cuda-convnet's network adds (within-map norm, the biases' rate),
against their formulas written here in NumPy. The study's sweep extension on hand-made
histories."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from fitting import colour_batch, fits_a_batch

from alexnet_tf.core.constants import IMAGENET_STD_RGB
from alexnet_tf.model import build_alexnet
from alexnet_tf.studies import figure1
from alexnet_tf.studies.layers import BiasRateSGD, WithinMapNorm

MEAN_IMAGE = np.random.default_rng(0).uniform(60, 180, (32, 32, 3)).astype(np.float32)


def _networks(activation="relu", classes=10):
    return {
        "cuda_convnet": figure1.cuda_convnet_18pct(activation, classes, MEAN_IMAGE),
        "modern": figure1.four_layer_convnet(activation, classes, [120.0] * 3),
    }


def _kinds(model, kinds):
    return [type(layer).__name__ for layer in model.layers if isinstance(layer, kinds)]


def test_same_size_and_maps_different_pooling():
    pools = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    for name, model in _networks().items():
        assert model.count_params() == 89_578, name
        sizes = [layer.output.shape[1] for layer in model.layers if isinstance(layer, pools)]
        assert sizes == [16, 8, 4], name
    kinds = {name: _kinds(model, pools) for name, model in _networks().items()}
    assert kinds["cuda_convnet"] == ["MaxPooling2D", "AveragePooling2D", "AveragePooling2D"]
    assert kinds["modern"] == ["MaxPooling2D"] * 3


def test_cuda_convnet_applies_its_first_activation_after_pool1():
    model = _networks("tanh")["cuda_convnet"]
    names = [layer.name for layer in model.layers]
    assert names.index("pool1") + 1 == names.index("pool1_tanh")
    assert model.get_layer("conv1").activation.__name__ == "linear"
    assert model.get_layer("conv2").activation.__name__ == "tanh"
    assert model.get_layer("conv3").activation.__name__ == "tanh"


def test_cuda_convnet_starts_from_its_per_layer_std_and_zero_biases():
    keras.utils.set_random_seed(3)
    model = figure1.cuda_convnet_18pct("relu", 10, MEAN_IMAGE)
    for layer, std in figure1.CUDA_CONVNET_INIT_STD.items():
        kernel, bias = (w.numpy() for w in model.get_layer(layer).weights)
        n = kernel.size  # within 4 standard errors of the std's estimate (sd/sqrt(2n))
        assert abs(kernel.std() - std) < 4 * std / np.sqrt(2 * n), layer
        assert abs(kernel.mean()) < 4 * std / np.sqrt(n), layer
        assert not bias.any(), layer
    assert {layer: s for layer, s in figure1.CUDA_CONVNET_INIT_STD.items()} == {
        "conv1": 1e-4, "conv2": 0.01, "conv3": 0.01, "fc10": 0.01,
    }  # fmt: skip


def test_cuda_convnet_sees_raw_pixels_minus_the_mean_image():
    model = figure1.cuda_convnet_18pct("relu", 10, MEAN_IMAGE)
    pixels = np.clip(MEAN_IMAGE + 50, 0, 255).astype(np.uint8)[None]
    seen = keras.Model(model.input, model.get_layer("mean_image").output)(pixels).numpy()
    np.testing.assert_allclose(seen[0], pixels[0].astype(np.float32) - MEAN_IMAGE, atol=1e-4)
    assert seen.max() > 40  # the 0-255 scale, nothing divided
    modern = figure1.four_layer_convnet("relu", 10, [120.0] * 3)
    scaled = keras.Model(modern.input, modern.layers[1].output)(pixels).numpy()
    np.testing.assert_allclose(scaled, (pixels - 120.0) / 64.0, atol=1e-5)


def test_within_map_norm_matches_cuda_convnets_formula():
    x = np.random.default_rng(1).normal(0, 30, (2, 6, 5, 4)).astype(np.float32)
    got = WithinMapNorm(size=3, scale=5e-5, power=0.75)(x).numpy()
    padded = np.pad(x**2, ((0, 0), (1, 1), (1, 1), (0, 0)))
    sums = sum(padded[:, i : i + 6, j : j + 5] for i in range(3) for j in range(3))
    np.testing.assert_allclose(got, x / (1 + 5e-5 / 9 * sums) ** 0.75, rtol=1e-5)


def test_biases_learn_at_twice_the_weights_rate():
    layer = keras.layers.Dense(3, kernel_initializer="zeros")
    layer.build((None, 3))
    optimizer = BiasRateSGD(0.1, momentum=0.9, bias_factor=2.0)
    gradient = [tf.ones((3, 3)), tf.ones((3,))]
    optimizer.apply_gradients(zip(gradient, layer.weights, strict=True))
    np.testing.assert_allclose(layer.kernel.numpy(), -0.1)
    np.testing.assert_allclose(layer.bias.numpy(), -0.2)


@pytest.mark.parametrize(
    "best, added, expected",
    [
        (0.1, [], 0.316),  # at the top: one step up (the sweep's own ratio)
        (0.001, [], 0.000316),  # at the bottom: one step down
        (0.01, [], None),  # inside
        (0.1, [0.316, 1.0], None),  # two added above already: the cap
    ],
)
def test_the_sweep_grows_past_an_end_that_holds_the_best_rate(best, added, expected):
    sweep = (0.001, 0.00316, 0.01, 0.0316, 0.1)
    rates = sorted({*sweep, *added})
    fast, slow = [0.9, 0.2, 0.1], [0.9, 0.9, 0.9]
    by_rate = {r: [fast if r == best else slow] for r in rates}
    assert figure1._extensions(by_rate, 0.25, sweep, list(added)) == expected
    never = {r: [slow] for r in rates}  # no rate reaches the target: nothing to follow
    assert figure1._extensions(never, 0.25, sweep, []) is None


# The full-size network with tanh units, Figure 1's other activation (7 s on 2 cores: in the
# default run, not the quick tier).
def test_tanh_variant_is_tanh_and_trains():
    keras.utils.set_random_seed(1)
    model = build_alexnet(
        4, tower_devices=None, activation="tanh", init="he", std_rgb=IMAGENET_STD_RGB
    )
    hidden = [x for x in model.layers if re.fullmatch(r"(conv\d|fc[67])[ab]", x.name)]
    assert len(hidden) == 14  # conv1-5 and fc6-7, two towers
    for layer in hidden:
        assert layer.activation is keras.activations.tanh, layer.name
    assert model.get_layer("fc8").activation is keras.activations.linear  # logits
    # The hidden units really are bounded by tanh: conv1's outputs lie in (-1, 1).
    x, _ = colour_batch()
    conv1 = keras.Model(model.input, model.get_layer("conv1a").output)
    out = conv1(x).numpy()
    assert out.min() >= -1 and out.max() <= 1 and out.min() < -0.1
    # Slower than ReLU (the paper's point), but learning: seen 6.33 -> 4.79.
    before, after = fits_a_batch(model)
    assert after < 0.85 * before, (before, after)
