"""The training run's configuration: a frozen dataclass, declared once and validated
without TensorFlow.

Each TrainConfig field carries its help, choices and check (`options.option`, as the
network's options do); from them come the train command's flags (`define_flags`), the
config they give (`from_flags`, or `TrainConfig.from_flagfile` without absl's global
state) and the refusal of a bad value (`validate`, naming the flag and what it accepts)
before anything expensive is imported. The run writes the config next to its
checkpoints (`RunDir.config`), the model's options flattened in.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os

from absl import flags

from alexnet_tf.core import cli, constants
from alexnet_tf.core import options as options_lib
from alexnet_tf.core.keras_file import saved_config
from alexnet_tf.core.options import STRUCTURAL, ModelOptions, option, problem
from alexnet_tf.core.precision import PRECISIONS
from alexnet_tf.core.rundir import read_run_config, source_model_file

STRATEGIES = ("default", "mirrored", "multi_worker_mirrored", "towers")
LR_SCHEDULES = ("plateau", "step", "cosine")
# --train_images: the epochs it gives are kept within these. Fewer than MIN_EPOCHS leaves
# no room for a warm-up and a decay; more than MAX_EPOCHS (the paper's 90 passes over
# ImageNet) repeats a small set past the point where its error still falls.
MIN_EPOCHS, MAX_EPOCHS = 3, 90
# Fields that define the network: a model_dir holding a run with other values is refused.
MODEL_FIELDS = ("num_classes", *STRUCTURAL)
# Layers --freeze can hold fixed (both towers'); fc8 is always trained.
FREEZABLE = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")


class ConfigError(ValueError):
    """A flag value that cannot work; the message names the flag and what it accepts."""


_AT_LEAST_1 = (">= 1", lambda v: v >= 1)
_NON_NEGATIVE = (">= 0", lambda v: v >= 0)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run, declared once: each field's help, choices and
    check give its `train` flag (`define_flags`) and the refusal of a bad value
    (`validate`), from the command line and from `from_flagfile` alike."""

    data_dir: str = option(
        "",
        "TFRecords (tools/make_tfrecords.py) to train on; with --tfds_name, TFDS's data dir.",
    )
    model_dir: str = option("", "Where checkpoints, logs and history go.")
    tfds_name: str = option(
        "",
        "A TFDS image data set already prepared in --data_dir (e.g. cifar10), read through "
        "the same crops and flips; its DatasetInfo gives the classes and counts, a sample of "
        "its training split the mean pixel. Nothing is downloaded.",
    )
    epochs: int = option(90, "Epochs to train (section 5: about 90).", valid=_AT_LEAST_1)
    train_images: int = option(
        0,
        "Images to see in all (0: use --epochs): the epochs follow from the training set's "
        f"size, at least {MIN_EPOCHS} and at most {MAX_EPOCHS}. Refused together with "
        "--epochs.",
        valid=_NON_NEGATIVE,
    )
    batch_size: int = option(
        constants.PAPER_BATCH, "Global batch, over all replicas.", valid=_AT_LEAST_1
    )
    learning_rate: float = option(
        0.01, "Initial learning rate (for batch 128).", valid=("> 0", lambda v: v > 0)
    )
    momentum: float = option(0.9, "SGD momentum.", valid=("in [0, 1)", lambda v: 0 <= v < 1))
    weight_decay: float = option(
        5e-4,
        "The paper's weight decay (section 5: through the momentum, on kernels).",
        valid=_NON_NEGATIVE,
    )
    lr_schedule: str = option(
        "plateau",
        "plateau: /10 when val top-1 error stops improving (the paper); step: /10 at "
        "--lr_boundaries; cosine: down to --min_learning_rate at the last step (short runs).",
        choices=LR_SCHEDULES,
    )
    lr_boundaries: tuple = option((), "Epochs where 'step' divides the rate by 10.")
    warmup_epochs: float = option(0.0, "Epochs of linear warm-up to --learning_rate (0: none).")
    plateau_patience: int = option(
        3, "Epochs without improvement before 'plateau' divides the rate.", valid=_AT_LEAST_1
    )
    min_learning_rate: float = option(
        1e-5, "Floor of plateau; where cosine ends.", valid=("> 0", lambda v: v > 0)
    )
    steps_per_epoch: int = option(
        0, "Steps per epoch (0: all train examples).", valid=_NON_NEGATIVE
    )
    validation_steps: int = option(
        0, "Validation batches (0: the whole split).", valid=_NON_NEGATIVE
    )
    num_train_examples: int = option(
        0, "Train examples, for data without metadata.json.", valid=_NON_NEGATIVE
    )
    distribution_strategy: str = option(
        "default",
        "default | mirrored | multi_worker_mirrored | towers (the towers on two devices).",
        choices=STRATEGIES,
    )
    tower_devices: str = option("auto", "auto | none | DEV_A,DEV_B")
    cpu_devices: int = option(
        0,
        "Split the CPU into N logical devices (to try two-device placement without GPUs).",
        valid=_NON_NEGATIVE,
    )
    mixed_precision: str = option(
        "auto",
        "auto (bfloat16 where the CPU or GPU computes it in hardware, float16 on V100/T4-class "
        "GPUs, else float32; a resumed run keeps its own) | float32 | mixed_bfloat16 | "
        "mixed_float16",
        choices=PRECISIONS,
    )
    jit_compile: bool = option(False, "Compile the train step with XLA.")
    num_classes: int = option(0, "Classes (0: from metadata.json).", valid=_NON_NEGATIVE)
    model: ModelOptions = ModelOptions()  # the network's options, each a flag of its own
    normalize_std: bool = option(
        False, "Divide inputs by the pixel std (not in the paper; pairs with --init=he)."
    )
    crop: bool = option(True, "Random 224 crops (else the centre one).")
    flip: bool = option(True, "Random horizontal reflections.")
    pca_lighting: bool = option(True, "PCA lighting (section 4.1).")
    pca_std: float = option(0.1, "Std of PCA lighting's alpha (paper: 0.1).", valid=_NON_NEGATIVE)
    shuffle_buffer: int = option(10_000, "Examples in the shuffle buffer.", valid=_AT_LEAST_1)
    private_threads: int = option(
        0, "tf.data private thread pool size (0: shared).", valid=_NON_NEGATIVE
    )
    cache_dataset: bool = option(False, "Keep encoded records in memory (small data).")
    data_service: str = option(
        "", "HOST:PORT of a tf.data service dispatcher: the training input runs there."
    )
    skip_bad_records: bool = option(
        False,
        "Check every record once (alexnet_tf.check_data; kept in MODEL_DIR/data_check.json), "
        "then train without the ones that cannot be used, listing and counting them.",
    )
    prepare_demo_data: bool = option(False, "Make the demo data in --data_dir if absent.")
    init_from: str = option(
        "",
        "Start from this model (a model dir's best.keras, e.g. from import_weights, or a .keras "
        "file): every layer but fc8, which is made anew for the data's classes. The network's "
        "options and the input mean come from it. Only when a run starts; a rerun resumes.",
    )
    freeze: tuple = option(
        (), "With --init_from: layers to keep fixed, e.g. conv1..conv5 or conv1,conv2."
    )
    backup_every_steps: int = option(100, "Steps between backups.", valid=_AT_LEAST_1)
    seed: int = option(
        0, "Random seed (weights, augmentation).", valid=("in [0, 2**32)", lambda v: 0 <= v < 2**32)
    )
    deterministic: bool = option(
        False,
        "Replayable run: every example and random draw a function of --seed, the pass and "
        "the step, TensorFlow's op determinism on; a resume after any kill ends bit for "
        "bit as a run never killed (docs/training.md).",
    )
    verbose: int = option(1, "Keras fit verbosity: 0, 1 (bar), 2 (a line).", choices=(0, 1, 2))

    @classmethod
    def from_flagfile(cls, path: str, **overrides) -> TrainConfig:
        """The run a flagfile describes (`--flagfile=path` on the train command), with
        `overrides` ({setting: value}) applied last, validated as the command line is:
        a value that cannot work raises ConfigError naming the flag. Reads no process-
        wide flag state, so a notebook or a test can call it any number of times."""
        _need(os.path.isfile(path), f"--flagfile={path} is not a file.")
        flag_values = flags.FlagValues()
        define_flags(flag_values)
        try:
            flag_values(["train", f"--flagfile={path}"])
        except flags.Error as e:
            raise ConfigError(f"{path}: {e}") from None
        config = from_flags(flag_values, overrides)
        validate(config)
        return config

    def to_dict(self) -> dict:
        """Every setting, the model's options among the others (as the flags name them)."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**flat.pop("model").to_dict(), **flat}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @property
    def pinned_towers(self):
        """tower_devices as the model takes it: "auto", None or a pair."""
        if self.tower_devices in ("auto", "none"):
            return None if self.tower_devices == "none" else "auto"
        return tuple(d.strip() for d in self.tower_devices.split(","))


FIELDS = tuple(f for f in dataclasses.fields(TrainConfig) if f.name != "model")
# Defined by the definers every command that has them shares (core/cli.py).
SHARED_FLAGS = ("mixed_precision", "data_service")


def define_flags(flag_values=flags.FLAGS) -> None:
    """The train command's flags, from the declarations: TrainConfig's fields and the
    network's options (defined when a command runs, so that importing defines none; a
    second call on the same flag values defines nothing)."""
    if "epochs" in flag_values:
        return
    cli.define_declared([f for f in FIELDS if f.name not in SHARED_FLAGS], flag_values)
    cli.define_declared(options_lib.FIELDS, flag_values)
    precision = next(f for f in FIELDS if f.name == "mixed_precision")
    cli.define_precision_flag(
        precision.metadata["option"].help, precision.default, flag_values=flag_values
    )
    cli.define_data_service_flag(flag_values)


def from_flags(flag_values=flags.FLAGS, overrides=None) -> TrainConfig:
    """The TrainConfig the parsed `flag_values` give, with `overrides` ({field or network
    option: value}, as given on a command line: they count as set explicitly), the
    --init_from model's options taken in; ConfigError for a value that cannot be read."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {f.name for f in FIELDS} - set(options_lib.NAMES))
    _need(
        not unknown,
        f"{', '.join(unknown)}: no such setting; TrainConfig's fields and the network's "
        "options are the train command's flags (python -m alexnet_tf.train --helpfull).",
    )
    value = {f.name: flag_values[f.name].value for f in FIELDS}
    value.update((k, v) for k, v in overrides.items() if k not in options_lib.NAMES)
    network = {n: flag_values[n].value for n in options_lib.NAMES}
    network.update((k, v) for k, v in overrides.items() if k in options_lib.NAMES)
    value["model"] = ModelOptions(**network)
    try:
        value["lr_boundaries"] = tuple(int(b) for b in value["lr_boundaries"] or ())
    except (TypeError, ValueError):
        raise ConfigError(
            f"--lr_boundaries must be whole epochs such as 30,60. Received: "
            f"{','.join(map(str, value['lr_boundaries']))}"
        ) from None
    for name in ("data_dir", "model_dir"):
        value[name] = value[name] or ""
    value["freeze"] = parse_freeze(value["freeze"] or ())
    epochs_set = flag_values["epochs"].present or "epochs" in overrides
    if value["train_images"] and epochs_set:
        raise ConfigError(
            f"--epochs={value['epochs']} and --train_images={value['train_images']} both set "
            "the run's length: give one (--train_images=0 turns it off)."
        )
    explicit = {n for n in options_lib.NAMES if flag_values[n].present or n in overrides}
    return with_source_options(TrainConfig(**value), explicit)


