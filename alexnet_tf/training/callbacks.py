"""Keras callbacks of a training run: the paper's learning-rate rule, NaN stop, history,
best/latest models, conv1 pictures in TensorBoard, and step backups for resume.

Everything written to disk goes to a temporary name first and is renamed when complete,
so a run killed at any moment leaves only whole files.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from alexnet_tf.core.files import atomic_copy, atomic_write_json, atomic_write_text
from alexnet_tf.core.rundir import RunDir
from alexnet_tf.model import filters
from alexnet_tf.model.saving import save_model_atomically

MONITOR = "val_top1_error"  # section 5: divide when the validation error stops improving


def optimizer_step(model) -> int:
    """Steps taken so far (also for distributed, e.g. mirrored, variables)."""
    return int(model.optimizer.iterations.numpy())


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def scheduled_rate(step: int, base: float, schedule: str, warmup_steps: int, total_steps: int,
                   min_lr: float) -> float | None:  # fmt: skip
    """The learning rate a step-driven rule gives at optimizer step `step` (0-based), or
    None where the rule leaves the rate as it is (plateau and step after the warm-up).

    warm-up: base * (step + 1) / warmup_steps for the first warmup_steps steps;
    cosine: then from base down to min_lr along half a cosine, reached at total_steps.
    """
    if step < warmup_steps:
        return base * (step + 1) / warmup_steps
    if schedule != "cosine":
        return None
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + (base - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LearningRateControl(keras.callbacks.Callback):
    """The learning-rate rule. Section 5: "divide the learning rate by 10 when the
    validation error rate stopped improving" (schedule "plateau", after `patience` epochs
    without improvement), or by 10 at fixed epochs ("step"), or a cosine from the base
    rate down to `min_lr` at the last step ("cosine", for short runs). Any of them may
    start with a linear warm-up over `warmup_steps` steps. The step-driven parts are a
    function of the optimizer's step and the plateau's state lives in variables, so a
    resumed run (restored from a backup) continues the same schedule."""

    def __init__(
        self,
        base_lr,
        schedule="plateau",
        boundaries=(),
        patience=3,
        min_lr=1e-5,
        monitor=MONITOR,
        warmup_steps=0,
        total_steps=0,
    ):
        super().__init__()
        self.base_lr, self.schedule, self.boundaries = base_lr, schedule, tuple(boundaries)
        self.patience, self.min_lr, self.monitor = patience, min_lr, monitor
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        self.best = tf.Variable(math.inf, trainable=False, dtype=tf.float32, name="lr_best")
        self.wait = tf.Variable(0, trainable=False, dtype=tf.int64, name="lr_wait")

    def _set(self, lr):
        self.model.optimizer.learning_rate.assign(lr)

    @property
    def lr(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_begin(self, epoch, logs=None):
        if self.schedule == "step":
            drops = sum(1 for b in self.boundaries if epoch >= b)
            self._set(self.base_lr * 0.1**drops)

    def on_train_batch_begin(self, batch, logs=None):
        if self.schedule != "cosine" and self.warmup_steps == 0:
            return
        step = optimizer_step(self.model)
        rate = scheduled_rate(
            step, self.base_lr, self.schedule, self.warmup_steps, self.total_steps, self.min_lr
        )
        if rate is not None:
            self._set(rate)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = self.lr
        if self.schedule != "plateau" or self.monitor not in logs:
            return
        if optimizer_step(self.model) < self.warmup_steps:
            return  # still warming up: the rate is not the plateau's to change
        value = float(logs[self.monitor])
        if value < float(self.best) - 1e-4:
            self.best.assign(value)
            self.wait.assign(0)
            return
        self.wait.assign_add(1)
        if int(self.wait) >= self.patience and self.lr > self.min_lr:
            new = max(self.lr / 10.0, self.min_lr)
            print(
                f"\nEpoch {epoch + 1}: {self.monitor} has not improved for "
                f"{int(self.wait)} epochs; learning rate {self.lr:.3g} -> {new:.3g}"
            )
            self._set(new)
            self.wait.assign(0)


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first step whose loss is NaN or infinite, before anything is saved
    from it (this callback runs before the backup)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            step = optimizer_step(self.model)
            raise TrainingDiverged(
                f"the training loss is {float(loss)} at step {step} (epoch batch {batch}); "
                "nothing from this step was saved. Lower --learning_rate, or try "
                "--init=caffe or --init=he --normalize_std."
            )


class History(keras.callbacks.Callback):
    """history.json and history.csv in model_dir: one row per finished epoch, rewritten
    whole (atomically) each epoch; epochs a resumed run will redo are dropped first.
    Each row holds the epoch's logs, `epoch_seconds`, its wall time from its first
    step to the end of its validation (the files written after it are not counted), and
    `steps_seconds`, the part until its last step ended: the difference is the
    validation's."""

    def __init__(self, model_dir: str, initial_epoch: int = 0, write: bool = True):
        super().__init__()
        run = RunDir(model_dir)
        self.json_path, self.csv_path = run.history_json, run.history_csv
        self.write = write
        self.rows = []
        if os.path.exists(self.json_path):
            with open(self.json_path, encoding="utf-8") as f:
                self.rows = [r for r in json.load(f) if r["epoch"] < initial_epoch]

    def on_epoch_begin(self, epoch, logs=None):
        self.started = self.last_step = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last_step = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        row["epoch_seconds"] = round(time.perf_counter() - self.started, 3)
        row["steps_seconds"] = round(self.last_step - self.started, 3)
        self.rows = [r for r in self.rows if r["epoch"] != epoch] + [row]
        if not self.write:
            return
        atomic_write_json(self.json_path, self.rows)
        keys = sorted({k for r in self.rows for k in r} - {"epoch"})
        buf = io.StringIO()
        writer = csv.DictWriter(buf, ["epoch", *keys])
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.csv_path, buf.getvalue())


