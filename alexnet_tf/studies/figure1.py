"""The paper's Figure 1 as the paper ran it (section 3.1): a four-layer convolutional
network trained with ReLUs and with tanh units, no regularisation of any kind, each
activation at the learning rate that trains it fastest; how many epochs each needs to
reach a training error, and the ratio.

    python tools/run_ablations.py --study=figure1 --data_dir=data/demo --out=runs/figure1

The paper: on CIFAR-10, "a four-layer convolutional neural network with ReLUs reaches a
25% training error rate on CIFAR-10 six times faster than an equivalent network with
tanh neurons"; "the learning rates for each network were chosen independently to make
training as fast as possible. No regularization of any kind was employed", and "the
magnitude of the effect ... varies with network architecture". The paper does not give
the network's layers.

Two networks (`--network`), both three 5x5 convolutions of 32, 32 and 64 kernels (padding
2), each followed by 3x3 stride-2 pooling (32 -> 16 -> 8 -> 4), then a softmax layer;
89,578 parameters at 10 classes:

- `cuda_convnet` (the default): our reconstruction of cuda-convnet's 18pct example, the
  four-layer CIFAR-10 network of the code base the paper's networks were trained with
  (its `layers-18pct.cfg` and `layer-params-18pct.cfg`). Every fact from those files:
  conv1 weights N(0, 0.0001^2), then **max**-pooling, then the activation (cuda-convnet
  applies it to pool1's output: the same as before the pool for a monotone activation);
  conv2 and conv3 weights N(0, 0.01^2), each with the activation, then **average**
  pooling; fc10 weights N(0, 0.01^2); every bias 0. Inputs: the training set's mean image
  subtracted from the raw 0-255 pixels, nothing divided. The weights' rate applies to
  the batch's mean gradient, the biases' is twice it; momentum 0.9, batch 128. The files'
  weight decay is off (the paper: no regularization), and their two within-map response
  normalisations (`rnorm`, 3x3, scale 5e-5, power 0.75, after pool1 and after conv2) are
  an option, off by default (`--rnorm`).
- `modern`: the same widths with today's habits: max-pooling after every layer, He-normal
  (ReLU) or Glorot-normal (tanh) kernels (`--init`), inputs scaled to unit variance (the
  mean pixel subtracted, divided by 64), one rate for weights and biases.

Protocol: inputs 32x32 (any data set the pipeline reads, resized; CIFAR-10 through
--tfds_name=cifar10); SGD with momentum 0.9, batch 128; no dropout, weight decay or
augmentation. Training error is each epoch's running error (as the paper's curves). For
each activation, every rate of a log-spaced sweep is trained with every seed; the rate
chosen is the one with the fewest epochs to the target, mean over seeds (ties: the larger
rate). When that rate is at an end of the sweep, the sweep is extended by one rate in that
direction, trained, and chosen again, up to `MAX_EXTENSIONS` times each way. A run that
never reaches the target counts as the budget's epochs, and is marked as a lower bound.
Speed-up: per seed, tanh's epochs over ReLU's at their chosen rates; its mean and sample
standard deviation over seeds; read off the same runs at the lower targets too.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import time

from alexnet_tf.core.files import atomic_write_json, atomic_write_text, save_figure

ACTIVATIONS = ("relu", "tanh")
NETWORKS = ("cuda_convnet", "modern")
# The modern network's initialisations: "standard" keeps each activation's units at unit
# variance (He-normal for ReLU, Glorot-normal for tanh); "glorot" uses Glorot-normal for
# both; "normal" is N(0, 0.01) for both.
INITS = ("standard", "glorot", "normal")
# Each network's default sweep. cuda_convnet's inputs are on the raw 0-255 scale, so its
# rates span lower: 1e-4 to 0.1, log-spaced (cuda-convnet's example used 0.001).
DEFAULT_RATES = {
    "cuda_convnet": (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1),
    "modern": (0.001, 0.003, 0.01, 0.03, 0.1),
}
MAX_EXTENSIONS = 2  # rates added at each end of a sweep whose best rate sits there
EXTRA_TARGETS = (0.20, 0.15)  # read off the same runs, beside the main target
# cuda-convnet's 18pct example (layer-params-18pct.cfg): each layer's weight std.
CUDA_CONVNET_INIT_STD = {"conv1": 1e-4, "conv2": 0.01, "conv3": 0.01, "fc10": 0.01}
BIAS_RATE_FACTOR = 2.0  # epsB = 2 x epsW there
RNORM = dict(size=3, scale=5e-5, power=0.75)
FIGURE_FILE = "figure1.png"
RESULT_FILE = "figure1.json"
TABLE_FILE = "figure1.md"
WIDTHS = (32, 32, 64)


@dataclasses.dataclass(frozen=True)
class Study:
    """One Figure 1 study: the data, the network, the sweep and the budget."""

    data_dir: str | None
    out: str
    tfds_name: str | None = None
    network: str = "cuda_convnet"  # see NETWORKS
    seeds: int = 2
    rates: tuple = ()  # (): the network's DEFAULT_RATES
    epochs: int = 40
    target_train_error: float = 0.25
    batch_size: int = 128
    image_size: int = 32
    max_images: int = 0  # 0: the whole train split
    init: str | None = None  # modern only (see INITS); None: "standard"
    rnorm: bool = False  # cuda_convnet only: its two rnorm layers

    @property
    def sweep(self) -> tuple:
        return tuple(self.rates) or DEFAULT_RATES.get(self.network, ())

    @property
    def initialisation(self) -> str:
        if self.network == "cuda_convnet":
            return "cuda-convnet 18pct: N(0, s^2) with s = 1e-4, 0.01, 0.01, 0.01; biases 0"
        return self.init or "standard"

    @property
    def input_scaling(self) -> str:
        if self.network == "cuda_convnet":
            return "raw 0-255 pixels minus the training set's mean image"
        return "(pixels - mean pixel) / 64"

    def problem(self) -> str | None:
        if self.network not in NETWORKS:
            return f"--network must be one of {', '.join(NETWORKS)}. Received: {self.network}"
        if self.network == "cuda_convnet" and self.init is not None:
            return (
                f"--init applies to --network=modern only; cuda_convnet starts from its own "
                f"per-layer N(0, s^2) (conv1 s=1e-4, the others 0.01). Received: --init={self.init}"
            )
        if self.network == "modern" and self.rnorm:
            return "--rnorm applies to --network=cuda_convnet only (its rnorm layers)."
        if self.seeds < 1:
            return f"--seeds must be >= 1. Received: {self.seeds}"
        if any(not (0 < r < 10) for r in self.sweep):
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
        if self.init is not None and self.init not in INITS:
            return f"--init must be one of {', '.join(INITS)}. Received: {self.init}"
        if not self.data_dir and not self.tfds_name:
            return "give --data_dir (TFRecords) or --tfds_name (e.g. cifar10)."
        return None


def four_layer_convnet(
    activation: str, num_classes: int, mean_rgb, image_size: int = 32, init: str = "standard"
):
    """The modern network: three 5x5 convolutions (32, 32, 64 kernels) each with its
    activation and 3x3 stride-2 max-pooling, then a softmax layer (logits out); the
    convolutions initialised as `init` says, on inputs of about unit variance."""
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
    for filters in WIDTHS:
        x = keras.layers.Conv2D(
            filters, 5, padding="same", activation=activation, kernel_initializer=init
        )(x)
        x = keras.layers.MaxPooling2D(3, 2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer="glorot_normal")(x)
    return keras.Model(inputs, logits, name=f"four_layer_{activation}")


def cuda_convnet_18pct(
    activation: str, num_classes: int, mean_image, image_size: int = 32, rnorm: bool = False
):
    """cuda-convnet's 18pct example (module docstring): conv1 -> max-pool -> activation
    [-> rnorm1] -> conv2 + activation [-> rnorm2] -> average-pool -> conv3 + activation ->
    average-pool -> fc10 (logits). Inputs: raw pixels minus `mean_image` (S, S, 3)."""
    import keras

    from alexnet_tf.studies.layers import SubtractMeanImage, WithinMapNorm

    def normal(layer):
        return keras.initializers.RandomNormal(stddev=CUDA_CONVNET_INIT_STD[layer])

    def conv(layer, filters, act=None):
        return keras.layers.Conv2D(
            filters, 5, padding="same", activation=act, kernel_initializer=normal(layer),
            bias_initializer="zeros", name=layer,
        )  # fmt: skip

    inputs = keras.Input((image_size, image_size, 3), dtype="uint8", name="image")
    x = SubtractMeanImage(mean_image, name="mean_image")(inputs)  # (B, 32, 32, 3), 0-255
    x = conv("conv1", WIDTHS[0])(x)  # (B, 32, 32, 32)
    x = keras.layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)  # (B, 16, 16, 32)
    x = keras.layers.Activation(activation, name="pool1_" + activation)(x)
    if rnorm:
        x = WithinMapNorm(**RNORM, name="rnorm1")(x)
    x = conv("conv2", WIDTHS[1], activation)(x)  # (B, 16, 16, 32)
    if rnorm:
        x = WithinMapNorm(**RNORM, name="rnorm2")(x)
    x = keras.layers.AveragePooling2D(3, 2, padding="same", name="pool2")(x)  # (B, 8, 8, 32)
    x = conv("conv3", WIDTHS[2], activation)(x)  # (B, 8, 8, 64)
    x = keras.layers.AveragePooling2D(3, 2, padding="same", name="pool3")(x)  # (B, 4, 4, 64)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=normal("fc10"), bias_initializer="zeros", name="fc10"
    )(x)
    return keras.Model(inputs, logits, name=f"cuda_convnet_18pct_{activation}")


def study_network(study: Study, activation: str, num_classes: int, images):
    """The study's network for `activation`, with the input statistics of `images`."""
    if study.network == "cuda_convnet":
        mean_image = images.astype("float64").mean(0).astype("float32")
        return cuda_convnet_18pct(
            activation, num_classes, mean_image, study.image_size, study.rnorm
        )
    mean = [float(m) for m in images.reshape(-1, 3).mean(0)]
    return four_layer_convnet(
        activation, num_classes, mean, study.image_size, study.init or "standard"
    )


