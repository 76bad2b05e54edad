"""Classic baselines on the same split as the network: does the network earn its cost?

    alexnet-baseline --data_dir=data/fashion [--model_dir=runs/fashion]

Fits logistic regression and an RBF SVM (scikit-learn) on 32x32 versions of the
TFRecords' training images and prints each one's validation top-1 error. With
--model_dir, it prints the network's errors from that run's eval_validation_*.json beside
them and writes MODEL_DIR/baseline.json. The models are described in
`alexnet_tf.studies.baseline`; they need the `baseline` extra (pip install -e ".[baseline]").
"""

import os

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The baseline command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("data_dir", None, "TFRecords (tools/make_tfrecords.py), both splits.")
    flags.DEFINE_string(
        "model_dir",
        None,
        "A training run: its evaluations are printed beside, baseline.json goes there.",
    )
    flags.DEFINE_integer("size", 32, "Side of the small images the models see.")
    flags.DEFINE_list("models", ["logistic", "svm"], "Which of logistic, svm.")
    flags.DEFINE_integer("max_train", 0, "Fit on the first N training images only (0: all).")
    flags.DEFINE_integer("seed", 0, "Seed of the SVM's hold-out split.")


def main(argv):
    cli.no_arguments(argv)
    cli.require("data_dir")
    from alexnet_tf.studies import baseline

    if not os.path.isdir(FLAGS.data_dir):
        cli.usage_error(f"--data_dir={FLAGS.data_dir} does not exist.")
    if FLAGS.model_dir and not os.path.isdir(FLAGS.model_dir):
        cli.usage_error(f"--model_dir={FLAGS.model_dir} is not a directory.")
    bad = [m for m in FLAGS.models if m not in baseline.MODELS]
    if bad or not FLAGS.models:
        cli.usage_error(
            f"--models takes some of {', '.join(baseline.MODELS)}. Received: "
            f"{','.join(FLAGS.models)}"
        )
    for name, low in (("size", 4), ("max_train", 0)):
        if FLAGS[name].value < low:
            cli.usage_error(f"--{name} must be >= {low}. Received: {FLAGS[name].value}")
    from alexnet_tf import data

    try:
        report = baseline.run(FLAGS.data_dir, FLAGS.size, FLAGS.models, FLAGS.max_train, FLAGS.seed)
    except (ImportError, data.DataError) as e:
        cli.usage_error(str(e))
    if FLAGS.model_dir:
        from alexnet_tf.core.files import atomic_write_json

        report["network"] = baseline.network_results(FLAGS.model_dir)
        if not report["network"]:
            print(
                f"{FLAGS.model_dir} has no eval_validation_*.json yet: run "
                f"python -m alexnet_tf.evaluate --model_dir={FLAGS.model_dir}"
            )
        for result in report["network"]:
            print(
                f"network ({result['file']}, {len(result['views'] or ()) or result['crops']} "
                "views): "
                f"validation top-1 error {result['top1_error']:.4f}"
            )
        out = os.path.join(FLAGS.model_dir, "baseline.json")
        atomic_write_json(out, report)
        print(f"written to {out}")


def run() -> None:
    """The `alexnet-baseline` command."""
    cli.run(main, "baseline", define_flags)


if __name__ == "__main__":
    run()
