"""The training run behind `python -m alexnet_tf.train`: plain arguments, no flags.

Resume: a backup (model, optimizer, learning-rate state) is written every
`backup_every_steps` steps and at each epoch end, after the epoch's records (its last step
is not backed up before them). A rerun restores the newest, finishes the interrupted epoch
with the steps it still owed, then trains the remaining epochs, so no epoch is repeated or
skipped and at most `backup_every_steps` steps are redone.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import re

import keras
import tensorflow as tf

from alexnet_tf import data
from alexnet_tf.core import constants, precision
from alexnet_tf.core.files import atomic_write_json, remove_stale_temporaries
from alexnet_tf.core.rundir import RunDir, read_run_config
from alexnet_tf.model import build_alexnet, keras_internals
from alexnet_tf.model.metrics import TopKError
from alexnet_tf.model.optimizer import PaperSGD
from alexnet_tf.model.saving import random_states
from alexnet_tf.training.callbacks import (
    MONITOR,
    FilterImages,
    History,
    LearningRateControl,
    ModelFiles,
    StepBackup,
    StopOnNaN,
    TrainingDiverged,
)
from alexnet_tf.training.config import (
    MAX_EPOCHS,
    MIN_EPOCHS,
    ConfigError,
    TrainConfig,
    with_schedule,
    with_source_options,
)

__all__ = ["run", "RUN_FAILURES", "TrainingDiverged", "DataError", "DiskFull", "WorkerLost"]
DataError = data.DataError


class DiskFull(OSError):
    """The model_dir's device is full (or over quota); the message says what is kept."""


def _is_disk_full(error: BaseException) -> bool:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(error)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        error = error.__cause__ or error.__context__
    return False


class WorkerLost(RuntimeError):
    """Another worker of a multi-worker run stopped or cannot be reached."""


# What a collective op raises when a peer is gone: its socket closed (seen here within
# seconds of a kill -9), or TensorFlow's health check found it unreachable and aborted the
# collectives (the check runs every 30 s with 3 tries of 10 s, so about a minute at most).
PEER_LOST = (
    tf.errors.UnavailableError,
    tf.errors.AbortedError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.FailedPreconditionError,
)


# A run that ends with one of these explains itself in the message (exit status 1).
RUN_FAILURES = (TrainingDiverged, DataError, DiskFull, WorkerLost)


def _newest_backup(config: TrainConfig) -> str:
    backup = tf.train.latest_checkpoint(RunDir(config.model_dir).backup)
    if not backup:
        return "no backup had been written yet"
    return f"the newest whole backup is {backup} (step {backup.rsplit('-', 1)[1]})"


def _worker_lost(config: TrainConfig, error: BaseException) -> WorkerLost:
    detail = " ".join(getattr(error, "message", str(error)).split())
    peer = re.search(r"/job:\w+/replica:\d+/task:\d+", detail)
    return WorkerLost(
        f"another worker of the cluster stopped or cannot be reached"
        f"{' (' + peer.group(0) + ')' if peer else ''}, so this worker stopped too "
        f"({type(error).__name__}). {_newest_backup(config)}: start every worker again with "
        "the same command and TF_CONFIG to resume from it."
    )


def _disk_full(config: TrainConfig, error: BaseException) -> DiskFull:
    kept = _newest_backup(config)
    if "(step" in kept:
        kept += ", and the same command resumes from it"
    last_line = str(error).strip().splitlines()[-1] if str(error).strip() else ""
    return DiskFull(
        f"no space left on the device of --model_dir={config.model_dir} ({last_line[-300:]}). "
        f"The partial file was removed and nothing written before was touched: {kept} once "
        "space is freed. A backup, latest.keras and best.keras each take about twice the "
        "model's size (weights and momentum: 455 MB for the demo's)."
    )


def split_cpu(n: int) -> None:
    """Make N logical CPU devices (to exercise two-device placement without GPUs)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy([d.name for d in gpus] or None)
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()  # "default" and "towers" (placement is the model's)


def worker_role(strategy) -> tuple[bool, int]:
    """(is this the chief, task id): only the chief writes the run's files."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return is_chief, task_id