def _need(ok: bool, message: str):
    if not ok:
        raise ConfigError(message)


def _choice(cfg, name, choices):
    value = getattr(cfg, name)
    _need(
        value in choices,
        f"--{name} must be one of {', '.join(choices)}. Received: --{name}={value}",
    )


def _has_shards(data_dir: str, split: str) -> bool:
    return bool(glob.glob(os.path.join(data_dir, constants.shard_pattern(split))))


def tf_config_workers() -> int:
    """Workers named by TF_CONFIG (chief included); 0 when TF_CONFIG is not set."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw)["cluster"]
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"TF_CONFIG is not valid JSON with a 'cluster' entry: {e}") from None
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def validate(cfg: TrainConfig) -> None:
    """Raise ConfigError for the first value that cannot work: the values themselves, then
    the strategy against the environment, then the directories (no TensorFlow)."""
    _check_values(cfg)
    _check_schedule(cfg)
    _check_strategy(cfg)
    _check_dirs(cfg)
    if cfg.deterministic:  # before --data_service's check, which asks its dispatcher
        _check_deterministic(cfg)
    if cfg.data_service:
        _check_data_service(cfg)
    if cfg.tfds_name:
        _check_tfds(cfg)
    elif "://" not in cfg.data_dir and not cfg.prepare_demo_data:
        _check_data_dir(cfg)


def _check_values(cfg: TrainConfig) -> None:
    """Each value against its declaration, the network's options among them."""
    _need(problem(cfg, prefix="--") is None, str(problem(cfg, prefix="--")))
    model = cfg.model.problem(prefix="--")
    _need(model is None, str(model))