class ModelFiles(keras.callbacks.Callback):
    """latest.keras after every epoch and best.keras when `monitor` improves (its best
    value kept in best.json, so it survives a restart). best.keras is then the same
    model as latest.keras: a hard link to it, not a second 450 MB write."""

    def __init__(self, model_dir: str, monitor: str = MONITOR, write: bool = True):
        super().__init__()
        self.run, self.monitor, self.write = RunDir(model_dir), monitor, write
        self.best_path = self.run.best_record
        self.best = math.inf
        if os.path.exists(self.best_path):
            with open(self.best_path, encoding="utf-8") as f:
                self.best = json.load(f)[monitor]

    def on_epoch_end(self, epoch, logs=None):
        if not self.write:
            return
        start = time.perf_counter()
        save_model_atomically(self.model, self.run.latest)
        logging.info("%s written in %.1f s", self.run.latest, time.perf_counter() - start)
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)
            atomic_copy(self.run.latest, self.run.best)
            atomic_write_json(self.best_path, {self.monitor: self.best, "epoch": epoch})


class FilterImages(keras.callbacks.Callback):
    """conv1's kernels (the paper's Figure 3) as a TensorBoard image after each epoch."""

    def __init__(self, log_dir: str):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "filters"))

    def on_epoch_end(self, epoch, logs=None):
        grid = filters.filter_grid(self.model, scale=3)
        with self.writer.as_default():
            tf.summary.image("conv1_kernels", grid[np.newaxis], step=epoch)
        self.writer.flush()


class StepBackup(keras.callbacks.Callback):
    """Every `every_steps` steps and at each epoch end, a `tf.train.Checkpoint` of the
    model, the optimizer (step count and learning rate included) and `extra` state;
    `restore()` brings the newest back. TF writes checkpoints under temporary names and
    renames them, and two are kept, so a kill at any moment leaves a loadable one.

    `carried`: variables (the training metrics' accumulators) that Keras resets when an
    epoch begins; after `restore()` and `carry_into_epoch()`, the values the backup holds
    are put back at that moment, so an epoch resumed mid-way logs the mean of all its
    steps, as it would have uninterrupted."""

    def __init__(
        self, directory: str, every_steps: int, extra: dict, read_directory=None, carried=()
    ):
        super().__init__()
        self.directory, self.every_steps = directory, every_steps
        self.carried = list(carried)
        self.extra = {**extra, **({"carried": self.carried} if carried else {})}
        self.read_directory = read_directory or directory
        self._manager = None
        self._carry = None

    def _checkpoint(self):
        if self._manager is None:
            ckpt = tf.train.Checkpoint(
                model=self.model, optimizer=self.model.optimizer, **self.extra
            )
            self._manager = tf.train.CheckpointManager(ckpt, self.directory, max_to_keep=2)
        return self._manager

    def restore(self, model) -> int:
        """Load the newest backup into `model`; returns the step reached (0: none). First
        removes what a killed writer left in this backup directory: TF's `ckpt-N_temp`
        directories and checkpoint files the index does not list."""
        self.set_model(model)
        self._remove_debris()
        latest = tf.train.latest_checkpoint(self.read_directory)
        if latest is None:
            return 0
        self._checkpoint().checkpoint.restore(latest).assert_existing_objects_matched()
        return optimizer_step(model)

    def carry_into_epoch(self) -> None:
        """Put the restored `carried` values back when the next epoch begins (a resume
        in the middle of an epoch)."""
        self._carry = [v.numpy() for v in self.carried]

    def on_epoch_begin(self, epoch, logs=None):
        if self._carry is not None:
            for variable, value in zip(self.carried, self._carry, strict=True):
                variable.assign(value)
            self._carry = None

    def save(self):
        start = time.perf_counter()
        try:
            self._checkpoint().save(checkpoint_number=optimizer_step(self.model))
            logging.info(
                "Backup at step %d written in %.1f s",
                optimizer_step(self.model),
                time.perf_counter() - start,
            )
        except BaseException:
            # e.g. a full disk: drop this backup's partial files (TF leaves a
            # ckpt-N_temp directory), so the space goes back and only whole backups remain.
            self._remove_debris()
            raise

    def _remove_debris(self):
        """Delete TF's ckpt-N_temp directories and checkpoint files the index does not
        list: what a killed or failed backup leaves behind."""
        if not tf.io.gfile.isdir(self.directory):
            return
        listed = set(self._checkpoint().checkpoints)
        for name in tf.io.gfile.listdir(self.directory):
            name = name.rstrip("/")
            prefix = os.path.join(self.directory, name.split(".")[0])
            if name.startswith("ckpt-") and (name.endswith("_temp") or prefix not in listed):
                path = os.path.join(self.directory, name)
                logging.info("Removing %s, left by an interrupted backup", path)
                if tf.io.gfile.isdir(path):
                    tf.io.gfile.rmtree(path)
                else:
                    tf.io.gfile.remove(path)

    def on_train_batch_end(self, batch, logs=None):
        # Not at an epoch's last step: that backup is taken at the epoch's end, after its
        # validation, history and model files, so a run stopped in between (killed, or a
        # full disk) redoes those steps and records the epoch, instead of resuming past it.
        last_step = self.params.get("steps") and batch + 1 >= self.params["steps"]
        if optimizer_step(self.model) % self.every_steps == 0 and not last_step:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.save()