def tower_pair(config: TrainConfig, strategy_name: str):
    """The towers' devices as the model takes them, checked against this process: a
    ConfigError names --tower_devices when a device it names is missing, or when
    --distribution_strategy=towers finds no pair."""
    from alexnet_tf.model.placement import resolve_tower_devices

    towers = config.pinned_towers if strategy_name in ("default", "towers") else None
    if not (isinstance(towers, tuple) or strategy_name == "towers"):
        return towers  # "auto" or None: the model resolves it
    try:
        resolved = resolve_tower_devices(towers)
    except ValueError as e:  # a device this machine lacks: the message lists those it has
        raise ConfigError(f"--tower_devices={config.tower_devices}: {e}") from None
    if strategy_name == "towers" and resolved is None:
        raise ConfigError(
            "--distribution_strategy=towers needs two devices, and --tower_devices="
            f"{config.tower_devices} gives none here (devices: "
            f"{[d.name for d in tf.config.list_logical_devices()]}); name two, e.g. "
            "--tower_devices=/GPU:0,/GPU:1 (or --cpu_devices=2 "
            "--tower_devices=/CPU:0,/CPU:1 to try it on a CPU)."
        )
    return towers


def build_model(config: TrainConfig, meta: dict, num_classes: int, strategy_name: str):
    """The run's network: its options, the data's (or --init_from's) input scaling."""
    towers = tower_pair(config, strategy_name)
    source = _source(config)
    if source:  # --init_from: the source's input scaling, which its features expect
        mean_rgb, std_rgb = source["mean_rgb"], source["std_rgb"]
    else:
        mean_rgb = meta["mean_rgb"]
        std_rgb = constants.IMAGENET_STD_RGB if config.normalize_std else None
    return build_alexnet(
        num_classes,
        tower_devices=towers,
        **config.model.to_dict(),
        mean_rgb=mean_rgb,
        std_rgb=std_rgb,
        pca_std=config.pca_std if config.pca_lighting else 0.0,
        eigval=meta["eigval"],
        eigvec=meta["eigvec"],
        seed=config.seed,
    )


def _source(config: TrainConfig) -> dict | None:
    """The constructor arguments of the --init_from model (None without one)."""
    if not config.init_from:
        return None
    from alexnet_tf.core.keras_file import saved_config
    from alexnet_tf.core.rundir import source_model_file

    return saved_config(source_model_file(config.init_from))


def _freeze(model, names) -> None:
    """--freeze: those layers of every tower keep their weights."""
    for layer in model.layers:
        if any(layer.name in (name, name + "a", name + "b") for name in names):
            layer.trainable = False


def start_from(model, config: TrainConfig) -> None:
    """--init_from, when a run starts: every layer's weights from the source but fc8's,
    which stays as initialised for this data's classes."""
    from alexnet_tf.core.rundir import source_model_file
    from alexnet_tf.model import saving

    path = source_model_file(config.init_from)
    source = saving.load_for_inference(path)
    copied = []
    for layer in source.layers:
        if not layer.weights or layer.name == "fc8":
            continue
        target = model.get_layer(layer.name)
        for mine, theirs in zip(target.weights, layer.weights, strict=True):
            if tuple(mine.shape) != tuple(theirs.shape):
                raise ConfigError(
                    f"--init_from={config.init_from}: {layer.name}'s {theirs.name} has shape "
                    f"{tuple(theirs.shape)}, this run's {tuple(mine.shape)}."
                )
            mine.assign(theirs)
        copied.append(layer.name)
    logging.info(
        "Started from %s: %d layers (%s); fc8 made anew for %d classes%s",
        path,
        len(copied),
        ", ".join(copied),
        model.num_classes,
        f"; frozen: {', '.join(config.freeze)}" if config.freeze else "",
    )


def _shard_policy(dataset, data_dir: str, split: str, workers: int, service: str = ""):
    """Keras distributes a plain global-batch dataset itself (over replicas, and over
    workers by auto-sharding): by shard file when every worker can have one, else by
    record. Through the tf.data service, not at all: the trainers share one service job,
    which hands each batch to one of them."""
    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    enough = data_dir is not None and len(data.list_shards(data_dir, split)) >= workers
    options.experimental_distribute.auto_shard_policy = policy.FILE if enough else policy.DATA
    if service:
        options.experimental_distribute.auto_shard_policy = policy.OFF
    return dataset.with_options(options)


