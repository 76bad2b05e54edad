"""Learning curves of a training run as a PNG.

    alexnet-plot-history runs/demo [--out=runs/demo/history.png]

Reads MODEL_DIR/history.json: loss, and top-1/top-5 error on train and validation, per
epoch, with the learning rate on a second axis of the loss plot.
"""

import json
import os

from absl import flags

from alexnet_tf.core import cli
from alexnet_tf.core.files import save_figure
from alexnet_tf.core.rundir import RunDir

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The plot_history command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("out", None, "Output PNG (default: MODEL_DIR/history.png).")


def plot_history(history: list[dict], out: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from alexnet_tf.training.curves import history_figure

    return save_figure(history_figure(history), out)


def main(argv):
    if len(argv) != 2:
        cli.usage_error("give one MODEL_DIR.")
    run = RunDir(argv[1])
    if not os.path.exists(run.history_json):
        cli.usage_error(f"{run.history_json} does not exist (train first).")
    with open(run.history_json, encoding="utf-8") as f:
        history = json.load(f)
    if not history:
        cli.usage_error(f"{run.history_json} holds no finished epoch yet.")
    print(plot_history(history, FLAGS.out or run.history_png))


def run() -> None:
    """The `alexnet-plot-history` command."""
    cli.run(main, "plot_history", define_flags)


if __name__ == "__main__":
    run()
