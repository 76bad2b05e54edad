"""Loading trained models for inference, whatever devices they were trained on."""

from __future__ import annotations

import json
import os
import zipfile

from alexnet_tf import data
from alexnet_tf.config import RUN_CONFIG_FILE
from alexnet_tf.model import AlexNet

CHECKPOINTS = ("best", "latest")


def resolve_checkpoint(model_dir: str, checkpoint: str = "best") -> str:
    """'best' / 'latest' (files in model_dir) or a path to a .keras file -> its path."""
    path = (
        os.path.join(model_dir, f"{checkpoint}.keras") if checkpoint in CHECKPOINTS else checkpoint
    )
    if not os.path.isfile(path):
        found = sorted(f for f in os.listdir(model_dir) if f.endswith(".keras")) if os.path.isdir(
            model_dir) else []  # fmt: skip
        raise FileNotFoundError(
            f"No model file {path}: --checkpoint takes 'best', 'latest' or a .keras path "
            f"(in {model_dir}: {found or 'no .keras files'})."
        )
    return path


def load_for_inference(path: str) -> AlexNet:
    """The model in a .keras file, rebuilt without tower pinning (so a model trained on two
    GPUs runs on one device) and with its trained weights. Loads no code from the file."""
    try:
        with zipfile.ZipFile(path) as archive:
            saved = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ValueError(f"{path} is not a Keras model file ({e}).") from None
    if saved.get("registered_name") != "alexnet_tf>AlexNet" or not isinstance(
        saved.get("config"), dict
    ):
        # Only our own architecture is rebuilt, from its arguments: no layer, function or
        # bytecode from the file is ever deserialized (stricter than Keras' safe_mode).
        raise ValueError(
            f"{path} holds a {saved.get('class_name')!r} model, not an alexnet_tf AlexNet; "
            "refusing to load it."
        )
    config = saved["config"]
    config["tower_devices"] = None
    model = AlexNet.from_config(config)
    model.load_weights(path)
    return model


def run_data_dir(model_dir: str) -> str:
    """The --data_dir a training run in `model_dir` used (from its train_config.json)."""
    path = os.path.join(model_dir, RUN_CONFIG_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: pass --data_dir.")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["data_dir"]


def read_class_list(model_dir: str, num_classes: int) -> tuple[list[str], list[str]]:
    """(class ids, names) from the training data's metadata.json named in the run's
    train_config.json; numbered placeholders when the data is not reachable."""
    try:
        meta = data.metadata_file(run_data_dir(model_dir))
        ids, names = meta["classes"], meta.get("names", meta["classes"])
        if len(ids) == num_classes:
            return list(ids), list(names)
    except (OSError, KeyError, ValueError):
        pass
    ids = [f"class_{i}" for i in range(num_classes)]
    return ids, list(ids)
