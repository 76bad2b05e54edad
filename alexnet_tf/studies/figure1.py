"""The paper's Figure 1 as the paper ran it (section 3.1): a four-layer convolutional
network trained with ReLUs and with tanh units, no regularisation of any kind, each
activation at the learning rate that trains it fastest; how many epochs each needs to
reach a training error, and the ratio.

    python tools/run_ablations.py --study=figure1 --data_dir=data/demo --out=runs/figure1

The paper: on CIFAR-10, "a four-layer convolutional neural network with ReLUs reaches a
25% training error rate on CIFAR-10 six times faster than an equivalent network with
tanh neurons"; "the learning rates for each network were chosen independently to make
training as fast as possible. No regularization of any kind was employed", and "the
magnitude of the effect ... varies with network architecture". The network here is ours,
in the style of the CIFAR-10 networks of that time (cuda-convnet's): three 5x5
convolutions with 3x3 stride-2 max-pooling, then a softmax layer. The paper does not
give its layers.

Protocol: inputs 32x32 (any data set the pipeline reads, resized; CIFAR-10 through
--tfds_name=cifar10), mean pixel subtracted; SGD with momentum 0.9, batch 128; no
dropout, weight decay or augmentation. Training error is each epoch's running error (as
the paper's curves). For each activation, every rate of a log-spaced sweep is trained
with every seed; the rate chosen is the one with the fewest epochs to the target, mean
over seeds (ties: the larger rate). A run that never reaches the target counts as the
budget's epochs, and is marked as a lower bound. Speed-up: per seed, tanh's epochs over
ReLU's at their chosen rates; its mean and sample standard deviation over seeds.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import time

from alexnet_tf.files import atomic_write_json, atomic_write_text, save_figure

ACTIVATIONS = ("relu", "tanh")
# Initialisations: "standard" keeps each activation's units at unit variance (He-normal
# for ReLU, Glorot-normal for tanh); "glorot" uses Glorot-normal for both; "normal" is
# N(0, 0.01) for both, as the CIFAR-10 nets of the time (cuda-convnet's) were started.
INITS = ("standard", "glorot", "normal")
FIGURE_FILE = "figure1.png"
RESULT_FILE = "figure1.json"
TABLE_FILE = "figure1.md"


@dataclasses.dataclass(frozen=True)
class Study:
    """One Figure 1 study: the data, the sweep and the budget."""

    data_dir: str | None
    out: str
    tfds_name: str | None = None
    seeds: int = 2
    rates: tuple = (0.001, 0.003, 0.01, 0.03, 0.1)
    epochs: int = 30
    target_train_error: float = 0.25
    batch_size: int = 128
    image_size: int = 32
    max_images: int = 0  # 0: the whole train split
    init: str = "standard"  # see INITS

    def problem(self) -> str | None:
        if self.seeds < 1:
            return f"--seeds must be >= 1. Received: {self.seeds}"
        if not self.rates or any(not (0 < r < 10) for r in self.rates):
            return f"--rates must be learning rates in (0, 10). Received: {self.rates}"
        if self.epochs < 1:
            return f"--epochs must be >= 1. Received: {self.epochs}"
        if not 0 < self.target_train_error < 1:
            return f"--target_train_error must be in (0, 1). Received: {self.target_train_error}"
        if self.batch_size < 1 or self.image_size < 8 or self.max_images < 0:
            return (
                "--batch_size must be >= 1, --image_size >= 8 and --max_images >= 0. "
                f"Received: {self.batch_size}, {self.image_size}, {self.max_images}"
            )
        if self.init not in INITS:
            return f"--init must be one of {', '.join(INITS)}. Received: {self.init}"
        if not self.data_dir and not self.tfds_name:
            return "give --data_dir (TFRecords) or --tfds_name (e.g. cifar10)."
        return None


def four_layer_convnet(
    activation: str, num_classes: int, mean_rgb, image_size: int = 32, init: str = "standard"
):
    """Three 5x5 convolutions (32, 32, 64 kernels) each with 3x3 stride-2 max-pooling,
    then a softmax layer (logits out); the convolutions initialised as `init` says."""
    import keras

    if init == "normal":
        init = keras.initializers.RandomNormal(stddev=0.01)
    elif init == "glorot" or activation != "relu":
        init = "glorot_normal"
    else:
        init = "he_normal"
    inputs = keras.Input((image_size, image_size, 3), dtype="uint8", name="image")
    # The mean pixel subtracted (section 2); divided by 64, about the pixels' std, so the
    # inits see inputs of about unit variance.
    x = keras.layers.Rescaling(1.0 / 64.0, offset=[-m / 64.0 for m in mean_rgb])(inputs)
    for filters in (32, 32, 64):
        x = keras.layers.Conv2D(
            filters, 5, padding="same", activation=activation, kernel_initializer=init
        )(x)
        x = keras.layers.MaxPooling2D(3, 2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer="glorot_normal")(x)
    return keras.Model(inputs, logits, name=f"four_layer_{activation}")


def epochs_to_target(errors, target):
    """(first epoch, 1-based, whose training error is <= target, reached?); not reached:
    (the budget's epochs, False), a lower bound."""
    for epoch, error in enumerate(errors, 1):
        if error <= target:
            return epoch, True
    return len(errors), False


def train_one(images, labels, num_classes, activation, rate, seed, study: Study):
    """One run: the running training top-1 error after each epoch."""
    import keras

    from alexnet_tf.model.metrics import TopKError

    keras.utils.set_random_seed(seed)
    mean = [float(m) for m in images.reshape(-1, 3).mean(0)]
    model = four_layer_convnet(activation, num_classes, mean, study.image_size, study.init)
    model.compile(
        optimizer=keras.optimizers.SGD(rate, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[TopKError(1, name="top1_error")],
    )
    history = model.fit(
        images, labels, batch_size=study.batch_size, epochs=study.epochs, shuffle=True, verbose=0
    )
    errors = [float(e) for e in history.history["top1_error"]]
    del model
    keras.backend.clear_session()
    # A diverged run (NaN loss) has no defined error: it never reaches the target.
    return [e if math.isfinite(e) else 1.0 for e in errors]


def choose_rate(by_rate: dict) -> float:
    """The rate with the fewest mean epochs to the target; ties: the larger rate."""
    return min(by_rate, key=lambda r: (statistics.mean(by_rate[r]["epochs"]), -r))


def summarize(runs: dict, study: Study) -> dict:
    """runs[activation][rate] = [errors per epoch, one list per seed] -> the result."""
    target = study.target_train_error
    result = {
        "target_train_error": target,
        "init": study.init,
        "epochs_budget": study.epochs,
        "seeds": study.seeds,
        "rates": list(study.rates),
        "activations": {},
    }
    for activation, by_rate in runs.items():
        table = {}
        for rate, histories in by_rate.items():
            reached = [epochs_to_target(h, target) for h in histories]
            table[rate] = {
                "epochs": [e for e, _ in reached],
                "lower_bound": [not ok for _, ok in reached],
                "histories": histories,
            }
        chosen = choose_rate(table)
        result["activations"][activation] = {
            "chosen_learning_rate": chosen,
            "epochs_to_target": table[chosen]["epochs"],
            "lower_bound": table[chosen]["lower_bound"],
            "by_rate": {str(r): v for r, v in table.items()},
        }
    relu, tanh = (result["activations"].get(a) for a in ACTIVATIONS)
    if relu and tanh:
        ratios = [
            t / r for t, r in zip(tanh["epochs_to_target"], relu["epochs_to_target"], strict=True)
        ]
        result["speedup_per_seed"] = ratios
        result["speedup_mean"] = statistics.mean(ratios)
        result["speedup_std"] = statistics.stdev(ratios) if len(ratios) > 1 else None
        # tanh never reaching the target makes the ratio a lower bound; ReLU never
        # reaching it, an upper bound.
        result["speedup_is_lower_bound"] = any(tanh["lower_bound"]) and not any(relu["lower_bound"])
        result["speedup_is_upper_bound"] = any(relu["lower_bound"])
    return result


def markdown(result: dict, command: str, seconds: float) -> str:
    target = result["target_train_error"]
    lines = [
        "# Figure 1: ReLU vs tanh, each at its fastest learning rate",
        "",
        f"Made by: `{command}` ({seconds / 60:.1f} min).",
        "",
        f"Epochs to a running training error <= {target:g} (budget {result['epochs_budget']} "
        "epochs; '>' marks a run that never reached it), per seed, for every rate:",
        "",
        "| activation | learning rate | epochs per seed | mean | chosen |",
        "|---|---|---|---|---|",
    ]
    for activation, info in result["activations"].items():
        for rate, row in info["by_rate"].items():
            cells = ", ".join(
                (">" if low else "") + str(e)
                for e, low in zip(row["epochs"], row["lower_bound"], strict=True)
            )
            chosen = "yes" if float(rate) == info["chosen_learning_rate"] else ""
            mean = statistics.mean(row["epochs"])
            lines.append(f"| {activation} | {rate} | {cells} | {mean:.1f} | {chosen} |")
    if "speedup_mean" in result:
        std = result["speedup_std"]
        bound = (
            " (a lower bound: tanh did not reach the target)"
            if result["speedup_is_lower_bound"]
            else " (an upper bound: ReLU did not reach the target)"
            if result["speedup_is_upper_bound"]
            else ""
        )
        lines += [
            "",
            f"Speed-up, tanh's epochs / ReLU's at their chosen rates: "
            f"{result['speedup_mean']:.2f}"
            + (f" ± {std:.2f} (sample std over seeds)" if std is not None else " (one seed)")
            + bound
            + "; the paper reports 6 on CIFAR-10.",
        ]
    return "\n".join(lines) + "\n\n![Figure 1](figure1.png)\n"


def plot(result: dict, out_png: str) -> str:
    """Training error per epoch, ReLU solid and tanh dashed, each at its chosen rate,
    one line per seed; the target dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    styles = {"relu": ("-", "tab:blue", "ReLU"), "tanh": ("--", "tab:red", "tanh")}
    for activation, info in result["activations"].items():
        style, colour, name = styles[activation]
        rate = info["chosen_learning_rate"]
        for i, errors in enumerate(info["by_rate"][str(rate)]["histories"]):
            ax.plot(
                range(1, len(errors) + 1),
                errors,
                style,
                color=colour,
                label=f"{name} (learning rate {rate:g})" if i == 0 else None,
            )
    ax.axhline(result["target_train_error"], color="gray", linestyle=":", linewidth=1)
    ax.set(xlabel="epochs", ylabel="training error rate", ylim=(0, 1))
    ax.set_title("Figure 1: a four-layer convnet, ReLU (solid) vs tanh (dashed)")
    ax.legend()
    return save_figure(fig, out_png)


def run(study: Study, command: str, say=print) -> dict:
    """Train every (activation, rate, seed), then write figure1.json, figure1.md and
    figure1.png in study.out; returns the result."""
    from alexnet_tf import data

    images, labels = data.small_images(
        study.data_dir, study.image_size, "train", tfds_name=study.tfds_name,
        limit=study.max_images,
    )  # fmt: skip
    num_classes = int(labels.max()) + 1
    say(f"figure1: {len(images)} training images, {num_classes} classes, {study.image_size}px")
    os.makedirs(study.out, exist_ok=True)
    start = time.monotonic()
    runs = {a: {r: [] for r in study.rates} for a in ACTIVATIONS}
    total = len(ACTIVATIONS) * len(study.rates) * study.seeds
    done = 0
    for activation in ACTIVATIONS:
        for rate in study.rates:
            for seed in range(study.seeds):
                errors = train_one(images, labels, num_classes, activation, rate, seed, study)
                runs[activation][rate].append(errors)
                done += 1
                reached, ok = epochs_to_target(errors, study.target_train_error)
                say(
                    f"[{done}/{total}] {activation} lr={rate:g} seed={seed}: "
                    f"final training error {errors[-1]:.3f}, "
                    f"{'' if ok else '>'}{reached} epochs to {study.target_train_error:g}"
                )
    seconds = time.monotonic() - start
    result = summarize(runs, study)
    result.update(
        command=command,
        train_seconds=round(seconds, 1),
        num_images=int(len(images)),
        num_classes=num_classes,
    )
    atomic_write_json(os.path.join(study.out, RESULT_FILE), result)
    atomic_write_text(os.path.join(study.out, TABLE_FILE), markdown(result, command, seconds))
    plot(result, os.path.join(study.out, FIGURE_FILE))
    return result
