"""The network's options, declared once, with no TensorFlow (flags are checked fast).

From this one table come the training flags (`--architecture`, `--nolrn`, ...), their
checks, the `AlexNet` constructor's keyword arguments and what `get_config()` saves.
Adding an option is one `option(...)` line below plus its use in `network.py`. The
training run's settings (`training.config.TrainConfig`) are declared the same way, with
`option` and `problem` from here.

Structural options fix the features the network computes: a run directory refuses to
continue with other values, and `train --init_from` takes them from the source model.
"""

from __future__ import annotations

import dataclasses
import math

ARCHITECTURES = ("two_tower", "one_tower", "one_tower_half")
ACTIVATIONS = ("relu", "tanh")
INITS = ("paper", "caffe", "he")


@dataclasses.dataclass(frozen=True)
class Option:
    """How one option is offered and checked."""

    help: str
    choices: tuple = ()  # for text options
    valid: tuple | None = None  # for numbers: (what is accepted, in words; a test)
    structural: bool = False


def option(default, help: str, **how):
    return dataclasses.field(default=default, metadata={"option": Option(help, **how)})


_WIDTH = dict(valid=(">= 1", lambda v: v >= 1), structural=True)


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """The paper's network by default; each option is one of its ablations or variants."""

    architecture: str = option(
        "two_tower",
        "two_tower (the paper) | one_tower (every conv sees all channels, all kernels) | "
        "one_tower_half (section 3.2's one-GPU net: half the kernels in conv1-4).",
        choices=ARCHITECTURES,
        structural=True,
    )
    activation: str = option(
        "relu", "relu (the paper) | tanh (Figure 1's comparison).", choices=ACTIVATIONS,
        structural=True,
    )  # fmt: skip
    lrn: bool = option(
        True, "Local response normalization after conv1 and conv2 (section 3.3).",
        structural=True,
    )  # fmt: skip
    overlapping_pool: bool = option(
        True, "3x3 stride-2 max-pooling (section 3.4); off: 2x2 stride 2.", structural=True
    )
    dropout: float = option(
        0.5, "Dropout rate on fc6 and fc7 (section 4.2).", valid=("in [0, 1)", lambda v: 0 <= v < 1)
    )
    image_size: int = option(
        224,
        "Input height and width: 224 (the paper) or 227 (Caffe's bvlc_alexnet).",
        choices=(224, 227),
        structural=True,
    )
    conv1_pad: int = option(
        2,
        "Zero padding of conv1's input on each side: 2 makes the paper's 224 give 55x55 "
        "(Figure 2); bvlc_alexnet pads nothing.",
        valid=("in [0, 5]", lambda v: v == int(v) and 0 <= v <= 5),
        structural=True,
    )
    ceil_pool: bool = option(
        False,
        "Round pooling output sizes up, as Caffe does (224 without padding then still "
        "gives 27x27 after pool1).",
        structural=True,
    )
    lrn_bias: float = option(
        2.0, "LRN's k (section 3.3: 2; Caffe: 1).", valid=("> 0", lambda v: v > 0),
        structural=True,
    )  # fmt: skip
    lrn_alpha: float = option(
        1e-4,
        "LRN's alpha, multiplying the windowed sum itself as in the paper (Caffe's alpha is "
        "divided by the window size 5: its 1e-4 is 2e-5 here).",
        valid=(">= 0", lambda v: v >= 0),
        structural=True,
    )
    lrn_across_towers: bool = option(
        False,
        "LRN windows cross from one tower's channels into the other's (bvlc_alexnet: its "
        "conv1 is one group); the paper normalizes within each tower.",
        structural=True,
    )
    # Widths per tower, as Figure 2 draws them; the one-tower variants derive theirs from
    # these (section 3.2). Smaller widths make a small model of the same wiring (tests).
    conv1_filters: int = option(48, "Kernels per tower in conv1 (Figure 2: 48).", **_WIDTH)
    conv2_filters: int = option(128, "Kernels per tower in conv2 (Figure 2: 128).", **_WIDTH)
    conv3_filters: int = option(192, "Kernels per tower in conv3 (Figure 2: 192).", **_WIDTH)
    conv4_filters: int = option(192, "Kernels per tower in conv4 (Figure 2: 192).", **_WIDTH)
    conv5_filters: int = option(128, "Kernels per tower in conv5 (Figure 2: 128).", **_WIDTH)
    fc_units: int = option(2048, "Units per tower in fc6 and fc7 (Figure 2: 2048).", **_WIDTH)
    init: str = option(
        "paper",
        "paper: N(0, 0.01), biases 1 in conv2/4/5 and fc6/7 (section 5) | caffe: those "
        "biases 0.1 | he: He-normal, zero biases (pair with --normalize_std).",
        choices=INITS,
    )

    def problem(self, prefix: str = "") -> str | None:
        """The first value that cannot work, as a message naming it (with `prefix`, e.g.
        "--" for flags), or None."""
        return problem(self, prefix)

    def check(self) -> ModelOptions:
        """Raise ValueError naming the first bad value; returns self."""
        message = self.problem()
        if message:
            raise ValueError(message)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def problem(settings, prefix: str = "") -> str | None:
    """The first field of the dataclass `settings` whose value its `option` declaration
    refuses, as a message naming it (with `prefix`, e.g. "--" for flags), or None. Text
    without choices and lists are not checked here."""
    for f in dataclasses.fields(settings):
        spec: Option | None = f.metadata.get("option")
        if spec is None:
            continue
        value = getattr(settings, f.name)
        name = prefix + f.name
        shown = value if prefix else repr(value)
        if isinstance(f.default, bool):
            if not isinstance(value, bool):
                return f"{name} must be True or False. Received: {name}={shown}"
            continue
        if spec.choices:
            if value not in spec.choices or type(value) is not type(f.default):
                return (
                    f"{name} must be one of {', '.join(map(str, spec.choices))}. "
                    f"Received: {name}={shown}"
                )
            continue
        if spec.valid is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return f"{name} must be a number. Received: {name}={shown}"
        if type(f.default) is int and not isinstance(value, int):
            return f"{name} must be an integer. Received: {name}={shown}"
        words, test = spec.valid
        if not math.isfinite(value) or not test(value):
            return f"{name} must be {words}. Received: {name}={shown}"
    return None


FIELDS = tuple(dataclasses.fields(ModelOptions))
NAMES = tuple(f.name for f in FIELDS)
STRUCTURAL = tuple(f.name for f in FIELDS if f.metadata["option"].structural)


def spec(name: str) -> Option:
    return next(f.metadata["option"] for f in FIELDS if f.name == name)


def split_options(kwargs: dict) -> tuple[ModelOptions, dict]:
    """(the ModelOptions named in `kwargs`, the rest of `kwargs`)."""
    mine = {k: kwargs[k] for k in NAMES if k in kwargs}
    rest = {k: v for k, v in kwargs.items() if k not in mine}
    return ModelOptions(**mine), rest
