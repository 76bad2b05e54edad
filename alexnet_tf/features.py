"""fc7 features of image files, for retrieval and classic models on top.

    python -m alexnet_tf.features --model_dir=runs/bvlc images/ more.jpg --out=features.npz

Every JPEG or PNG named, or found under a folder named (recursively, in sorted order),
goes through the serving graph's preprocessing (shorter side to 256, the centre crop) and
the network up to --layer (fc7 by default: both towers, 4096 values after the ReLU), in
batches, with a progress bar. Writes OUT.npz with `features` (N, D) float32 (pool5
flattened to 9,216 values), `paths` (N,), `layer`, and `failed` (the files that could not
be used, with the reason); the file is written under a temporary name and renamed when
complete. Exit status 1 when any file failed.
"""

from __future__ import annotations

import os
import sys

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def define_flags() -> None:
    """The features command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("model_dir", None, "A training run or an import (its best.keras).")
    flags.DEFINE_string("out", None, "The .npz file to write (refused if it exists).")
    flags.DEFINE_enum("layer", "fc7", ["fc7", "fc6", "pool5"], "Which layer's activations.")
    flags.DEFINE_integer("batch_size", 32, "Images per forward pass.")
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_boolean("progress", True, "Show a progress bar.")
    cli.define_precision_flag()


def image_files(paths) -> list[str]:
    """The files named, and the JPEG/PNG files under the folders named, in order."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            found += sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(path)
                for name in names
                if name.lower().endswith(IMAGE_SUFFIXES)
            )
        elif os.path.exists(path):
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist.")
    return found


def main(argv):
    cli.require("model_dir", "out")
    if not os.path.isdir(FLAGS.model_dir):
        cli.usage_error(f"--model_dir={FLAGS.model_dir} is not a directory.")
    if not FLAGS.out.endswith(".npz"):
        cli.usage_error(f"--out must name a .npz file. Received: {FLAGS.out}")
    if os.path.exists(FLAGS.out):
        cli.usage_error(f"--out={FLAGS.out} exists; features go to a new file.")
    if FLAGS.batch_size < 1:
        cli.usage_error(f"--batch_size must be >= 1. Received: {FLAGS.batch_size}")
    try:
        files = image_files(argv[1:])
    except FileNotFoundError as e:
        cli.usage_error(str(e))
    if not files:
        cli.usage_error("give image files or folders holding JPEG or PNG files.")
    from alexnet_tf.core.keras_file import ModelFileError
    from alexnet_tf.inference.features import write_features

    try:
        result = write_features(
            FLAGS.model_dir,
            files,
            FLAGS.out,
            layer=FLAGS.layer,
            batch_size=FLAGS.batch_size,
            checkpoint=FLAGS.checkpoint,
            policy=cli.resolve_precision().policy,
            progress=FLAGS.progress,
        )
    except (FileNotFoundError, ModelFileError) as e:
        cli.usage_error(str(e))
    for path, reason in result["failed"]:
        print(f"{path}: error: {reason}", file=sys.stderr)
    print(
        f"wrote {result['count']} {FLAGS.layer} features of {result['width']} values to "
        f"{FLAGS.out} ({len(result['failed'])} files failed)"
    )
    sys.exit(1 if result["failed"] else 0)


def run() -> None:
    """The `alexnet-features` command."""
    cli.run(main, "features", define_flags)


if __name__ == "__main__":
    run()
