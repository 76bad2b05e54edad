"""What an AlexNet `.keras` file says about itself, read without TensorFlow: the
constructor arguments the network is rebuilt from (`load_for_inference`) and that
`train --init_from` takes its options and mean from, before any expensive work."""

from __future__ import annotations

import json
import zipfile

REGISTERED_NAME = "alexnet_tf>AlexNet"  # what our .keras files carry


class ModelFileError(ValueError):
    """A file that is not an alexnet_tf AlexNet .keras file; the message says what it is."""


def saved_config(path: str) -> dict:
    """The constructor arguments stored in an AlexNet .keras file; ModelFileError for a file
    that is not one (another class, a Lambda layer's bytecode, not a zip at all)."""
    try:
        with zipfile.ZipFile(path) as archive:
            saved = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ModelFileError(f"{path} is not a Keras model file ({e}).") from None
    if saved.get("registered_name") != REGISTERED_NAME or not isinstance(saved.get("config"), dict):
        # Only our own architecture is rebuilt, from its arguments: no layer, function or
        # bytecode from the file is ever deserialized (stricter than Keras' safe_mode).
        raise ModelFileError(
            f"{path} holds a {saved.get('class_name')!r} model, not an alexnet_tf AlexNet; "
            "refusing to load it."
        )
    return saved["config"]
