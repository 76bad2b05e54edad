"""The training run's configuration: a frozen dataclass, validated without TensorFlow.

The train command turns flags into a TrainConfig, `validate()` checks every value (naming
the flag and what it accepts) before anything expensive is imported, and the run writes
the config next to its checkpoints (`RunDir.config`), the model's options flattened in.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os

from alexnet_tf.core import constants
from alexnet_tf.core.keras_file import saved_config
from alexnet_tf.core.options import STRUCTURAL, ModelOptions
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


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    data_dir: str  # TFRecords; with tfds_name, TFDS's data dir ("": TFDS's default)
    model_dir: str
    tfds_name: str = ""  # a TFDS image data set, prepared in data_dir, instead of TFRecords
    epochs: int = 90
    train_images: int = 0  # > 0: the images to see in all, from which the epochs follow
    batch_size: int = constants.PAPER_BATCH
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4  # section 5, through the momentum (training.optimizer)
    lr_schedule: str = "plateau"
    lr_boundaries: tuple = ()  # epochs at which "step" divides the rate by 10
    warmup_epochs: float = 0.0  # a linear warm-up to --learning_rate first
    plateau_patience: int = 3
    min_learning_rate: float = 1e-5
    steps_per_epoch: int = 0  # 0: the train examples in metadata.json / batch_size
    validation_steps: int = 0  # 0: the whole validation split
    num_train_examples: int = 0  # for data without metadata.json
    distribution_strategy: str = "default"
    tower_devices: str = "auto"  # "auto", "none", or "DEV_A,DEV_B"
    cpu_devices: int = 0  # split the CPU into N logical devices (placement tests)
    mixed_precision: str = "auto"  # resolved when the run starts (alexnet_tf.core.precision)
    jit_compile: bool = False
    num_classes: int = 0  # 0: from metadata.json
    model: ModelOptions = ModelOptions()  # the network's options (model/options.py)
    normalize_std: bool = False
    crop: bool = True
    flip: bool = True
    pca_lighting: bool = True
    pca_std: float = 0.1
    shuffle_buffer: int = 10_000
    private_threads: int = 0
    cache_dataset: bool = False
    data_service: str = ""  # HOST:PORT of a tf.data service dispatcher: input runs there
    skip_bad_records: bool = False
    prepare_demo_data: bool = False
    init_from: str = ""  # a model dir (its best.keras) or a .keras file to start from
    freeze: tuple = ()  # layers kept as --init_from gives them, e.g. ("conv1", "conv2")
    backup_every_steps: int = 100
    seed: int = 0
    verbose: int = 1

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
    if cfg.data_service:
        _check_data_service(cfg)
    if cfg.tfds_name:
        _check_tfds(cfg)
    elif "://" not in cfg.data_dir and not cfg.prepare_demo_data:
        _check_data_dir(cfg)


_NON_NEGATIVE = (
    "steps_per_epoch",
    "validation_steps",
    "num_train_examples",
    "num_classes",
    "cpu_devices",
    "private_threads",
)


def _check_values(cfg: TrainConfig) -> None:
    for name in ("epochs", "batch_size"):
        _need(getattr(cfg, name) >= 1, f"--{name} must be >= 1. Received: {getattr(cfg, name)}")
    for name in _NON_NEGATIVE:
        value = getattr(cfg, name)
        _need(value >= 0, f"--{name} must be >= 0. Received: {value}")
    _need(cfg.shuffle_buffer >= 1, f"--shuffle_buffer must be >= 1. Received: {cfg.shuffle_buffer}")
    _need(0 <= cfg.seed < 2**32, f"--seed must be in [0, 2**32). Received: {cfg.seed}")
    _need(cfg.verbose in (0, 1, 2), f"--verbose must be 0, 1 or 2. Received: {cfg.verbose}")
    _need(0 <= cfg.momentum < 1, f"--momentum must be in [0, 1). Received: {cfg.momentum}")
    _need(cfg.weight_decay >= 0, f"--weight_decay must be >= 0. Received: {cfg.weight_decay}")
    problem = cfg.model.problem(prefix="--")
    _need(problem is None, str(problem))
    _need(cfg.pca_std >= 0, f"--pca_std must be >= 0. Received: {cfg.pca_std}")
    _need(
        cfg.backup_every_steps >= 1,
        f"--backup_every_steps must be >= 1. Received: {cfg.backup_every_steps}",
    )
    _choice(cfg, "distribution_strategy", STRATEGIES)
    _choice(cfg, "mixed_precision", PRECISIONS)


def _check_schedule(cfg: TrainConfig) -> None:
    _need(cfg.learning_rate > 0, f"--learning_rate must be > 0. Received: {cfg.learning_rate}")
    _need(
        0 < cfg.min_learning_rate <= cfg.learning_rate,
        f"--min_learning_rate must be in (0, --learning_rate={cfg.learning_rate}]. "
        f"Received: {cfg.min_learning_rate}",
    )
    _need(
        cfg.plateau_patience >= 1,
        f"--plateau_patience must be >= 1. Received: {cfg.plateau_patience}",
    )
    _choice(cfg, "lr_schedule", LR_SCHEDULES)
    _need(cfg.train_images >= 0, f"--train_images must be >= 0. Received: {cfg.train_images}")
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