def _bad_records(config: TrainConfig, is_chief: bool) -> dict:
    """--skip_bad_records: the scan of every shard for records training cannot use (kept
    in MODEL_DIR/data_check.json and reused while the shards are unchanged); each is
    logged, and the input pipeline leaves them out."""
    from alexnet_tf.data import check as check_data

    path = RunDir(config.model_dir).data_check
    result = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            result = check_data.from_json(json.load(f))
        if not check_data.still_valid(result, config.data_dir):
            result = None
    if result is None:
        logging.info("--skip_bad_records: checking every record of %s once", config.data_dir)
        result = check_data.scan(config.data_dir)
        if is_chief:
            atomic_write_json(path, check_data.to_json(result))
    bad = check_data.all_bad(result)
    readable = sum(i["readable"] for i in result["shards"].values())
    logging.info(
        "--skip_bad_records: %d of %d readable records are left out%s",
        len(bad),
        readable,
        "".join(f"\n  {b.describe()}" for b in bad),
    )
    return result


def _usable(result: dict | None, split: str) -> int | None:
    """Records of `split` the pipeline will deliver, per the scan (None: no scan)."""
    if result is None:
        return None
    return sum(
        info["readable"] - sum(not b.rest_of_shard for b in info["bad"])
        for path, info in result["shards"].items()
        if os.path.basename(path).startswith(f"{split}-")
    )


def _name_the_bad_shard(config: TrainConfig, error: Exception) -> None:
    """The input pipeline failed: TensorFlow's error names no file, so find the bad record
    by scanning the shards (up to the first bad one) and raise a DataError naming it."""
    from alexnet_tf.data import check as check_data

    logging.error("Training stopped on an error; checking the shards for a bad record")
    result = check_data.scan(config.data_dir, stop_at_first=True)
    bad = check_data.all_bad(result)
    if not bad:
        return  # not the data's fault: the original error stands
    raise DataError(
        "the training data has a record that cannot be used: "
        + "; ".join(b.describe() for b in bad)
        + f". Rerun the same command with --skip_bad_records to leave such records out "
        "(each is listed and counted), or rewrite the shard with tools/make_tfrecords.py. "
        f"The last backup in {config.model_dir} is intact; the run resumes from it."
    ) from error


def _datasets(config: TrainConfig, workers: int, scan: dict | None, num_train: int):
    """(train, validation): train is a function of the step a fit begins at, giving an
    endless dataset of global batches (under --deterministic, beginning at that step's
    examples; otherwise the same dataset whatever the step). `scan`: --skip_bad_records'
    scan, whose bad records the pipeline leaves out."""
    exclude = None
    if scan is not None:
        from alexnet_tf.data.check import exclusions

        exclude = exclusions(scan)
    private = config.private_threads or None
    tfds = dict(tfds_name=config.tfds_name or None)
    data_dir = config.data_dir or None
    shards_dir = None if config.tfds_name else config.data_dir

    def train(step: int):
        dataset = data.train_dataset(
            data_dir,
            config.batch_size,
            image_size=config.model.image_size,
            crop=config.crop,
            flip=config.flip,
            shuffle_buffer=config.shuffle_buffer,
            private_threads=private,
            cache=config.cache_dataset,
            repeat=True,
            skip_errors=config.skip_bad_records,
            exclude=exclude,
            seed=config.seed,
            data_service=config.data_service or None,
            job_name=service_job(config),
            deterministic=config.deterministic,
            start=step * config.batch_size,
            examples_per_pass=num_train,
            **tfds,
        )
        if workers > 1:
            dataset = _shard_policy(dataset, shards_dir, "train", workers, config.data_service)
        return dataset

    val = data.eval_dataset(
        data_dir,
        config.batch_size,
        crops=1,
        image_size=config.model.image_size,
        private_threads=private,
        skip_errors=config.skip_bad_records,
        exclude=exclude,
        **tfds,
    )
    if config.validation_steps:
        val = val.take(config.validation_steps)
    if workers > 1:
        val = _shard_policy(val, shards_dir, "validation", workers)
    if config.deterministic:
        return train, val
    built = train(0)  # one dataset for every fit: its stream does not depend on the step
    return (lambda step: built), val


