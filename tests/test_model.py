"""The model is the paper's network: counts, shapes, wiring, LRN, placement, save/load."""

import re
import sys
import unittest.mock

import keras
import numpy as np
import pytest
import tensorflow as tf
from fitting import fits_a_batch

from alexnet_tf.core import precision
from alexnet_tf.core.constants import IMAGENET_STD_RGB
from alexnet_tf.model import build_alexnet
from alexnet_tf.model.layers import LocalResponseNorm, TowerConv2D, TowerDense
from alexnet_tf.model.optimizer import PaperSGD

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick
TWO_DEVICES = ("/CPU:0", "/CPU:1")


@pytest.fixture(scope="module")
def paper_model():
    return build_alexnet(1000, tower_devices=None)


def test_parameter_count_is_the_papers(paper_model):
    assert paper_model.count_params() == 60_965_224


def _conv_params(k, cin, cout):
    return k * k * cin * cout + cout


def test_one_tower_variants_have_independently_computed_counts():
    full = (
        _conv_params(11, 3, 96)
        + _conv_params(5, 96, 256)
        + _conv_params(3, 256, 384)
        + _conv_params(3, 384, 384)
        + _conv_params(3, 384, 256)
        + 9216 * 4096
        + 4096
        + 4096 * 4096
        + 4096
        + 4096 * 1000
        + 1000
    )
    assert full == 62_378_344  # docs/paper.md
    assert build_alexnet(1000, tower_devices=None, architecture="one_tower").count_params() == full
    # Section 3.2's one-GPU net: half the kernels in conv1-4, conv5 and fc layers full.
    half = (
        _conv_params(11, 3, 48)
        + _conv_params(5, 48, 128)
        + _conv_params(3, 128, 192)
        + _conv_params(3, 192, 192)
        + _conv_params(3, 192, 256)
        + 9216 * 4096
        + 4096
        + 4096 * 4096
        + 4096
        + 4096 * 1000
        + 1000
    )
    model = build_alexnet(1000, tower_devices=None, architecture="one_tower_half")
    assert model.count_params() == half


EXPECTED_SHAPES = {
    "conv1": (55, 55, 48), "lrn1": (55, 55, 48), "pool1": (27, 27, 48),
    "conv2": (27, 27, 128), "lrn2": (27, 27, 128), "pool2": (13, 13, 128),
    "conv3": (13, 13, 192), "conv4": (13, 13, 192), "conv5": (13, 13, 128),
    "pool5": (6, 6, 128), "fc6": (2048,), "fc7": (2048,),
}  # fmt: skip


def test_every_named_layer_has_the_tables_shape(paper_model):
    for base, shape in EXPECTED_SHAPES.items():
        for tower in "ab":
            layer = paper_model.get_layer(base + tower)
            assert tuple(layer.output.shape[1:]) == shape, layer.name
    assert tuple(paper_model.get_layer("fc8").output.shape) == (None, 1000)
    assert tuple(paper_model.output.shape) == (None, 1000)


def test_plain_pooling_keeps_the_shapes():
    model = build_alexnet(10, tower_devices=None, overlapping_pool=False)
    assert model.get_layer("pool1a").pool_size == (2, 2)
    assert tuple(model.get_layer("pool5b").output.shape[1:]) == (6, 6, 128)


def _sources(model, layer_name):
    """Names of the layers whose outputs feed `layer_name` (matched by the tensors
    themselves: `layer.input` is the tensor, or list of tensors, the layer was called on)."""
    inputs = model.get_layer(layer_name).input
    inputs = inputs if isinstance(inputs, list) else [inputs]
    return sorted(layer.name for layer in model.layers if any(layer.output is t for t in inputs))


