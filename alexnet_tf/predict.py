"""Top-5 predictions for image files.

    python -m alexnet_tf.predict --model=exports/alexnet cat.jpg dog.png [--json]

--model: an export (BASE/NAME: its highest version; or a version directory), or a
training run's model_dir (its best.keras). A file that is not a readable JPEG or PNG
reports its error and the others go on; the exit status is 1 when any file failed. The
library is `alexnet_tf.inference.predict`.
"""

from __future__ import annotations

import json
import sys

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The predict command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("model", None, "Export directory, version directory, or model_dir.")
    flags.DEFINE_boolean("json", False, "One JSON document on stdout instead of text.")
    flags.DEFINE_string("checkpoint", "best", "For a model_dir: best | latest | a .keras path.")
    cli.define_precision_flag()  # for a model_dir; an export computes as it was exported


def main(argv):
    paths = argv[1:]
    if not FLAGS.model or not paths:
        cli.usage_error("give --model=DIR and at least one image file.")
    from alexnet_tf.core.keras_file import ModelFileError
    from alexnet_tf.inference.predict import load_predictor, predict_files

    try:
        policy = cli.resolve_precision().policy
        predictor = load_predictor(FLAGS.model, FLAGS.checkpoint, policy)
    except (FileNotFoundError, ModelFileError) as e:
        cli.usage_error(str(e))
    results = predict_files(predictor, paths)
    if FLAGS.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" in r:
                print(f"{r['file']}: error: {r['error']}", file=sys.stderr)
                continue
            print(r["file"])
            for rank, p in enumerate(r["predictions"], 1):
                print(f"  {rank}. {p['probability']:7.2%}  {p['class_id']}  {p['name']}")
    sys.exit(1 if any("error" in r for r in results) else 0)


def run() -> None:
    """The `alexnet-predict` command."""
    cli.run(main, "predict", define_flags)


if __name__ == "__main__":
    run()
