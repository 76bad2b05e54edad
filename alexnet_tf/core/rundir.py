"""The names of every file in a run directory (`--model_dir`) and in an export base
(`--export_dir`), in one place, with no TensorFlow. WORKSPACE.md draws the same trees.

    run = RunDir("runs/demo")
    run.best            # runs/demo/best.keras
    run.eval_result("validation", 10)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil

CHECKPOINTS = ("best", "latest")  # what --checkpoint names besides a path


@dataclasses.dataclass(frozen=True)
class RunDir:
    """A training run's directory: what `train` writes and `evaluate`, `export`, `predict`
    and `train --init_from` read."""

    root: str

    def _path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    @property
    def config(self) -> str:
        """Every setting of the run (a rerun must keep the network's)."""
        return self._path("train_config.json")

    @property
    def classes(self) -> str:
        """The class ids and names, in output order."""
        return self._path("classes.json")

    @property
    def latest(self) -> str:
        """The model after the last finished epoch."""
        return self._path("latest.keras")

    @property
    def best(self) -> str:
        """The model at the best validation top-1 error."""
        return self._path("best.keras")

    @property
    def best_record(self) -> str:
        """That best value and its epoch."""
        return self._path("best.json")

    @property
    def history_json(self) -> str:
        return self._path("history.json")

    @property
    def history_csv(self) -> str:
        return self._path("history.csv")

    @property
    def history_png(self) -> str:
        """Written by tools/plot_history.py."""
        return self._path("history.png")

    @property
    def filters_png(self) -> str:
        """Written by tools/show_filters.py."""
        return self._path("conv1_kernels.png")

    @property
    def logs(self) -> str:
        """TensorBoard: train/, validation/, filters/."""
        return self._path("logs")

    @property
    def backup(self) -> str:
        """tf.train checkpoints of model, optimizer and learning-rate state."""
        return self._path("backup")

    def worker_backup(self, task_id: int) -> str:
        """A multi-worker run's other workers keep their own backups here."""
        return self._path("workers", f"worker-{task_id}", "backup")

    @property
    def data_check(self) -> str:
        """--skip_bad_records: the records left out, and the shards' sizes and times."""
        return self._path("data_check.json")

    @property
    def import_record(self) -> str:
        """Written by python -m alexnet_tf.import_weights: the source file, its checksum,
        the options derived from it."""
        return self._path("import_record.json")

    @property
    def study_record(self) -> str:
        """A run made by a study (tools/run_ablations.py): its settings, time, results."""
        return self._path("ablation_run.json")

    @property
    def train_log(self) -> str:
        """A study's run: what the train command printed."""
        return self._path("train.log")

    def eval_result(self, split: str, crops: int, exported: str = "") -> str:
        """Written by python -m alexnet_tf.evaluate; `exported` names an exported file it
        evaluated instead of the Keras model ("tflite_int8", "onnx"): eval_..._EXPORTED."""
        suffix = f"_{exported}" if exported else ""
        return self._path(f"eval_{split}_{crops}crop{suffix}.json")

    def checkpoint(self, name: str) -> str:
        """'best' or 'latest' -> that model file; anything else is taken as a path."""
        return self._path(f"{name}.keras") if name in CHECKPOINTS else name


@dataclasses.dataclass(frozen=True)
class ExportBase:
    """The base path TF Serving is given: one integer folder per version."""

    root: str
    SAVED_MODEL = "saved_model.pb"
    ASSETS_EXTRA = "assets.extra"
    WARMUP = "tf_serving_warmup_requests"  # in assets.extra/: PredictionLog records
    CLASS_IDS = "class_ids.txt"  # in assets/
    CLASS_NAMES = "class_names.txt"

    def version(self, number: int) -> str:
        return os.path.join(self.root, str(number))

    def versions(self) -> list[int]:
        """The finished versions, ascending."""
        if not os.path.isdir(self.root):
            return []
        return sorted(
            int(d)
            for d in os.listdir(self.root)
            if d.isdigit() and os.path.exists(os.path.join(self.root, d, self.SAVED_MODEL))
        )

    def next_version(self) -> int:
        taken = [int(d) for d in os.listdir(self.root) if d.isdigit()] if os.path.isdir(
            self.root) else []  # fmt: skip
        return max(taken, default=0) + 1

    def temporary(self, number: int) -> str:
        """Where a version is written before it is renamed into place."""
        return os.path.join(self.root, f".tmp-{number}-{os.getpid()}")

    def claim(self, number: int | None) -> tuple[int, str]:
        """(version, its directory) for a new export: `number`, or the next free one when
        None or 0. A version below 1 is a ValueError, one that exists a FileExistsError:
        versions are never overwritten, since a server may be serving them."""
        number = number or self.next_version()
        if number < 1:
            raise ValueError(f"--version must be >= 1. Received: {number}")
        final = self.version(number)
        if os.path.exists(final):
            raise FileExistsError(
                f"{final} exists already: versions are never overwritten; give another "
                f"--version (next free: {self.next_version()})."
            )
        return number, final

    @contextlib.contextmanager
    def writing(self, number: int):
        """Yields an empty temporary directory; when the block completes it is renamed to
        version `number`, and when the block fails (a full disk, Ctrl-C) it is removed, so
        no half-written version is ever seen under its number."""
        os.makedirs(self.root, exist_ok=True)
        tmp = self.temporary(number)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.makedirs(tmp)
            yield tmp
            os.replace(tmp, self.version(number))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @staticmethod
    def is_version_dir(path: str) -> bool:
        return os.path.exists(os.path.join(path, ExportBase.SAVED_MODEL))


def read_run_config(model_dir: str) -> dict | None:
    """The settings a run in `model_dir` was started with (train_config.json), or None."""
    path = RunDir(model_dir).config
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def source_model_file(init_from: str) -> str:
    """The .keras file --init_from names: a model dir's best.keras, or the file itself."""
    return RunDir(init_from).best if os.path.isdir(init_from) else init_from


def exported_source(path: str) -> str:
    """The .keras file an exported file (TFLite, ONNX) came from: its classes.json says."""
    with open(os.path.join(os.path.dirname(path), "classes.json"), encoding="utf-8") as f:
        return json.load(f)["source"]
