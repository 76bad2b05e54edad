"""The network's `.keras` files: written whole under a temporary name, and read back for
inference on whatever devices there are."""

from __future__ import annotations

from alexnet_tf.core import precision
from alexnet_tf.core.files import replacing
from alexnet_tf.core.keras_file import saved_config
from alexnet_tf.model.network import AlexNet


def save_model_atomically(model, path: str) -> None:
    """model.save(path), seen only once complete: a kill leaves the old file or none."""
    with replacing(path) as tmp:
        model.save(tmp)


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
