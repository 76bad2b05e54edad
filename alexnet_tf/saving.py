"""Loading trained models for inference, whatever devices they were trained on."""

from __future__ import annotations

import json
import os
import zipfile

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
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))["config"]
    config["tower_devices"] = None
    model = AlexNet.from_config(config)
    model.load_weights(path)
    return model


def read_class_list(model_dir: str, num_classes: int) -> tuple[list[str], list[str]]:
    """(class ids, names) from the training data's metadata.json named in the run's
    train_config.json; numbered placeholders when the data is not reachable."""
    try:
        with open(os.path.join(model_dir, "train_config.json"), encoding="utf-8") as f:
            data_dir = json.load(f)["data_dir"]
        with open(os.path.join(data_dir, "metadata.json"), encoding="utf-8") as f:
            meta = json.load(f)
        ids, names = meta["classes"], meta.get("names", meta["classes"])
        if len(ids) == num_classes:
            return list(ids), list(names)
    except (OSError, KeyError, ValueError):
        pass
    ids = [f"class_{i}" for i in range(num_classes)]
    return ids, list(ids)
