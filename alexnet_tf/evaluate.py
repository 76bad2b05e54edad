"""Evaluate a trained model: centre crop, or several views with their softmax averaged.

    python -m alexnet_tf.evaluate --model_dir=runs/paper [--data_dir=data/imagenet] --crops=10

--crops=1 is the centre patch, 2 the centre and its reflection, 10 the paper's ten views
(four corners and the centre, each also reflected). A model trained with --noflip never
saw a reflection, so by default (--reflections=auto, from the run's train_config.json) its
views are the unreflected ones: five for --crops=10. Prints top-1 and top-5 error and
writes them to MODEL_DIR/eval_<split>_<crops>crop.json (keys top1_error, top5_error,
num_examples, crops, views, checkpoint, mixed_precision [, per_class_accuracy]).
The crop size is the model's (224, or 227 for an imported bvlc_alexnet). --tflite=FILE
evaluates a flatbuffer from `export --format=tflite` on the same data and views instead,
and writes eval_<split>_<crops>crop_tflite_<quantize>.json; --onnx=FILE a file from
`export --format=onnx`, run by onnxruntime: eval_<split>_<crops>crop_onnx.json.
"""

from __future__ import annotations

import os

from absl import flags

from alexnet_tf.core import cli
from alexnet_tf.core.rundir import RunDir

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The evaluate command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("model_dir", None, "The training run's --model_dir.")
    flags.DEFINE_string(
        "data_dir",
        None,
        "TFRecords, or with --tfds_name TFDS's data dir (default: the run's own data).",
    )
    flags.DEFINE_string(
        "tfds_name",
        None,
        "A prepared TFDS data set; its validation split, or its test split where it has "
        "none (default: the run's, when it trained on one).",
    )
    flags.DEFINE_enum("split", "validation", ["validation", "train"], "Split to evaluate.")
    flags.DEFINE_integer(
        "crops",
        1,
        "1: centre crop; 2: it and its reflection; 10: the paper's ten views (section 4.1).",
    )
    flags.DEFINE_enum(
        "reflections",
        "auto",
        ["auto", "with", "without"],
        "Reflected views: auto includes them when the model was trained with reflections "
        "(train_config.json's flip; an imported model: yes).",
    )
    flags.DEFINE_integer("batch_size", 64, "Images per batch (x10 views with --crops=10).")
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_boolean("per_class", False, "Also report top-1 accuracy per class.")
    flags.DEFINE_string(
        "tflite",
        None,
        "Evaluate this .tflite file (export --format=tflite of the run) instead of the Keras "
        "model, on the same data and views: eval_<split>_<crops>crop_tflite_<quantize>.json.",
    )
    flags.DEFINE_string(
        "onnx",
        None,
        "Evaluate this .onnx file (export --format=onnx of the run) in onnxruntime instead "
        "of the Keras model, on the same data and views: eval_<split>_<crops>crop_onnx.json.",
    )
    flags.DEFINE_boolean(
        "deterministic",
        False,
        "TensorFlow's op determinism on: the same numbers, to the bit, on every rerun (the "
        "data are read in file order either way).",
    )
    cli.define_precision_flag()


def main(argv):
    cli.no_arguments(argv)
    if not FLAGS.model_dir or not os.path.isdir(FLAGS.model_dir):
        cli.usage_error(f"--model_dir={FLAGS.model_dir} is not a directory.")
    if FLAGS.batch_size < 1:
        cli.usage_error(f"--batch_size must be >= 1. Received: {FLAGS.batch_size}")
    from alexnet_tf.core.rundir import read_run_config
    from alexnet_tf.data.views import view_names

    reflections = FLAGS.reflections == "with" or (
        FLAGS.reflections == "auto" and (read_run_config(FLAGS.model_dir) or {}).get("flip", True)
    )
    try:
        views = view_names(FLAGS.crops, reflections)
    except ValueError as e:
        cli.usage_error(f"--{e} (--reflections={FLAGS.reflections})")
    if FLAGS.tflite and FLAGS.onnx:
        cli.usage_error("--tflite and --onnx each name the file to evaluate: give one.")
    exported = "--tflite" if FLAGS.tflite else "--onnx" if FLAGS.onnx else None
    if exported and FLAGS.per_class:
        cli.usage_error(f"--per_class is for the Keras model; leave it out with {exported}.")
    from alexnet_tf import data
    from alexnet_tf.core.files import atomic_write_json
    from alexnet_tf.core.keras_file import ModelFileError
    from alexnet_tf.inference import onnx_export, saving, tflite
    from alexnet_tf.inference.evaluate import evaluate, evaluate_exported

    if FLAGS.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    try:
        if FLAGS.data_dir or FLAGS.tfds_name:
            data_dir, tfds_name = FLAGS.data_dir, FLAGS.tfds_name
        else:
            data_dir, tfds_name = saving.run_data_source(FLAGS.model_dir)
        if exported:
            path = FLAGS.tflite or FLAGS.onnx
            runner = tflite.Runner if FLAGS.tflite else onnx_export.Runner
            model, policy = runner(path), "float32"
            image_size = model.image_size
        else:
            path = saving.resolve_checkpoint(FLAGS.model_dir, FLAGS.checkpoint)
            policy = cli.resolve_precision().policy
            model = saving.load_for_inference(path, policy)
            image_size = model.input.shape[1]
        dataset = data.eval_dataset(
            data_dir,
            FLAGS.batch_size,
            FLAGS.crops,
            FLAGS.split,
            image_size=image_size,
            tfds_name=tfds_name,
            reflections=reflections,
        )
    except (
        FileNotFoundError, data.DataError, ModelFileError, tflite.TFLiteError,
        onnx_export.OnnxError,
    ) as e:  # fmt: skip
        cli.usage_error(str(e))
    if exported:
        result = evaluate_exported(model, dataset, FLAGS.crops, views)
    else:
        result = evaluate(model, dataset, FLAGS.crops, FLAGS.per_class, views)
    result["checkpoint"] = os.path.basename(path)
    result["mixed_precision"] = policy
    result["deterministic"] = FLAGS.deterministic
    kind = f"tflite_{result['quantize']}" if FLAGS.tflite else "onnx" if FLAGS.onnx else ""
    out = RunDir(FLAGS.model_dir).eval_result(FLAGS.split, FLAGS.crops, kind)
    atomic_write_json(out, result)
    print(
        f"{FLAGS.split}, {len(views)} view(s), {result['num_examples']} images, "
        f"{result['checkpoint']}: top-1 error {result['top1_error']:.4f}, "
        f"top-5 error {result['top5_error']:.4f} (written to {out})"
    )


def run() -> None:
    """The `alexnet-evaluate` command."""
    cli.run(main, "evaluate", define_flags)


if __name__ == "__main__":
    run()
