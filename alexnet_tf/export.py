"""Export a trained model as a SavedModel for TF Serving.

    python -m alexnet_tf.export --model_dir=runs/paper --export_dir=exports/alexnet [--version=N]

Writes exports/alexnet/<N>/ (default N: the next free version), the layout TF Serving
watches, with `serving_default` (JPEG/PNG bytes in) and `predict_images` signatures and
warm-up records. The library is `alexnet_tf.inference.export`.
"""

from __future__ import annotations

import os

from absl import flags

from alexnet_tf import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The export command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("model_dir", None, "The training run's --model_dir.")
    flags.DEFINE_string("export_dir", None, "BASE/NAME: versions go in BASE/NAME/<N>/.")
    flags.DEFINE_integer("version", None, "Version number (default: the next one).")
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_string("model_name", None, "Name for the warm-up requests (default: NAME).")
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
    from alexnet_tf.inference.export import ExportError, export
    from alexnet_tf.keras_file import ModelFileError

    try:
        final = export(
            FLAGS.model_dir,
            FLAGS.export_dir,
            FLAGS.version,
            FLAGS.checkpoint,
            FLAGS.model_name,
            FLAGS.mixed_precision,
        )
    except (FileNotFoundError, FileExistsError, ExportError, ModelFileError) as e:
        cli.usage_error(str(e))
    print(f"exported {final}")


if __name__ == "__main__":
    cli.run(main, "export", define_flags)