def study_optimizer(study: Study, rate: float):
    """SGD with momentum 0.9; cuda_convnet's biases at twice the weights' rate."""
    import keras

    if study.network != "cuda_convnet":
        return keras.optimizers.SGD(rate, momentum=0.9)
    from alexnet_tf.studies.layers import BiasRateSGD

    return BiasRateSGD(rate, momentum=0.9, bias_factor=BIAS_RATE_FACTOR)


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
    model = study_network(study, activation, num_classes, images)
    model.compile(
        optimizer=study_optimizer(study, rate),
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


def _rate_table(by_rate: dict, target: float) -> dict:
    table = {}
    for rate, histories in by_rate.items():
        reached = [epochs_to_target(h, target) for h in histories]
        table[rate] = {
            "epochs": [e for e, _ in reached],
            "lower_bound": [not ok for _, ok in reached],
            "histories": histories,
        }
    return table


def speedup(runs: dict, target: float) -> dict:
    """tanh's epochs over ReLU's to `target`, per seed, each at its fastest rate for that
    target: {"relu_rate", "tanh_rate", "per_seed", "mean", "std", bounds}."""
    chosen = {}
    for activation in ACTIVATIONS:
        table = _rate_table(runs[activation], target)
        rate = choose_rate(table)
        chosen[activation] = (rate, table[rate])
    (relu_rate, relu), (tanh_rate, tanh) = chosen["relu"], chosen["tanh"]
    ratios = [t / r for t, r in zip(tanh["epochs"], relu["epochs"], strict=True)]
    return {
        "target_train_error": target,
        "relu_rate": relu_rate,
        "tanh_rate": tanh_rate,
        "relu_epochs": relu["epochs"],
        "tanh_epochs": tanh["epochs"],
        "per_seed": ratios,
        "mean": statistics.mean(ratios),
        "std": statistics.stdev(ratios) if len(ratios) > 1 else None,
        # tanh never reaching the target makes the ratio a lower bound; ReLU never
        # reaching it, an upper bound.
        "is_lower_bound": any(tanh["lower_bound"]) and not any(relu["lower_bound"]),
        "is_upper_bound": any(relu["lower_bound"]),
    }


def summarize(runs: dict, study: Study, extended=None, steps_per_epoch=0, images=0) -> dict:
    """runs[activation][rate] = [errors per epoch, one list per seed] -> the result.
    `extended`: {activation: [rates added to the sweep]}."""
    target = study.target_train_error
    result = {
        "target_train_error": target,
        "network": study.network,
        "init": study.initialisation,
        "input_scaling": study.input_scaling,
        "rnorm": study.rnorm,
        "epochs_budget": study.epochs,
        "seeds": study.seeds,
        "rates": list(study.sweep),
        "extended_rates": {a: list((extended or {}).get(a, [])) for a in runs},
        "steps_per_epoch": steps_per_epoch,
        "activations": {},
    }
    for activation, by_rate in runs.items():
        table = _rate_table(by_rate, target)
        chosen = choose_rate(table)
        epochs = table[chosen]["epochs"]
        result["activations"][activation] = {
            "chosen_learning_rate": chosen,
            "epochs_to_target": epochs,
            "steps_to_target": [e * steps_per_epoch for e in epochs],
            "images_to_target": [e * images for e in epochs],
            "lower_bound": table[chosen]["lower_bound"],
            "by_rate": {str(r): v for r, v in sorted(table.items())},
        }
    if set(ACTIVATIONS) <= set(runs):
        main = speedup(runs, target)
        result["speedup_per_seed"] = main["per_seed"]
        result["speedup_mean"] = main["mean"]
        result["speedup_std"] = main["std"]
        result["speedup_is_lower_bound"] = main["is_lower_bound"]
        result["speedup_is_upper_bound"] = main["is_upper_bound"]
        result["speedup_at"] = {
            f"{t:g}": speedup(runs, t) for t in (target, *EXTRA_TARGETS) if t != target
        }
    return result


def _bound(row: dict) -> str:
    if row["is_lower_bound"]:
        return " (a lower bound: tanh did not reach the target)"
    if row["is_upper_bound"]:
        return " (an upper bound: ReLU did not reach the target)"
    return ""


def markdown(result: dict, command: str, seconds: float) -> str:
    target = result["target_train_error"]
    lines = [
        f"# Figure 1: ReLU vs tanh, each at its fastest learning rate ({result['network']})",
        "",
        f"Made by: `{command}` ({seconds / 60:.1f} min). Network: {result['network']}; "
        f"initialisation: {result['init']}; inputs: {result['input_scaling']}; "
        f"{result['steps_per_epoch']} steps an epoch.",
        "",
        f"Epochs to a running training error <= {target:g} (budget {result['epochs_budget']} "
        "epochs; '>' marks a run that never reached it), per seed, for every rate "
        "('added' marks a rate the sweep was extended by, its best rate being at an end):",
        "",
        "| activation | learning rate | epochs per seed | mean | chosen |",
        "|---|---|---|---|---|",
    ]
    for activation, info in result["activations"].items():
        added = {float(r) for r in result["extended_rates"].get(activation, [])}
        for rate, row in info["by_rate"].items():
            cells = ", ".join(
                (">" if low else "") + str(e)
                for e, low in zip(row["epochs"], row["lower_bound"], strict=True)
            )
            chosen = "yes" if float(rate) == info["chosen_learning_rate"] else ""
            mean = statistics.mean(row["epochs"])
            shown = f"{rate} (added)" if float(rate) in added else rate
            lines.append(f"| {activation} | {shown} | {cells} | {mean:.1f} | {chosen} |")
    if "speedup_mean" in result:
        std = result["speedup_std"]
        main = {
            "is_lower_bound": result["speedup_is_lower_bound"],
            "is_upper_bound": result["speedup_is_upper_bound"],
        }
        lines += [
            "",
            f"Speed-up, tanh's epochs / ReLU's at their chosen rates: "
            f"{result['speedup_mean']:.2f}"
            + (f" ± {std:.2f} (sample std over seeds)" if std is not None else " (one seed)")
            + _bound(main)
            + "; the paper reports 6 at 25% on CIFAR-10.",
            "",
            "The same runs at lower targets, each activation at its fastest rate for it:",
            "",
            "| target | ReLU rate, epochs | tanh rate, epochs | speed-up |",
            "|---|---|---|---|",
        ]
        for key, row in result["speedup_at"].items():
            spread = f" ± {row['std']:.2f}" if row["std"] is not None else ""
            lines.append(
                f"| {key} | {row['relu_rate']:g}: {row['relu_epochs']} | "
                f"{row['tanh_rate']:g}: {row['tanh_epochs']} | "
                f"{row['mean']:.2f}{spread}{_bound(row)} |"
            )
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
    network = {"cuda_convnet": "cuda-convnet's 18pct net", "modern": "the modern net"}
    ax.set_title(
        f"Figure 1, {network.get(result.get('network'), 'a four-layer convnet')}: "
        "ReLU (solid) vs tanh (dashed)"
    )
    ax.legend()
    return save_figure(fig, out_png)


def _extensions(by_rate: dict, target: float, sweep: tuple, added: list) -> float | None:
    """The next rate to try for one activation: one step past an end of the sweep when
    its best rate sits at that end (at most MAX_EXTENSIONS a side), else None. A best rate
    none of whose runs reached the target says nothing of where the best lies: None."""
    table = _rate_table(by_rate, target)
    chosen = choose_rate(table)
    if all(table[chosen]["lower_bound"]):
        return None
    rates = sorted(by_rate)
    step = sweep[-1] / sweep[-2] if len(sweep) > 1 else 10**0.5
    if chosen == rates[-1] and sum(r > max(sweep) for r in added) < MAX_EXTENSIONS:
        return float(f"{chosen * step:.3g}")
    if chosen == rates[0] and sum(r < min(sweep) for r in added) < MAX_EXTENSIONS:
        return float(f"{chosen / step:.3g}")
    return None


def run(study: Study, command: str, say=print) -> dict:
    """Train every (activation, rate, seed), extending the sweep where an activation's
    best rate is at its end, then write figure1.json, figure1.md and figure1.png in
    study.out; returns the result."""
    from alexnet_tf import data

    images, labels = data.small_images(
        study.data_dir, study.image_size, "train", tfds_name=study.tfds_name,
        limit=study.max_images,
    )  # fmt: skip
    num_classes = int(labels.max()) + 1
    steps_per_epoch = -(-len(images) // study.batch_size)
    say(
        f"figure1 ({study.network}): {len(images)} training images, {num_classes} classes, "
        f"{study.image_size}px, {steps_per_epoch} steps an epoch"
    )
    os.makedirs(study.out, exist_ok=True)
    start = time.monotonic()
    runs = {a: {} for a in ACTIVATIONS}
    extended = {a: [] for a in ACTIVATIONS}

    def train_rate(activation, rate):
        runs[activation][rate] = []
        for seed in range(study.seeds):
            errors = train_one(images, labels, num_classes, activation, rate, seed, study)
            runs[activation][rate].append(errors)
            reached, ok = epochs_to_target(errors, study.target_train_error)
            say(
                f"{activation} lr={rate:g} seed={seed}: final training error "
                f"{errors[-1]:.3f}, {'' if ok else '>'}{reached} epochs to "
                f"{study.target_train_error:g}"
            )

    for activation in ACTIVATIONS:
        for rate in study.sweep:
            train_rate(activation, rate)
        while True:
            rate = _extensions(
                runs[activation], study.target_train_error, study.sweep, extended[activation]
            )
            if rate is None:
                break
            say(f"{activation}: the best rate is at the sweep's end; adding {rate:.3g}")
            extended[activation].append(rate)
            train_rate(activation, rate)
    seconds = time.monotonic() - start
    result = summarize(runs, study, extended, steps_per_epoch, len(images))
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