def _check_schedule(cfg: TrainConfig) -> None:
    _need(
        cfg.min_learning_rate <= cfg.learning_rate,
        f"--min_learning_rate must be in (0, --learning_rate={cfg.learning_rate}]. "
        f"Received: {cfg.min_learning_rate}",
    )
    if cfg.train_images:
        _check_train_images(cfg)
        return
    _need(
        0 <= cfg.warmup_epochs < cfg.epochs,
        f"--warmup_epochs must be in [0, --epochs={cfg.epochs}). Received: {cfg.warmup_epochs}",
    )
    if cfg.lr_schedule == "step":
        _need(bool(cfg.lr_boundaries), "--lr_schedule=step needs --lr_boundaries, e.g. 30,60,80.")
        _need(
            list(cfg.lr_boundaries) == sorted(set(cfg.lr_boundaries))
            and all(0 < b < cfg.epochs for b in cfg.lr_boundaries),
            f"--lr_boundaries must be increasing epochs in (0, --epochs={cfg.epochs}). "
            f"Received: {','.join(map(str, cfg.lr_boundaries))}",
        )


def _check_train_images(cfg: TrainConfig) -> None:
    """--train_images chooses at least MIN_EPOCHS epochs, so what is given in epochs must
    fit in that many; boundaries in epochs cannot follow a length not yet known."""
    _need(
        cfg.lr_schedule != "step",
        "--lr_schedule=step takes --lr_boundaries in epochs, which --train_images chooses "
        "from the data's size: use --lr_schedule=cosine or plateau, or --epochs instead.",
    )
    _need(
        0 <= cfg.warmup_epochs < MIN_EPOCHS,
        f"--warmup_epochs must be in [0, {MIN_EPOCHS}) with --train_images, which may "
        f"choose as few as {MIN_EPOCHS} epochs. Received: {cfg.warmup_epochs}",
    )


