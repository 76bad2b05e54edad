"""Evaluate a trained model: centre crop, or the paper's 10 views with softmax averaged.

    python -m alexnet_tf.evaluate --model_dir=runs/paper --data_dir=data/imagenet --crops=10

Prints top-1 and top-5 error and writes them to MODEL_DIR/eval_<split>_<crops>crop.json
(keys top1_error, top5_error, num_examples, crops, checkpoint[, per_class_accuracy]).
Every example is counted exactly once: the last, short batch is evaluated too.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """The command line's flags (only when run as a program: flags stay at the edge)."""
    flags.DEFINE_string("model_dir", None, "The training run's --model_dir.")
    flags.DEFINE_string("data_dir", None, "TFRecords (default: the run's --data_dir).")
    flags.DEFINE_enum("split", "validation", ["validation", "train"], "Split to evaluate.")
    flags.DEFINE_integer("crops", 1, "1: centre crop; 10: the paper's ten views (section 4.1).")
    flags.DEFINE_integer("batch_size", 64, "Images per batch (x10 views with --crops=10).")
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_boolean("per_class", False, "Also report top-1 accuracy per class.")


def evaluate(model, dataset, crops: int = 1, per_class: bool = False) -> dict:
    """Top-1/top-5 error of `model` on `dataset` ((images, labels) batches; images
    (B, 224, 224, 3), or (B, 10, 224, 224, 3) with crops=10)."""
    import numpy as np
    import tensorflow as tf

    from alexnet_tf.metrics import TopKError

    num_classes = model.output.shape[-1]

    @tf.function(reduce_retracing=True)  # the last batch may be short
    def probabilities(images):
        if crops == 1:
            return tf.nn.softmax(model(images, training=False), axis=-1)
        shape = tf.shape(images)  # (B, 10, 224, 224, 3): one forward pass for all views
        flat = tf.reshape(images, tf.concat([[-1], shape[2:]], axis=0))
        probs = tf.nn.softmax(model(flat, training=False), axis=-1)
        return tf.reduce_mean(tf.reshape(probs, [shape[0], crops, num_classes]), axis=1)

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
    }
    if per_class:
        result["per_class_accuracy"] = [
            float(h / c) if c else None for h, c in zip(hits, counts, strict=True)
        ]
    return result


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")

    def fail(message):
        print(f"evaluate: error: {message}", file=sys.stderr)
        sys.exit(2)

    if not FLAGS.model_dir or not os.path.isdir(FLAGS.model_dir):
        fail(f"--model_dir={FLAGS.model_dir} is not a directory.")
    if FLAGS.crops not in (1, 10):
        fail(f"--crops must be 1 or 10. Received: {FLAGS.crops}")
    if FLAGS.batch_size < 1:
        fail(f"--batch_size must be >= 1. Received: {FLAGS.batch_size}")
    from alexnet_tf import data, saving
    from alexnet_tf.files import atomic_write_json

    try:
        data_dir = FLAGS.data_dir or saving.run_data_dir(FLAGS.model_dir)
        path = saving.resolve_checkpoint(FLAGS.model_dir, FLAGS.checkpoint)
        dataset = data.eval_dataset(data_dir, FLAGS.batch_size, FLAGS.crops, FLAGS.split)
        model = saving.load_for_inference(path)
    except (FileNotFoundError, ValueError) as e:  # DataError is a ValueError
        fail(str(e))
    result = evaluate(model, dataset, FLAGS.crops, FLAGS.per_class)
    result["checkpoint"] = os.path.basename(path)
    out = os.path.join(FLAGS.model_dir, f"eval_{FLAGS.split}_{FLAGS.crops}crop.json")
    atomic_write_json(out, result)
    print(
        f"{FLAGS.split}, {FLAGS.crops} crop(s), {result['num_examples']} images, "
        f"{result['checkpoint']}: top-1 error {result['top1_error']:.4f}, "
        f"top-5 error {result['top5_error']:.4f} (written to {out})"
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