def test_tower_wiring(paper_model):
    assert _sources(paper_model, "conv2a") == ["pool1a"]
    assert _sources(paper_model, "conv2b") == ["pool1b"]
    assert _sources(paper_model, "conv3a") == ["pool2a", "pool2b"]
    assert _sources(paper_model, "conv3b") == ["pool2a", "pool2b"]
    assert _sources(paper_model, "conv4a") == ["conv3a"]
    assert _sources(paper_model, "conv4b") == ["conv3b"]
    assert _sources(paper_model, "conv5b") == ["conv4b"]
    assert _sources(paper_model, "fc6a") == ["flatten5a", "flatten5b"]
    assert _sources(paper_model, "fc7b") == ["drop6a", "drop6b"]
    assert _sources(paper_model, "fc8") == ["drop7a", "drop7b"]
    assert paper_model.get_layer("drop6a").rate == 0.5


def test_paper_init(paper_model):
    for name, bias in [("conv1a", 0), ("conv2b", 1), ("conv3a", 0), ("conv4a", 1),
                       ("conv5b", 1), ("fc6a", 1), ("fc7b", 1), ("fc8", 0)]:  # fmt: skip
        layer = paper_model.get_layer(name)
        np.testing.assert_array_equal(layer.bias.numpy(), np.float32(bias))
        assert abs(float(np.std(layer.kernel.numpy())) - 0.01) < 0.001, name
    caffe = build_alexnet(10, tower_devices=None, init="caffe")
    np.testing.assert_array_equal(caffe.get_layer("conv2a").bias.numpy(), np.float32(0.1))


def _lrn_numpy(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """Section 3.3 written out: b_i = a_i / (k + alpha * sum_{j=i-n/2}^{i+n/2} a_j^2)^beta."""
    channels = a.shape[-1]
    out = np.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        sq = np.sum(a[..., lo : hi + 1] ** 2, axis=-1)
        out[..., i] = a[..., i] / (k + alpha * sq) ** beta
    return out


def test_lrn_matches_the_papers_formula():
    a = np.random.default_rng(0).uniform(0, 60, (2, 5, 5, 48)).astype(np.float32)
    got = LocalResponseNorm()(a).numpy()
    np.testing.assert_allclose(got, _lrn_numpy(a), rtol=1e-5)
    # Large activations, where alpha's scale matters (Caffe's alpha/n would differ here).
    assert not np.allclose(got, _lrn_numpy(a, alpha=2e-5), rtol=1e-3)


def test_lrn_implementations_agree_with_the_formula_forward_and_backward():
    """The banded LRN (the default) and TF's op, values and gradients, against NumPy."""
    a = np.random.default_rng(1).uniform(0, 60, (2, 5, 5, 48)).astype(np.float32)
    weights = np.random.default_rng(2).normal(size=a.shape)
    x = tf.constant(a)
    grads = {}
    for implementation in ("banded", "op"):
        layer = LocalResponseNorm(implementation=implementation)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * weights)
        np.testing.assert_allclose(y.numpy(), _lrn_numpy(a), rtol=1e-5)
        grads[implementation] = tape.gradient(loss, x).numpy()
    # The gradient by central differences of the NumPy formula, at a few points.
    a64 = a.astype(np.float64)
    for index in [(0, 0, 0, 0), (1, 2, 3, 24), (0, 4, 4, 47), (1, 1, 2, 1)]:
        step = np.zeros_like(a64)
        step[index] = 1e-3
        numeric = (
            np.sum(_lrn_numpy(a64 + step) * weights) - np.sum(_lrn_numpy(a64 - step) * weights)
        ) / 2e-3
        for implementation, grad in grads.items():
            assert abs(grad[index] - numeric) < 1e-4 * max(1, abs(numeric)), implementation


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fused_training_lrn_is_the_banded_one_forward_and_backward(dtype):
    """The XLA form that training takes computes the banded form's outputs and input
    gradients; inference never takes it, nor a layer whose windows cross towers."""
    rng = np.random.default_rng(3)
    x = tf.cast(rng.uniform(0, 60, (2, 7, 7, 48)), dtype)
    weights = tf.cast(rng.normal(size=x.shape), dtype)
    results = {}
    for fused in (False, True):
        layer = LocalResponseNorm(dtype=dtype)
        layer.fused_training = fused
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y * weights, tf.float32))
        results[fused] = [tf.cast(v, tf.float32).numpy() for v in (y, tape.gradient(loss, x))]
    tol = 1e-5 if dtype == "float32" else 1e-2
    for banded, fused in zip(*results.values(), strict=True):
        np.testing.assert_allclose(fused, banded, rtol=tol, atol=tol * np.abs(banded).max())
    default = LocalResponseNorm(dtype=dtype)
    assert default.uses_fused()
    layers_module = sys.modules[LocalResponseNorm.__module__]
    with unittest.mock.patch.object(layers_module, "fused_lrn", side_effect=AssertionError):
        default(x, training=False)  # inference: the banded form, whatever fused_training
    assert not LocalResponseNorm(tower=0).uses_fused()  # across towers: banded