def epochs_for(train_images: int, images_per_epoch: int) -> int:
    """The epochs that show about `train_images` images, within [MIN_EPOCHS, MAX_EPOCHS]."""
    return min(MAX_EPOCHS, max(MIN_EPOCHS, round(train_images / images_per_epoch)))


def with_schedule(cfg: TrainConfig, steps_per_epoch: int) -> TrainConfig:
    """The config with its epochs set: from --train_images when given (epochs of
    steps_per_epoch x batch_size images), else as it is."""
    if not cfg.train_images:
        return cfg
    return dataclasses.replace(
        cfg, epochs=epochs_for(cfg.train_images, steps_per_epoch * cfg.batch_size)
    )


def planned(cfg: TrainConfig) -> TrainConfig:
    """The config with the epochs --train_images gives, where the data's metadata.json
    tells the training set's size without TensorFlow (TFRecords); else as it is."""
    path = os.path.join(cfg.data_dir, constants.METADATA_FILE)
    if not cfg.train_images or cfg.tfds_name or not os.path.isfile(path):
        return cfg
    with open(path, encoding="utf-8") as f:
        num_train = json.load(f).get("num_examples", {}).get("train") or cfg.num_train_examples
    steps = cfg.steps_per_epoch or num_train // cfg.batch_size
    return with_schedule(cfg, steps) if steps >= 1 else cfg


