"""A training run's learning curves, from its history.json: loss (with the learning rate
on a second axis) and top-1/top-5 error, on train and validation, per epoch. Drawn by
`tools/plot_history.py` (to a PNG) and shown inline by notebook 02."""

from __future__ import annotations


def history_figure(history: list[dict]):
    """A matplotlib figure of the curves in `history` (history.json's list of epochs)."""
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
    return fig