def test_bf16_lrn_computes_in_float32():
    """Under mixed_bfloat16 the LRN takes and gives bfloat16, but its arithmetic is
    float32: the only error against the float32 formula is the output's rounding."""
    a = np.random.default_rng(0).uniform(0, 60, (2, 5, 5, 48)).astype(np.float32)
    a = tf.cast(tf.cast(a, tf.bfloat16), tf.float32).numpy()  # inputs bf16 can hold
    layer = LocalResponseNorm(dtype="mixed_bfloat16")
    got = layer(tf.constant(a, tf.bfloat16))
    assert got.dtype == tf.bfloat16
    want = _lrn_numpy(a.astype(np.float64))
    rel = np.abs(tf.cast(got, tf.float64).numpy() - want) / np.abs(want)
    assert rel.max() <= 2.0**-8  # half a bfloat16 unit: rounding the output, nothing more
    # Computed in bfloat16 throughout, the same formula is off by more than that.
    low = tf.cast(a, tf.bfloat16)
    square_sum = tf.nn.conv2d(
        tf.square(low), tf.cast(np.ones((1, 1, 48, 48)) * _band(48), tf.bfloat16), 1, "VALID"
    )
    in_bf16 = low / tf.pow(2.0 + 1e-4 * square_sum, tf.constant(0.75, tf.bfloat16))
    assert np.max(np.abs(tf.cast(in_bf16, tf.float64).numpy() - want) / np.abs(want)) > 2.0**-8


def _band(c):
    i = np.arange(c)
    return (np.abs(i[:, None] - i[None, :]) <= 2).astype(np.float32)


def _conv1_pair(size, seed, dtype="float32"):
    """conv1a in both forms with the same weights, and an input batch of `size`. No ReLU:
    where the two forms' rounding puts one output on each side of zero, a ReLU would
    change a whole kernel's gradient by a patch of inputs."""
    rng = np.random.default_rng(seed)
    x = tf.cast(rng.uniform(-120, 120, (2, size, size, 3)), dtype)
    weights = [rng.normal(0, 0.01, (11, 11, 3, 48)), rng.normal(0, 1, 48)]
    layers = {}
    for form in ("direct", "space_to_depth"):
        layer = TowerConv2D(48, 11, strides=4, form=form, dtype=dtype)
        layer.build(x.shape)
        layer.set_weights(weights)
        layers[form] = layer
    return layers, x, rng


@pytest.mark.parametrize("size", [228, 227, 229])  # the paper's padded 224, bvlc's 227
def test_space_to_depth_conv1_is_the_direct_convolution(size):
    """conv1's stride-1 space-to-depth form computes the direct convolution's outputs and
    gradients (kernel, bias, input) to float32 rounding, and keeps the paper's kernel."""
    layers, x, rng = _conv1_pair(size, seed=size)
    weights = tf.constant(rng.normal(size=(2, 55, 55, 48)), tf.float32)
    results = {}
    for form, layer in layers.items():
        assert layer.uses_space_to_depth(tf.float32) == (form == "space_to_depth")
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * weights)
        grads = tape.gradient(loss, [layer.kernel, layer.bias, x])
        assert tuple(layer.kernel.shape) == (11, 11, 3, 48)
        results[form] = [y.numpy()] + [g.numpy() for g in grads]
    for name, direct, s2d in zip(("y", "kernel", "bias", "input"), *results.values(), strict=True):
        scale = np.abs(direct).max()
        np.testing.assert_allclose(s2d, direct, rtol=0, atol=2e-6 * scale, err_msg=name)