def _check_strategy(cfg: TrainConfig) -> None:
    """The strategy against the towers' devices and TF_CONFIG's cluster."""
    towers = cfg.pinned_towers
    if isinstance(towers, tuple):
        _need(
            len(towers) == 2 and all(towers),
            "--tower_devices must be 'auto', 'none' or two device names such as "
            f"/GPU:0,/GPU:1. Received: {cfg.tower_devices}",
        )
    strategy = cfg.distribution_strategy
    if strategy in ("mirrored", "multi_worker_mirrored"):
        _need(
            not isinstance(towers, tuple),
            f"--distribution_strategy={strategy} replicates the whole model on every "
            f"device, so it cannot be combined with --tower_devices={cfg.tower_devices}; "
            "use --tower_devices=auto (or none), or --distribution_strategy=towers.",
        )
    if strategy == "towers":
        _need(
            cfg.model.architecture == "two_tower",
            f"--distribution_strategy=towers needs --architecture=two_tower. "
            f"Received: --architecture={cfg.model.architecture}",
        )
    if strategy == "multi_worker_mirrored":
        workers = tf_config_workers()
        _need(
            workers >= 1,
            "--distribution_strategy=multi_worker_mirrored needs TF_CONFIG "
            "naming the cluster (see README, 'Multi-worker training').",
        )
        _need(
            cfg.batch_size % workers == 0,
            f"--batch_size={cfg.batch_size} is not divisible by the {workers} workers in "
            "TF_CONFIG; the global batch is split evenly over replicas.",
        )


def _check_dirs(cfg: TrainConfig) -> None:
    """--model_dir can be written (and holds no run of another network); --data_dir given."""
    _need(bool(cfg.model_dir), "--model_dir is required.")
    if "://" not in cfg.model_dir:
        ancestor = os.path.abspath(cfg.model_dir)
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        _need(
            os.path.isdir(ancestor) and os.access(ancestor, os.W_OK),
            f"--model_dir={cfg.model_dir} cannot be created: {ancestor} is not a writable "
            "directory.",
        )
    if os.path.exists(cfg.model_dir):
        _need(os.path.isdir(cfg.model_dir), f"--model_dir={cfg.model_dir} is not a directory.")
        _check_model_dir(cfg)
    _need(bool(cfg.data_dir or cfg.tfds_name), "--data_dir is required.")


def _check_data_service(cfg: TrainConfig) -> None:
    """--data_service: a dispatcher that answers, and a pipeline its workers can run (they
    read TFRecord shards afresh each pass: no --cache_dataset, no --tfds_name)."""
    for name in ("cache_dataset", "tfds_name"):
        _need(
            not getattr(cfg, name),
            f"--data_service runs the training input on the service's workers, which read "
            f"the TFRecord shards afresh each pass: --{name} does not combine with it "
            f"(leave --{name} out).",
        )
    from alexnet_tf.data.service import ServiceError, check_reachable

    try:
        check_reachable(cfg.data_service)
    except ServiceError as e:
        raise ConfigError(str(e)) from None


# What --deterministic cannot fix the order of, and why.
_NOT_DETERMINISTIC = {
    "data_service": "the service's workers hand out batches as they finish them",
    "tfds_name": "TFDS's reader is not resumable at a given example",
    "skip_bad_records": "records that fail are dropped as they are met",
    "cache_dataset": "the cached stream has one shard order for every pass",
}


def _check_deterministic(cfg: TrainConfig) -> None:
    for name, why in _NOT_DETERMINISTIC.items():
        _need(
            not getattr(cfg, name),
            f"--deterministic does not combine with --{name}: {why}. Leave one of the two out.",
        )
    _need(
        cfg.distribution_strategy != "multi_worker_mirrored",
        "--deterministic runs on one machine: it does not combine with "
        "--distribution_strategy=multi_worker_mirrored.",
    )


def _check_tfds(cfg: TrainConfig) -> None:
    """--tfds_name reads a set TFDS has prepared (its DatasetInfo gives classes and
    counts); what works on our shards only is refused."""
    for name in ("skip_bad_records", "prepare_demo_data"):
        _need(
            not getattr(cfg, name),
            f"--{name} works on TFRecord shards (--data_dir), not with --tfds_name="
            f"{cfg.tfds_name}: leave one of the two out.",
        )
    if cfg.data_dir and "://" not in cfg.data_dir:
        _need(
            os.path.isdir(cfg.data_dir),
            f"--data_dir={cfg.data_dir} does not exist (with --tfds_name, it is TFDS's data "
            "dir, where the set was prepared).",
        )