def service_job(config: TrainConfig) -> str | None:
    """The run's tf.data service job (None without --data_service)."""
    if not config.data_service:
        return None
    from alexnet_tf.data.service import job_name

    return job_name(config.model_dir)


def run(config: TrainConfig) -> dict:
    """Train as `config` says; returns the last epoch's logs.

    The precision is resolved here, once ("auto": by the machine; a resumed run keeps its
    own), logged, recorded in train_config.json, and set for this run only."""
    config = with_source_options(config)  # --init_from: the source's options (idempotent)
    try:
        choice = precision.resolve(config.mixed_precision, read_run_config(config.model_dir))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    logging.info("Precision: %s (%s)", choice.policy, choice.reason)
    with precision.policy_scope(choice.policy):
        return _run(config, choice)


@dataclasses.dataclass(frozen=True)
class _Role:
    """This process's part in the run: only the chief writes the run's files."""

    is_chief: bool
    task_id: int
    workers: int


@dataclasses.dataclass(frozen=True)
class _Sizes:
    """What the data gives the run: classes, and steps and examples per epoch."""

    num_classes: int
    steps_per_epoch: int
    num_validation: int
    num_train: int | None


def _run(config: TrainConfig, choice: precision.Choice) -> dict:
    """The run's phases, in order; each takes and returns plain values."""
    strategy, role = _devices(config)
    meta, sizes = _data_sizes(config)
    config = with_schedule(config, sizes.steps_per_epoch)
    _log_schedule(config, sizes.steps_per_epoch)
    _write_run_files(config, choice, meta, sizes, role)
    scan = _bad_records(config, role.is_chief) if config.skip_bad_records else None
    train_from, val_ds = _datasets(config, role.workers, scan, sizes.num_train)
    lr_control = _lr_control(config, sizes.steps_per_epoch)
    model, metrics = _compiled_model(config, meta, sizes.num_classes, strategy)
    backup, step = _resume(config, model, metrics, lr_control, role, sizes.steps_per_epoch)
    initial_epoch = step // sizes.steps_per_epoch
    if initial_epoch >= config.epochs:
        logging.info("All %d epochs are done already (step %d).", config.epochs, step)
        return {}
    fit_args = dict(
        validation_data=val_ds,
        validation_steps=_validation_steps(config, scan, sizes),
        callbacks=_callbacks(config, lr_control, backup, initial_epoch, role),
        verbose=config.verbose,
        shuffle=False,  # the dataset shuffles itself
    )
    try:
        return _fit(model, train_from, config, step, sizes.steps_per_epoch, fit_args)
    except Exception as e:
        _explain_failure(config, e)
        raise


def _devices(config: TrainConfig) -> tuple[tf.distribute.Strategy, _Role]:
    """Logical devices and the strategy, before any other TensorFlow work."""
    if config.cpu_devices:
        split_cpu(config.cpu_devices)
    strategy = make_strategy(config.distribution_strategy)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ConfigError(
            f"--batch_size={config.batch_size} is not divisible by the {replicas} replicas "
            f"of --distribution_strategy={config.distribution_strategy}."
        )
    is_chief, task_id = worker_role(strategy)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        # Kernels that could sum in a varying order run in a fixed one, and ops with no
        # deterministic kernel raise instead of running (TensorFlow's op determinism).
        tf.config.experimental.enable_op_determinism()
    return strategy, _Role(is_chief, task_id, keras_internals.num_workers(strategy))