def test_space_to_depth_conv1_in_bfloat16_agrees_with_the_direct_one():
    """In bfloat16 (where "auto" takes it) the two forms differ only by bf16 rounding of
    their different summation orders."""
    layers, x, _ = _conv1_pair(228, seed=0, dtype="bfloat16")
    direct, s2d = (tf.cast(layer(x), tf.float32).numpy() for layer in layers.values())
    np.testing.assert_allclose(s2d, direct, rtol=0, atol=0.02 * np.abs(direct).max())


@pytest.mark.parametrize("tiles", [True, False], ids=["amx", "avx512_bf16_alone"])
def test_conv1_form_follows_the_compute_dtype_and_the_cpu(tiles, monkeypatch):
    """ "auto" (the model's conv1) takes space-to-depth in bfloat16 on a CPU with AMX
    tiles, the direct form in float32 and without tiles (each path forced here, whatever
    this machine has); stride-1 layers (conv2-5) are direct whatever their form."""
    monkeypatch.setattr(precision, "cpu_has_bf16_tiles", lambda: tiles)
    conv1 = TowerConv2D(48, 11, strides=4, form="auto")
    assert conv1.uses_space_to_depth(tf.bfloat16) == tiles
    assert not conv1.uses_space_to_depth(tf.float32)
    assert not TowerConv2D(48, 11, strides=4).uses_space_to_depth(tf.bfloat16)  # "direct"
    assert TowerConv2D(48, 11, strides=4, form="space_to_depth").uses_space_to_depth(tf.float32)
    assert not TowerConv2D(8, 3, padding="same", form="space_to_depth").uses_space_to_depth(
        tf.bfloat16
    )
    model = build_alexnet(10, tower_devices=None)
    assert [model.get_layer(n).form for n in ("conv1a", "conv1b", "conv2a")] == [
        "auto",
        "auto",
        "direct",
    ]
    with pytest.raises(ValueError, match="form must be one of direct, space_to_depth, auto"):
        TowerConv2D(8, 3, form="fast")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_transposed_input_grad_dense_is_the_direct_one(dtype):
    """fc6's wiring at an eighth of its widths (both towers joined, ReLU): the transposed
    input gradient gives the direct form's outputs and gradients (kernel, bias, both
    towers' inputs) to rounding, and the saved kernel keeps its (inputs, units) shape."""
    rng = np.random.default_rng(3)
    xs = [tf.cast(rng.uniform(0, 2, (4, 576)), dtype) for _ in range(2)]
    weights = [rng.normal(0, 0.01, (1152, 256)), rng.normal(0, 0.1, 256)]
    dy = tf.cast(rng.normal(size=(4, 256)), dtype)
    results = {}
    for form in ("direct", "transposed_input_grad"):
        layer = TowerDense(256, activation="relu", form=form, dtype=dtype)
        layer(xs)  # builds it, as the model does, from both towers' inputs
        layer.set_weights(weights)
        assert layer.uses_transposed_input_grad(dtype) == (form != "direct")
        with tf.GradientTape() as tape:
            tape.watch(xs)
            y = layer(xs)
        grads = tape.gradient(y, [layer.kernel, layer.bias, *xs], output_gradients=dy)
        assert tuple(layer.kernel.shape) == (1152, 256)
        results[form] = [tf.cast(t, tf.float32).numpy() for t in (y, *grads)]
    names = ("y", "kernel", "bias", "input a", "input b")
    tolerance = 2e-6 if dtype == "float32" else 2**-7  # a bfloat16 unit at the largest value
    for name, direct, transposed in zip(names, *results.values(), strict=True):
        scale = np.abs(direct).max()
        assert scale > 0, name
        np.testing.assert_allclose(transposed, direct, rtol=0, atol=tolerance * scale, err_msg=name)


