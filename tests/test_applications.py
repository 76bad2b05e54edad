"""alexnet_tf.applications: keras.applications' builder semantics, features, decoding."""

import json

import keras
import numpy as np
import pytest
from trainer import SMALL_WIDTHS

from alexnet_tf import applications
from alexnet_tf.model import AlexNet as Network
from alexnet_tf.model import build_alexnet

POOL5 = 2 * SMALL_WIDTHS["conv5_filters"]  # both towers' maps
FC = 2 * SMALL_WIDTHS["fc_units"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A model directory as training leaves it: best.keras and classes.json."""
    root = tmp_path_factory.mktemp("app_run")
    model = build_alexnet(6, tower_devices=None, init="he", seed=3, **SMALL_WIDTHS)
    model.save(root / "best.keras")
    names = ["circle", "square", "triangle", "star", "cross", "ring"]
    (root / "classes.json").write_text(json.dumps({"classes": names, "names": names}))
    return root, model


def _images(n=2, size=224, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.mark.quick
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (None, 6)),
        ({"classifier_activation": None}, (None, 6)),
        ({"include_top": False}, (None, 6, 6, POOL5)),
        ({"include_top": False, "pooling": "avg"}, (None, POOL5)),
        ({"include_top": False, "pooling": "max"}, (None, POOL5)),
        ({"include_top": False, "input_shape": (227, 227, 3), "conv1_pad": 0}, (None, 6, 6, POOL5)),
    ],
)
def test_every_top_and_pooling_combination_has_keras_shapes(kwargs, shape):
    model = applications.AlexNet(classes=6, **SMALL_WIDTHS, **kwargs)
    assert tuple(model.output.shape) == shape
    size = kwargs.get("input_shape", (224,))[0]
    assert tuple(model.input.shape) == (None, size, size, 3)
    if kwargs == {"classifier_activation": None}:
        assert type(model) is Network  # the registered class: logits
    elif not kwargs:
        assert any(type(layer) is Network for layer in model.layers)
        probabilities = model.predict(_images(), verbose=0)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_weights_into_a_headless_model_keep_every_layer_they_hold(run_dir):
    root, source = run_dir
    headless = applications.AlexNet(weights=str(root), include_top=False, pooling="avg")
    kept = {w.path: w for w in headless.weights}
    compared = 0
    for layer in source.layers:
        if layer.name.startswith(("fc6", "fc7", "fc8", "drop", "flatten")):
            continue
        for w in layer.weights:
            np.testing.assert_array_equal(kept[w.path].numpy(), w.numpy(), err_msg=w.path)
            compared += 1
    assert compared == 20  # conv1..conv5 of both towers, kernel and bias
    assert not any(p.startswith(("fc6", "fc7", "fc8")) for p in kept)
    # With the top, every weight; the probabilities are the source's logits' softmax.
    full = applications.AlexNet(weights=str(root / "best.keras"), classes=6)
    x = _images()
    want = keras.ops.softmax(source(x, training=False)).numpy()
    np.testing.assert_allclose(full.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


@pytest.mark.quick
def test_the_weights_decide_the_classes_when_the_caller_leaves_them_out(run_dir):
    """As the module's own example writes it: AlexNet(weights=RUN) for a 6-class run."""
    root, source = run_dir
    model = applications.AlexNet(weights=str(root))
    assert tuple(model.output.shape) == (None, 6)
    logits = applications.AlexNet(weights=str(root), classifier_activation=None)
    x = _images()
    np.testing.assert_array_equal(logits(x, training=False), source(x, training=False))
    assert tuple(applications.AlexNet(**SMALL_WIDTHS).output.shape) == (None, 1000)


def test_fc7_features_are_what_fc8_reads(run_dir):
    """fc8's logits are the fc7 features times fc8's kernel plus its bias: the features
    are fc7, both towers, in the order fc8 reads them."""
    _, model = run_dir
    extractor = applications.feature_extractor(model, layer="fc7")
    assert tuple(extractor.output.shape) == (None, FC)
    x = _images(3, seed=4)
    features = extractor.predict(x, verbose=0)
    kernel, bias = model.get_layer("fc8").get_weights()
    np.testing.assert_allclose(
        features @ kernel + bias, model.predict(x, verbose=0), rtol=1e-4, atol=1e-4
    )
    assert (features >= 0).all()  # after fc7's ReLU
    wrapped = applications.AlexNet(weights=None, classes=6, **SMALL_WIDTHS)
    assert tuple(applications.feature_extractor(wrapped, "fc6").output.shape) == (None, FC)


@pytest.mark.quick
def test_decode_predictions_on_hand_made_probabilities(run_dir):
    root, _ = run_dir
    preds = np.array([[0.1, 0.5, 0.05, 0.3, 0.05, 0.0], [0.9, 0.0, 0.0, 0.0, 0.0, 0.1]])
    top = applications.decode_predictions(preds, top=3, class_names=str(root))
    assert top[0] == [("square", "square", 0.5), ("star", "star", 0.3), ("circle", "circle", 0.1)]
    assert [t[0] for t in top[1]] == ["circle", "ring", "square"]  # ties: lower index first
    named = applications.decode_predictions(preds, top=1, class_names=list("abcdef"))
    assert named == [[("b", "b", 0.5)], [("a", "a", 0.9)]]
    imagenet = applications.decode_predictions(np.eye(1000)[[1]], top=1)
    assert imagenet[0][0][0] == "n01443537" and imagenet[0][0][2] == 1.0  # goldfish's synset
    assert applications.decode_predictions(preds[:, :4], top=1)[0][0][0] == "class_1"
    with pytest.raises(ValueError, match=r"top should be in \[1, 6\]. Received: top=7"):
        applications.decode_predictions(preds, top=7)
    with pytest.raises(ValueError, match="class_names holds 2 names for 6 outputs"):
        applications.decode_predictions(preds, class_names=["a", "b"])
    with pytest.raises(ValueError, match=r"expects a batch of predictions"):
        applications.decode_predictions(preds[0])
    x = np.ones((1, 224, 224, 3))
    assert applications.preprocess_input(x) is x


@pytest.mark.quick
def test_bad_arguments_are_refused_naming_them(run_dir, tmp_path):
    root, _ = run_dir
    cases = [
        (dict(pooling="sum"), "should be one of None, 'avg', 'max'. Received: pooling='sum'"),
        (dict(classifier_activation="relu"), "'softmax' or None. Received: classifier_activation"),
        (dict(input_shape=(200, 200, 3)), r"\(224, 224, 3\) or \(227, 227, 3\).*input_shape=\(200"),
        (dict(weights=str(root), classes=1000), "classes=1000, but weights=.* has 6 outputs"),
        (dict(weights=str(root), classes=7), "classes=7, but weights=.* has 6 outputs"),
        (dict(weights=str(root), fc_units=4096), f"fc_units=4096, but .*fc_units={FC // 2}:"),
        (dict(weights=str(tmp_path)), "a model directory holding best.keras"),
        (dict(no_such_option=1), r"Unknown model options \['no_such_option'\]"),
        (dict(classes=0), "positive integer. Received: 0"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            applications.AlexNet(**kwargs)
    with pytest.raises(ValueError, match="one of pool5, fc6, fc7. Received: layer='fc8'"):
        applications.feature_extractor(applications.AlexNet(classes=6, **SMALL_WIDTHS), "fc8")
    with pytest.raises(ValueError, match="an alexnet_tf AlexNet or a model wrapping one"):
        applications.feature_extractor(keras.Sequential([keras.Input((4,))]))