def _data_sizes(config: TrainConfig) -> tuple[dict, _Sizes]:
    """The data's metadata (the demo data made first when asked and absent) and sizes."""
    if config.prepare_demo_data and not os.path.exists(
        os.path.join(config.data_dir, constants.METADATA_FILE)
    ):
        from alexnet_tf.data.demo import prepare_demo

        logging.info("Making the demo data set in %s (once; later runs reuse it)", config.data_dir)
        prepare_demo(config.data_dir)
    if config.tfds_name:
        logging.info("Reading %s's DatasetInfo and pixel statistics", config.tfds_name)
        try:
            meta = data.tfds_metadata(config.tfds_name, config.data_dir or None)
        except data.DataError as e:  # a set that is not there: the flag's value is wrong
            raise ConfigError(f"--{e}") from None
    else:
        meta = data.read_metadata(config.data_dir)
    num_classes = config.num_classes or len(meta.get("classes", ()))
    counts = meta.get("num_examples", {})
    num_train = counts.get("train") or config.num_train_examples
    steps_per_epoch = config.steps_per_epoch or num_train // config.batch_size
    if steps_per_epoch < 1 or num_classes < 1:
        raise ConfigError(
            f"--batch_size={config.batch_size} is larger than the {num_train} training "
            f"examples in --data_dir={config.data_dir}; use a smaller batch."
        )
    return meta, _Sizes(num_classes, steps_per_epoch, counts.get("validation", 0), num_train)


def _log_schedule(config: TrainConfig, steps_per_epoch: int) -> None:
    images = config.epochs * steps_per_epoch * config.batch_size
    chosen = f"{config.epochs} epochs of {steps_per_epoch} steps of {config.batch_size}"
    if config.train_images:
        logging.info(
            "--train_images=%d: %s (%d steps, %d images; epochs kept within [%d, %d])",
            config.train_images, chosen, config.epochs * steps_per_epoch, images,
            MIN_EPOCHS, MAX_EPOCHS,
        )  # fmt: skip
    else:
        logging.info(
            "Schedule: %s (%d steps, %d images)", chosen, config.epochs * steps_per_epoch, images
        )


def _write_run_files(config, choice, meta: dict, sizes: _Sizes, role: _Role) -> None:
    """train_config.json and classes.json, by the chief, after removing what an
    interrupted run half-wrote."""
    os.makedirs(config.model_dir, exist_ok=True)
    if not role.is_chief:
        return
    run_dir = RunDir(config.model_dir)
    stale = remove_stale_temporaries(config.model_dir)
    if stale:
        logging.info("Removed files half-written by an interrupted run: %s", ", ".join(stale))
    statistics = {k: meta[k] for k in ("mean_rgb", "eigval", "eigvec") if k in meta}
    if config.tfds_name:
        statistics["from_tfds_train_images"] = meta["stats_from_images"]
    record = {**config.to_dict(), **choice.as_record(), "data_statistics": statistics}
    atomic_write_json(run_dir.config, record)
    classes = meta.get("classes")
    if classes and len(classes) == sizes.num_classes:
        atomic_write_json(
            run_dir.classes, {"classes": classes, "names": meta.get("names", classes)}
        )
    else:
        logging.warning(
            "No class list for the %d outputs in %s: %s is not written, and exports will "
            "name the classes class_0 ... until it is.",
            sizes.num_classes,
            config.data_dir,
            run_dir.classes,
        )


def _lr_control(config: TrainConfig, steps_per_epoch: int) -> LearningRateControl:
    return LearningRateControl(
        config.learning_rate,
        config.lr_schedule,
        config.lr_boundaries,
        config.plateau_patience,
        config.min_learning_rate,
        warmup_steps=round(config.warmup_epochs * steps_per_epoch),
        total_steps=config.epochs * steps_per_epoch,
    )


