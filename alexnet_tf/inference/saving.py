"""What inference reads from a run directory: the checkpoint asked for, the data it trained
on, and the class list that names its outputs; `load_for_inference` (model.saving) reads
the `.keras` file itself, unpinned."""

from __future__ import annotations

import json
import logging
import os

from alexnet_tf.core import constants
from alexnet_tf.core.rundir import RunDir, read_run_config
from alexnet_tf.data import pipeline
from alexnet_tf.model.saving import load_for_inference

__all__ = [
    "load_for_inference",
    "read_class_list",
    "resolve_checkpoint",
    "run_data_dir",
    "run_data_source",
]


def resolve_checkpoint(model_dir: str, checkpoint: str = "best") -> str:
    """'best' / 'latest' (files in model_dir) or a path to a .keras file -> its path."""
    path = RunDir(model_dir).checkpoint(checkpoint)
    if not os.path.isfile(path):
        found = sorted(f for f in os.listdir(model_dir) if f.endswith(".keras")) if os.path.isdir(
            model_dir) else []  # fmt: skip
        raise FileNotFoundError(
            f"No model file {path}: --checkpoint takes 'best', 'latest' or a .keras path "
            f"(in {model_dir}: {found or 'no .keras files'})."
        )
    return path


def run_data_source(model_dir: str) -> tuple[str | None, str | None]:
    """(data_dir, tfds_name) a training run in `model_dir` read: TFRecords in data_dir
    (tfds_name None), or a TFDS set prepared in data_dir (None: TFDS's default dir)."""
    config = read_run_config(model_dir) or {}
    if config.get("tfds_name"):
        return config.get("data_dir") or None, config["tfds_name"]
    return run_data_dir(model_dir), None


def run_data_dir(model_dir: str) -> str:
    """The --data_dir a training run in `model_dir` used (from its train_config.json)."""
    config = read_run_config(model_dir)
    if not config or not config.get("data_dir"):
        raise FileNotFoundError(
            f"{RunDir(model_dir).config} names no training data: pass --data_dir."
        )
    return config["data_dir"]


def read_class_list(model_dir: str, num_classes: int) -> tuple[list[str], list[str]]:
    """(class ids, names) of the run in `model_dir`: its classes.json, else the training
    data's metadata.json; numbered placeholders, with a warning, when neither is there."""

    def own():
        with open(RunDir(model_dir).classes, encoding="utf-8") as f:
            return json.load(f)

    for read in (own, lambda: pipeline.metadata_file(run_data_dir(model_dir))):
        try:
            found = read()
            ids, names = found["classes"], found.get("names", found["classes"])
        except (OSError, KeyError, ValueError, TypeError):
            continue
        if len(ids) == num_classes:
            return list(ids), list(names)
    ids = [f"class_{i}" for i in range(num_classes)]
    logging.warning(
        "No list of %d class names for %s: neither %s nor the training data's %s has one, "
        "so the outputs are named class_0 ... class_%d. Write classes.json "
        '({"classes": [...], "names": [...]}, in output order) to name them.',
        num_classes,
        model_dir,
        RunDir(model_dir).classes,
        constants.METADATA_FILE,
        num_classes - 1,
    )
    return ids, list(ids)