def test_dense_form_follows_the_compute_dtype():
    """ "auto" (every dense layer of the model) takes the transposed input gradient where
    the layer computes in float32: fc6 and fc7 in float32 runs, fc8 always."""
    dense = TowerDense(8, form="auto")
    assert dense.uses_transposed_input_grad(tf.float32)
    assert not dense.uses_transposed_input_grad(tf.bfloat16)
    assert not TowerDense(8).uses_transposed_input_grad(tf.float32)  # "direct"
    model = build_alexnet(10, tower_devices=None)
    assert {model.get_layer(n).form for n in ("fc6a", "fc6b", "fc7a", "fc7b", "fc8")} == {"auto"}
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        bf16 = build_alexnet(10, tower_devices=None)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert not bf16.get_layer("fc6a").uses_transposed_input_grad(
        bf16.get_layer("fc6a").compute_dtype
    )
    assert bf16.get_layer("fc8").uses_transposed_input_grad(bf16.get_layer("fc8").compute_dtype)
    with pytest.raises(ValueError, match="form must be one of direct, transposed_input_grad, auto"):
        TowerDense(8, form="fast")


def test_mixed_precision_model_keeps_logits_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_alexnet(10, tower_devices=None)
        assert model.get_layer("conv1a").compute_dtype == "bfloat16"
        assert model.get_layer("lrn1a").compute_dtype == "bfloat16"  # bf16 in and out
        assert model.get_layer("preprocess").compute_dtype == "float32"
        logits = model(np.zeros((1, 224, 224, 3), np.float32))
        assert logits.dtype == tf.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


_LAYER_IN_OP_NAME = re.compile(r"^(conv\d|lrn\d|fc\d)([ab]?)(_\d+)?$")