def _compiled_model(config: TrainConfig, meta: dict, num_classes: int, strategy):
    """(the network with --freeze applied, compiled with the paper's SGD and top-k errors,
    its optimizer built so a backup restores into every slot; those metrics)."""
    with strategy.scope():
        model = build_model(config, meta, num_classes, config.distribution_strategy)
        metrics = (TopKError(1, name="top1_error"), TopKError(5, name="top5_error"))
        _freeze(model, config.freeze)
        model.compile(
            optimizer=PaperSGD(
                config.learning_rate, momentum=config.momentum, kernel_decay=config.weight_decay
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=list(metrics),
            jit_compile=config.jit_compile,
        )
        model.optimizer.build(model.trainable_variables)
    return model, metrics


def _metric_states(model, metrics) -> list:
    """The training metrics' accumulators: the loss's running mean (`model.metrics`) and
    those of `metrics`, the ones given to compile (they exist before the first step,
    when the backup is read; Keras builds its own list of them only then)."""
    found, seen = [], set()
    for metric in [*model.metrics, *metrics]:
        for v in metric.variables:
            if id(v) not in seen:
                seen.add(id(v))
                found.append(v)
    return found


def _resume(config, model, metrics, lr_control, role: _Role, steps_per_epoch: int) -> tuple:
    """(the backup callback, the step restored from the newest backup: 0 for a new run,
    which starts from --init_from when given)."""
    run_dir = RunDir(config.model_dir)
    backup = StepBackup(
        run_dir.backup if role.is_chief else run_dir.worker_backup(role.task_id),
        config.backup_every_steps,
        {"lr_best": lr_control.best, "lr_wait": lr_control.wait, "random": random_states(model)},
        read_directory=run_dir.backup,
        carried=_metric_states(model, metrics),
    )
    step = backup.restore(model)
    if not step and config.init_from:
        start_from(model, config)
    if step:
        epoch, done = divmod(step, steps_per_epoch)
        if done:
            backup.carry_into_epoch()
        logging.info(
            "Resuming at step %d: epoch %d, %d of its %d steps done",
            step,
            epoch + 1,
            done,
            steps_per_epoch,
        )
    return backup, step


def _callbacks(config, lr_control, backup, initial_epoch: int, role: _Role) -> list:
    log_dir = RunDir(config.model_dir).logs
    callbacks = [
        lr_control,  # first: the epoch's logs get the learning rate
        StopOnNaN(),  # before the backup: a NaN step is never saved
        History(config.model_dir, initial_epoch, write=role.is_chief),
        ModelFiles(config.model_dir, MONITOR, write=role.is_chief),
    ]
    if role.is_chief:
        callbacks += [
            keras.callbacks.TensorBoard(log_dir, update_freq="epoch"),
            FilterImages(log_dir),
        ]
    return callbacks + [backup]  # last at epoch end: it covers what the files above record


def _validation_steps(config: TrainConfig, scan: dict | None, sizes: _Sizes) -> int | None:
    num_val = _usable(scan, "validation") or sizes.num_validation
    return config.validation_steps or (-(-num_val // config.batch_size) or None)


def _explain_failure(config: TrainConfig, error: Exception) -> None:
    """Raise the error that explains a failed fit, when there is one: a full disk, a lost
    worker, or a bad record (the shards are scanned only when the error came from reading,
    decoding or labelling a record)."""
    if _is_disk_full(error):
        raise _disk_full(config, error) from error
    if config.distribution_strategy == "multi_worker_mirrored" and isinstance(error, PEER_LOST):
        raise _worker_lost(config, error) from error
    if not config.skip_bad_records and from_a_record(error):
        _name_the_bad_shard(config, error)


# How TensorFlow reports an error raised while a record was read or decoded: the input
# pipeline's node (Keras fetches batches inside its train function), or the loss's own
# check of a label out of range.
_RECORD_ERROR_MARKS = ("IteratorGetNext", "Received a label value of")


def from_a_record(error: BaseException) -> bool:
    """Did `error` come from reading, decoding or labelling a training record?"""
    if isinstance(error, tf.errors.DataLossError):  # a reader's checksum or length
        return True
    if not isinstance(error, tf.errors.InvalidArgumentError):
        return False
    text = getattr(error, "message", "") or str(error)
    return any(mark in text for mark in _RECORD_ERROR_MARKS)


def _fit(model, train_from, config: TrainConfig, step: int, steps_per_epoch: int, fit_args):
    """model.fit from `step`: the rest of an interrupted epoch first, then the others.
    `train_from(step)` gives the training data from that step on (each fit starts a new
    iterator over it)."""
    initial_epoch, done_in_epoch = divmod(step, steps_per_epoch)
    logs = {}
    if done_in_epoch:  # the rest of the interrupted epoch
        h = model.fit(
            train_from(step),
            epochs=initial_epoch + 1,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch - done_in_epoch,
            **fit_args,
        )
        logs = {k: v[-1] for k, v in h.history.items()}
        initial_epoch += 1
    if initial_epoch < config.epochs:
        h = model.fit(
            train_from(initial_epoch * steps_per_epoch),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            **fit_args,
        )
        logs = {k: v[-1] for k, v in h.history.items()}
    return logs
