"""Export a trained model as a SavedModel for TF Serving.

    python -m alexnet_tf.export --model_dir=runs/paper --export_dir=exports/alexnet [--version=N]

Writes exports/alexnet/<N>/ (default N: the next free version), the layout TF Serving
watches, with `serving_default` (JPEG/PNG bytes in) and `predict_images` signatures and
warm-up records; --features adds a `features` signature (JPEG/PNG bytes in, fc7 out).
The library is `alexnet_tf.inference.export`.

    python -m alexnet_tf.export --model_dir=runs/demo --export_dir=exports/alexnet_tflite \
        --format=tflite --quantize=int8 [--data_dir=data/demo]

--format=tflite writes exports/alexnet_tflite/<N>/model.tflite (RGB crops in, float32
0-255; probabilities out) and classes.json; --quantize=float16 halves it, int8 quarters it
and calibrates on training images of --data_dir (default: the run's data). The library
is `alexnet_tf.inference.tflite`.

    python -m alexnet_tf.export --model_dir=runs/demo --export_dir=exports/alexnet_onnx \
        --format=onnx

--format=onnx writes exports/alexnet_onnx/<N>/model.onnx (the same crops in; probabilities
and the top-5 classes out; any batch size) and classes.json, for onnxruntime, TensorRT and
Triton; it needs the `onnx` extra. The library is `alexnet_tf.inference.onnx_export`.
"""

from __future__ import annotations

import os

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS
FORMATS = ["savedmodel", "tflite", "onnx"]


def define_flags() -> None:
    """The export command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("model_dir", None, "The training run's --model_dir.")
    flags.DEFINE_string("export_dir", None, "BASE/NAME: versions go in BASE/NAME/<N>/.")
    flags.DEFINE_integer("version", None, "Version number (default: the next one).")
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_string("model_name", None, "Name for the warm-up requests (default: NAME).")
    flags.DEFINE_boolean(
        "features", False, "Add a `features` signature: image bytes in, fc7 (4096) out."
    )
    flags.DEFINE_enum(
        "format",
        "savedmodel",
        FORMATS,
        "savedmodel (TF Serving) | tflite (LiteRT) | onnx (onnxruntime, TensorRT, Triton).",
    )
    flags.DEFINE_enum(
        "quantize",
        "none",
        ["none", "float16", "int8"],
        "--format=tflite: post-training quantization (int8 calibrates on --data_dir).",
    )
    flags.DEFINE_string(
        "data_dir", None, "--quantize=int8: TFRecords to calibrate on (default: the run's)."
    )
    cli.define_precision_flag(
        "float32 (the default: what every TF Serving build runs) or mixed_bfloat16 (servers "
        "with bfloat16 units); inputs and outputs are the same either way.",
        "float32",
        ["float32", "mixed_bfloat16"],
    )


def main(argv):
    cli.no_arguments(argv)
    cli.require("model_dir", "export_dir")
    if not os.path.isdir(FLAGS.model_dir):
        cli.usage_error(f"--model_dir={FLAGS.model_dir} does not exist.")
    if FLAGS.format != "tflite":
        for name in ("quantize", "data_dir"):
            if FLAGS[name].present:
                cli.usage_error(f"--{name} applies to --format=tflite only.")
    if FLAGS.format != "savedmodel" and (FLAGS.features or FLAGS.mixed_precision != "float32"):
        bad = "--features" if FLAGS.features else f"--mixed_precision={FLAGS.mixed_precision}"
        why = {
            "tflite": "the flatbuffer is float32 (--quantize=float16 or int8 makes it smaller)",
            "onnx": "the graph is float32 (ONNX runtimes choose their own precision: TensorRT "
            "builds fp16 or int8 engines from it)",
        }[FLAGS.format]
        cli.usage_error(
            f"{bad} does not combine with --format={FLAGS.format}: {why}, and it has no "
            "features output."
        )
    if FLAGS.format == "tflite":
        _export_tflite()
        return
    if FLAGS.format == "onnx":
        _export_onnx()
        return
    from alexnet_tf.core.keras_file import ModelFileError
    from alexnet_tf.inference.export import ExportError, export

    try:
        final = export(
            FLAGS.model_dir,
            FLAGS.export_dir,
            FLAGS.version,
            FLAGS.checkpoint,
            FLAGS.model_name,
            FLAGS.mixed_precision,
            FLAGS.features,
        )
    except (FileNotFoundError, FileExistsError, ExportError, ModelFileError) as e:
        cli.usage_error(str(e))
    print(f"exported {final}")


def _export_onnx():
    from alexnet_tf.core.keras_file import ModelFileError
    from alexnet_tf.inference.onnx_export import FILE, OnnxError, export_onnx

    try:
        final = export_onnx(FLAGS.model_dir, FLAGS.export_dir, FLAGS.version, FLAGS.checkpoint)
    except (FileNotFoundError, FileExistsError, OnnxError, ModelFileError) as e:
        cli.usage_error(str(e))
    print(f"exported {os.path.join(final, FILE)}")


def _export_tflite():
    from alexnet_tf.core.keras_file import ModelFileError
    from alexnet_tf.data import DataError
    from alexnet_tf.inference.tflite import TFLiteError, export_tflite

    if FLAGS.data_dir and not os.path.isdir(FLAGS.data_dir):
        cli.usage_error(f"--data_dir={FLAGS.data_dir} does not exist.")
    try:
        final = export_tflite(
            FLAGS.model_dir,
            FLAGS.export_dir,
            FLAGS.quantize,
            FLAGS.data_dir,
            FLAGS.version,
            FLAGS.checkpoint,
        )
    except (FileNotFoundError, FileExistsError, TFLiteError, DataError, ModelFileError) as e:
        cli.usage_error(str(e))
    print(f"exported {os.path.join(final, 'model.tflite')} (--quantize={FLAGS.quantize})")


def run() -> None:
    """The `alexnet-export` command."""
    cli.run(main, "export", define_flags)


if __name__ == "__main__":
    run()
