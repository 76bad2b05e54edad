"""Loading trained models for inference, whatever devices they were trained on, and the
class list that names their outputs."""

from __future__ import annotations

import json
import logging
import os

from alexnet_tf.core import constants, precision
from alexnet_tf.core.keras_file import saved_config
from alexnet_tf.core.rundir import RunDir
from alexnet_tf.data import pipeline
from alexnet_tf.model import AlexNet
from alexnet_tf.training.config import read_run_config


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


def load_for_inference(path: str, policy: str = "float32") -> AlexNet:
    """The model in a .keras file, rebuilt without tower pinning (so a model trained on two
    GPUs runs on one device) and with its trained weights, computing in `policy` (a Keras
    dtype policy; the file holds none). Loads no code from the file."""
    config = saved_config(path)
    config["tower_devices"] = None
    with precision.policy_scope(policy):
        model = AlexNet.from_config(config)
    model.load_weights(path)
    return model


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