def _check_data_dir(cfg: TrainConfig) -> None:
    """Shards of both splits, and the class and example counts metadata.json gives (or
    the flags that stand in for it)."""
    _need(os.path.isdir(cfg.data_dir), f"--data_dir={cfg.data_dir} does not exist.")
    for split in ("train", "validation"):
        _need(
            _has_shards(cfg.data_dir, split),
            f"--data_dir={cfg.data_dir} holds no {split} shards ({split}-00000-of-NNNNN"
            "); write them with tools/make_tfrecords.py.",
        )
    meta_path = os.path.join(cfg.data_dir, constants.METADATA_FILE)
    has_meta = os.path.exists(meta_path)
    if has_meta and cfg.num_classes:
        with open(meta_path, encoding="utf-8") as f:
            classes = len(json.load(f).get("classes", ())) or cfg.num_classes
        _need(
            cfg.num_classes == classes,
            f"--num_classes={cfg.num_classes} but {meta_path} lists {classes} classes; "
            "leave --num_classes at 0 to take the data's.",
        )
    _need(
        has_meta or cfg.num_classes,
        f"--data_dir={cfg.data_dir} has no metadata.json: pass --num_classes (1000 for ImageNet).",
    )
    _need(
        has_meta or cfg.steps_per_epoch or cfg.num_train_examples,
        f"--data_dir={cfg.data_dir} has no metadata.json: pass --num_train_examples "
        "(1281167 for ImageNet) or --steps_per_epoch.",
    )


def _check_model_dir(cfg: TrainConfig) -> None:
    old = read_run_config(cfg.model_dir)
    if old is None:
        return
    new = cfg.to_dict()
    # An option missing from an older train_config.json had its default then.
    defaults = ModelOptions().to_dict()
    diff = [
        f"--{k}: {old.get(k, defaults.get(k))!r} there, {new[k]!r} now"
        for k in MODEL_FIELDS
        if (k in old or k in defaults)
        and old.get(k, defaults.get(k)) != new[k]
        # num_classes 0 means the data's count, which validate() checks against the data.
        and not (k == "num_classes" and 0 in (new[k], old.get(k)))
    ]
    _need(
        not diff,
        f"--model_dir={cfg.model_dir} holds a run of another network "
        f"({'; '.join(diff)}): use a new --model_dir to start a different run.",
    )


def parse_freeze(items) -> tuple:
    """["conv1..conv5", "fc6"] -> ("conv1", ..., "conv5", "fc6"), in network order."""
    chosen = set()
    for item in items:
        first, _, last = item.strip().partition("..")
        last = last or first
        if first not in FREEZABLE or last not in FREEZABLE:
            raise ConfigError(
                f"--freeze takes layers of {', '.join(FREEZABLE)} or ranges such as "
                f"conv1..conv5. Received: {item}"
            )
        lo, hi = sorted((FREEZABLE.index(first), FREEZABLE.index(last)))
        chosen.update(FREEZABLE[lo : hi + 1])
    return tuple(name for name in FREEZABLE if name in chosen)


def with_source_options(cfg: TrainConfig, explicit=()) -> TrainConfig:
    """--init_from: the network's structural options and input scaling come from the
    source model, whose features expect them. A flag in `explicit` (given on the command
    line or in the flagfile) that contradicts the source is an error."""
    if not cfg.init_from:
        _need(not cfg.freeze, "--freeze needs --init_from (a model to keep layers of).")
        return cfg
    path = source_model_file(cfg.init_from)
    _need(
        os.path.isfile(path),
        f"--init_from={cfg.init_from} holds no model: expected a model dir with best.keras "
        "(from train or import_weights) or a .keras file.",
    )
    try:
        saved = saved_config(path)
    except ValueError as e:
        raise ConfigError(f"--init_from={cfg.init_from}: {e}") from None
    defaults = ModelOptions()
    source = {name: saved.get(name, getattr(defaults, name)) for name in STRUCTURAL}
    for name, value in source.items():
        ours = getattr(cfg.model, name)
        _need(
            name not in explicit or ours == value,
            f"--{name}={ours}, but the model of --init_from={cfg.init_from} has {value}; its "
            f"features expect its own: leave --{name} out.",
        )
    return dataclasses.replace(
        cfg,
        model=dataclasses.replace(cfg.model, **source),
        normalize_std=saved.get("std_rgb") is not None,
    )
