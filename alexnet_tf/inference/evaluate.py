"""Top-1 and top-5 error of a trained model: the centre crop, or the paper's 10 views with
their softmax averaged (section 4.1). Every example is counted exactly once: the last,
short batch is evaluated too. The program is `python -m alexnet_tf.evaluate`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from alexnet_tf.data.views import view_names
from alexnet_tf.model.metrics import TopKError


def evaluate(model, dataset, crops: int = 1, per_class: bool = False, views=None) -> dict:
    """Top-1/top-5 error of `model` on `dataset` ((images, labels) batches; images
    (B, S, S, 3) with crops=1, else (B, V, S, S, 3): V views whose softmax is averaged).
    `views` (their names) is recorded; by default augment.view_names(crops)."""
    views = tuple(views or view_names(crops))
    num_classes = model.output.shape[-1]

    @tf.function(reduce_retracing=True)  # the last batch may be short
    def probabilities(images):
        if crops == 1:
            return tf.nn.softmax(tf.cast(model(images, training=False), tf.float32), axis=-1)
        shape = tf.shape(images)  # (B, V, S, S, 3): one forward pass for all views
        flat = tf.reshape(images, tf.concat([[-1], shape[2:]], axis=0))
        probs = tf.nn.softmax(tf.cast(model(flat, training=False), tf.float32), axis=-1)
        return tf.reduce_mean(tf.reshape(probs, [shape[0], shape[1], num_classes]), axis=1)

    top1, top5 = TopKError(1), TopKError(5)
    hits, counts = np.zeros(num_classes), np.zeros(num_classes)
    n = 0
    for images, labels in dataset:
        probs = probabilities(images)
        top1.update_state(labels, probs)
        top5.update_state(labels, probs)
        n += int(tf.shape(labels)[0])
        if per_class:
            right = (np.argmax(probs.numpy(), axis=1) == labels.numpy()).astype(float)
            np.add.at(hits, labels.numpy(), right)
            np.add.at(counts, labels.numpy(), 1)
    result = {
        "top1_error": float(top1.result()),
        "top5_error": float(top5.result()),
        "num_examples": n,
        "crops": crops,
        "views": list(views),
    }
    if per_class:
        result["per_class_accuracy"] = [
            float(h / c) if c else None for h, c in zip(hits, counts, strict=True)
        ]
    return result


def evaluate_exported(runner, dataset, crops: int = 1, views=None) -> dict:
    """Top-1/top-5 error of an exported file on `dataset`, as `evaluate` does for the
    Keras model (views averaged the same way): `runner` maps a batch of crops to
    probabilities and names its `quantize` and `interpreter_name` (`tflite.Runner`,
    `onnx_export.Runner`)."""
    top1, top5 = TopKError(1), TopKError(5)
    n = 0
    for images, labels in dataset:
        images = images.numpy()
        if images.ndim == 5:  # (B, V, S, S, 3): every view, then their mean
            b, v = images.shape[:2]
            probs = runner(images.reshape(b * v, *images.shape[2:])).reshape(b, v, -1).mean(1)
        else:
            probs = runner(images)
        top1.update_state(labels, probs)
        top5.update_state(labels, probs)
        n += len(labels)
    return {
        "top1_error": float(top1.result()),
        "top5_error": float(top5.result()),
        "num_examples": n,
        "crops": crops,
        "views": list(views or view_names(crops)),
        "quantize": runner.quantize,
        "interpreter": runner.interpreter_name,
    }
