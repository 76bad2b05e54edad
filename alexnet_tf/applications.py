"""AlexNet the way `keras.applications` builds its models, and its features.

    from alexnet_tf import applications

    model = applications.AlexNet(weights="runs/demo")            # probabilities
    conv = applications.AlexNet(weights="runs/bvlc", include_top=False, pooling="avg")
    fc7 = applications.feature_extractor(model)                  # (None, 4096)
    applications.decode_predictions(model.predict(images), class_names="runs/demo")

The network is always `alexnet_tf.model.AlexNet`, the class every `.keras` file of the
package names: `AlexNet(classifier_activation=None)` returns an instance of it (logits, as
training and the serving graph use); the default softmax wraps that instance in a model
ending in probabilities, as keras.applications models do. Preprocessing (the mean pixel,
the std where the run divided by it) is inside the network, so images go in as RGB 0-255.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from alexnet_tf.core import options as options_lib
from alexnet_tf.core.rundir import source_model_file
from alexnet_tf.model import AlexNet as Network
from alexnet_tf.model.features import FEATURE_LAYERS, feature_extractor, joined_towers

__all__ = [
    "AlexNet",
    "FEATURE_LAYERS",
    "decode_predictions",
    "feature_extractor",
    "preprocess_input",
]

POOLINGS = (None, "avg", "max")
DEFAULT_CLASSES = 1000  # ImageNet's, as keras.applications' models default to
ACTIVATIONS = ("softmax", None)
IMAGE_SIZES = options_lib.spec("image_size").choices


def _weights_file(weights: str) -> str:
    path = source_model_file(weights)  # a model dir's best.keras, as --init_from reads it
    if not os.path.isfile(path):
        raise ValueError(
            "The `weights` argument should be None, a model directory holding best.keras "
            f"(from train or import_weights) or a .keras file. Received: weights={weights}"
        )
    return path


def _image_size(input_shape) -> int | None:
    if input_shape is None:
        return None
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[2] != 3 or shape[0] != shape[1] or shape[0] not in IMAGE_SIZES:
        raise ValueError(
            "The `input_shape` argument should be (224, 224, 3) or (227, 227, 3), the sizes "
            f"the network's options allow (image_size {IMAGE_SIZES}). Received: "
            f"input_shape={input_shape}"
        )
    return shape[0]


def _network(weights, classes, image_size, include_top, model_options) -> Network:
    """The full network: from `weights` (its options, the overrides checked), or new."""
    if image_size is not None:
        model_options = {**model_options, "image_size": image_size}
    if weights is None:
        return Network(num_classes=classes or DEFAULT_CLASSES, **model_options)
    from alexnet_tf.core.keras_file import saved_config

    path = _weights_file(weights)
    config = saved_config(path)
    defaults = options_lib.ModelOptions()
    for name, value in model_options.items():
        saved = config.get(name, getattr(defaults, name, None))
        if name in options_lib.STRUCTURAL and value != saved:
            raise ValueError(
                f"{name}={value!r}, but weights={weights} holds a network with "
                f"{name}={saved!r}: leave {name} out to take the weights' own."
            )
    if include_top and classes is not None and classes != config["num_classes"]:
        raise ValueError(
            f"classes={classes}, but weights={weights} has {config['num_classes']} outputs: "
            f"pass classes={config['num_classes']}, or include_top=False for the features."
        )
    config.update(model_options, tower_devices="auto")
    network = Network.from_config(config)
    network.load_weights(path)
    return network


def AlexNet(  # noqa: N802 (keras.applications names its builders so)
    weights=None,
    include_top=True,
    pooling=None,
    classes=None,
    classifier_activation="softmax",
    input_shape=None,
    **model_options,
):
    """The paper's AlexNet with keras.applications' arguments.

    Args:
      weights: None (new weights, the paper's init unless `init=` says otherwise), a model
        directory (its best.keras: a training run, or bvlc_alexnet from import_weights) or
        a .keras file. Its options and input statistics come with it.
      include_top: True: through fc8, `classes` outputs. False: the convolutional
        features, pool5 with both towers concatenated, (None, 6, 6, 256) at 224.
      pooling: with include_top=False, None keeps pool5's map, "avg" or "max" reduces it
        to (None, 256).
      classes: fc8's outputs. None: the weights' own, or 1000 (ImageNet's) without
        weights. With weights and include_top, a number that differs from theirs is
        refused.
      classifier_activation: "softmax" (probabilities, a model wrapping the network) or
        None (the network itself, logits).
      input_shape: (224, 224, 3) (the paper) or (227, 227, 3) (Caffe's); None: the
        weights' size, or 224.
      **model_options: fields of `alexnet_tf.core.options.ModelOptions` (dropout, init, the
        widths, ...). With weights, the structural ones must agree with them.
    """
    if pooling not in POOLINGS:
        raise ValueError(
            f"The `pooling` argument should be one of None, 'avg', 'max'. Received: "
            f"pooling={pooling!r}"
        )
    if classifier_activation not in ACTIVATIONS:
        raise ValueError(
            "The `classifier_activation` argument should be 'softmax' or None. Received: "
            f"classifier_activation={classifier_activation!r}"
        )
    if classes is not None and (not isinstance(classes, int) or classes < 1):
        raise ValueError(
            f"The `classes` argument should be a positive integer. Received: {classes!r}"
        )
    unknown = sorted(set(model_options) - set(options_lib.NAMES))
    if unknown:
        raise ValueError(
            f"Unknown model options {unknown}; the network takes {', '.join(options_lib.NAMES)}"
        )
    network = _network(weights, classes, _image_size(input_shape), include_top, model_options)
    if include_top:
        if classifier_activation is None:
            return network
        images = keras.Input(network.input.shape[1:], name="image")
        probabilities = keras.layers.Softmax(name="probabilities", dtype="float32")(network(images))
        return keras.Model(images, probabilities, name="alexnet_softmax")
    features = joined_towers(network, "pool5")
    if pooling == "avg":
        features = keras.layers.GlobalAveragePooling2D(name="avg_pool")(features)
    elif pooling == "max":
        features = keras.layers.GlobalMaxPooling2D(name="max_pool")(features)
    return keras.Model(network.input, features, name="alexnet_features")


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: the network subtracts its mean pixel (and divides by the std
    where it was trained so) itself, so RGB 0-255 images go straight in. Kept so that code
    written for keras.applications runs as it is."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            "The network takes channels_last images (B, H, W, 3). Received: "
            f"data_format={data_format!r}"
        )
    return x


def decode_predictions(preds, top=5, class_names=None):
    """For each row of `preds` (N, classes), the `top` classes as (class_id, name, score)
    tuples, best first, as keras.applications' decode_predictions returns them.

    class_names: a run's model directory (its classes.json), a list of names in output
    order, or None: for 1,000 outputs, ImageNet's synsets in Caffe's order, which name the
    classes by their WordNet ids (no readable names ship with the package); otherwise
    class_0, class_1, ...
    """
    preds = np.asarray(preds)
    if preds.ndim != 2:
        raise ValueError(
            f"`decode_predictions` expects a batch of predictions (samples, classes). "
            f"Received: shape {preds.shape}"
        )
    num_classes = preds.shape[1]
    if not isinstance(top, int) or not 1 <= top <= num_classes:
        raise ValueError(f"top should be in [1, {num_classes}]. Received: top={top!r}")
    ids, names = _class_names(class_names, num_classes)
    decoded = []
    for row in preds:
        best = np.argsort(-row, kind="stable")[:top]
        decoded.append([(ids[i], names[i], float(row[i])) for i in best])
    return decoded


def _class_names(class_names, num_classes: int) -> tuple[list, list]:
    if isinstance(class_names, (str, os.PathLike)):
        from alexnet_tf.inference.saving import read_class_list

        return read_class_list(os.fspath(class_names), num_classes)
    if class_names is not None:
        names = list(class_names)
        if len(names) != num_classes:
            raise ValueError(f"class_names holds {len(names)} names for {num_classes} outputs")
        return names, names
    if num_classes == 1000:
        from alexnet_tf.pretrained.bvlc import imagenet_classes

        synsets = imagenet_classes()
        return synsets, synsets
    ids = [f"class_{i}" for i in range(num_classes)]
    return ids, ids