def test_towers_placed_with_their_gradients_and_variables():
    model = build_alexnet(10, tower_devices=TWO_DEVICES)
    model.compile(
        optimizer=PaperSGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    model.optimizer.build(model.trainable_variables)
    spec = (tf.TensorSpec((2, 224, 224, 3)), tf.TensorSpec((2,), tf.int32))
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    kinds = ("Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "BiasAddGrad",
             "MatMul")  # fmt: skip
    checked = {"a": 0, "b": 0}
    lrn_calls = {"a": 0, "b": 0}
    for op in graph.get_operations():
        calls_lrn = op.type.endswith("PartitionedCall") and "_fused_lrn" in op.get_attr("f").name
        if op.type not in kinds and not calls_lrn:
            continue
        matches = [m for m in map(_LAYER_IN_OP_NAME.match, op.name.split("/")) if m]
        assert len(matches) == 1, op.name
        tower = matches[0].group(2) or "a"  # fc8 lives with tower a
        assert op.device.endswith({"a": "CPU:0", "b": "CPU:1"}[tower]), (op.name, op.device)
        (lrn_calls if calls_lrn else checked)[tower] += 1
    # Per tower: 5 convs x (forward, 2 backprops, bias grad), fc6/fc7 x (forward, 2
    # matmul grads, bias grad); tower a also has fc8's 4. 2 LRNs x 3 XLA clusters
    # (forward, the backward's term, the backward).
    assert checked == {"a": 20 + 8 + 4, "b": 20 + 8}
    assert lrn_calls == {"a": 6, "b": 6}
    # Each variable's update runs on its tower: fc6's and fc7's kernels (2**20 values or
    # more) as one XLA cluster, the others as TF's op after the decay's add.
    updates = [
        op
        for op in graph.get_operations()
        if op.type == "ResourceApplyKerasMomentum"
        or (op.type == "StatefulPartitionedCall" and "momentum_update" in op.get_attr("f").name)
    ]
    assert len(updates) == len(model.trainable_variables) == 30  # in the variables' order
    fused = [var.path for op, var in zip(updates, model.trainable_variables, strict=True)
             if op.type == "StatefulPartitionedCall"]  # fmt: skip
    assert fused == [f"{n}/kernel" for n in ("fc6a", "fc6b", "fc7a", "fc7b")]
    for op, var in zip(updates, model.trainable_variables, strict=True):
        matches = [m for m in map(_LAYER_IN_OP_NAME.match, op.inputs[0].op.name.split("/")) if m]
        device = {"a": "CPU:0", "b": "CPU:1"}[matches[0].group(2) or "a"]
        assert op.device.endswith(device), (op.name, var.path)
        if op.type == "StatefulPartitionedCall":
            assert op.get_attr("_XlaMustCompile"), op.name
        elif var.name == "kernel":
            decayed = op.inputs[3].op  # gradient + decay * kernel
            assert decayed.type == "AddV2" and decayed.device.endswith(device), var.path
    for name in ("conv1a", "conv3a", "fc6a", "fc7a", "fc8"):
        assert model.get_layer(name).kernel.value.device.endswith("CPU:0"), name
    for name in ("conv1b", "conv5b", "fc6b", "fc7b"):
        assert model.get_layer(name).kernel.value.device.endswith("CPU:1"), name


def test_towers_model_trains_on_two_devices():
    # He init with unit-variance inputs: the paper's init sits on a flat loss at first
    # (as Caffe reported), which a few steps cannot show past.
    keras.utils.set_random_seed(1)
    model = build_alexnet(4, tower_devices=TWO_DEVICES, init="he", std_rgb=IMAGENET_STD_RGB)
    before, after = fits_a_batch(model)
    assert after < 0.6 * before, (before, after)


def test_auto_without_two_gpus_pins_nothing():
    model = build_alexnet(10, tower_devices="auto")
    assert model.resolved_tower_devices is None
    assert model.get_layer("conv1b").device is None


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'/GPU:7'.*does not exist.*Available devices: /CPU:0"):
        build_alexnet(10, tower_devices=("/CPU:0", "/GPU:7"))
    with pytest.raises(ValueError, match="exactly two devices"):
        build_alexnet(10, tower_devices=("/CPU:0",))
    with pytest.raises(ValueError, match="Received: tower_devices='gpu'"):
        build_alexnet(10, tower_devices="gpu")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"architecture": "three_tower"}, "architecture must be one of"),
        ({"activation": "sigmoid"}, "activation must be one of"),
        ({"init": "xavier"}, "init must be one of"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"pca_std": -1.0}, r"pca_std must be >= 0. Received: pca_std=-1.0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_alexnet(10, tower_devices=None, **kwargs)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        build_alexnet(0, tower_devices=None)


def test_save_load_round_trip(tmp_path):
    model = build_alexnet(
        7, tower_devices=TWO_DEVICES, activation="tanh", lrn=False, dropout=0.3, init="caffe"
    )
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert loaded.get_config() == model.get_config()
    assert loaded.get_config()["tower_devices"] == list(TWO_DEVICES)
    assert loaded.get_layer("conv1b").device == "/CPU:1"
    x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_each_layer_of_each_tower_starts_from_its_own_draw():
    """An initializer instance draws the same values each time it is called: shared
    between towers, both would start identical (and stay mirror images)."""
    from trainer import SMALL_WIDTHS

    model = build_alexnet(6, tower_devices=None, **SMALL_WIDTHS)
    kernels = {w.path: w.numpy() for w in model.weights if w.name == "kernel"}
    for i, (a, first) in enumerate(kernels.items()):
        for b, second in list(kernels.items())[i + 1 :]:
            assert first.shape != second.shape or not np.allclose(first, second), (a, b)
