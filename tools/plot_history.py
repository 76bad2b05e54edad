"""Learning curves of a training run as a PNG.

    python tools/plot_history.py runs/demo [--out=runs/demo/history.png]

Reads MODEL_DIR/history.json: loss, and top-1/top-5 error on train and validation, per
epoch, with the learning rate on a second axis of the loss plot.
"""

import json
import os

from absl import flags

from alexnet_tf import cli
from alexnet_tf.files import save_figure
from alexnet_tf.rundir import RunDir

FLAGS = flags.FLAGS
flags.DEFINE_string("out", None, "Output PNG (default: MODEL_DIR/history.png).")


def plot_history(history: list[dict], out: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] + 1 for h in history]
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
    for key, style in (("loss", "-"), ("val_loss", "--")):
        if key in history[0]:
            ax_loss.plot(epochs, [h[key] for h in history], style, label=key)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    if "learning_rate" in history[0]:
        ax_lr = ax_loss.twinx()
        ax_lr.plot(epochs, [h["learning_rate"] for h in history], ":", color="gray")
        ax_lr.set_ylabel("learning rate (dotted)")
        ax_lr.set_yscale("log")
    ax_loss.legend()
    for key, style in (
        ("top1_error", "-"),
        ("val_top1_error", "--"),
        ("top5_error", "-"),
        ("val_top5_error", "--"),
    ):
        if key in history[0]:
            ax_err.plot(epochs, [h[key] for h in history], style, label=key)
    ax_err.set(xlabel="epoch", ylabel="error", title="top-1 and top-5 error", ylim=(0, 1))
    ax_err.legend()
    return save_figure(fig, out)


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


if __name__ == "__main__":
    cli.run(main, "plot_history")
