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


def random_states(model) -> list:
    """The state variables of every `keras.random.SeedGenerator` the model's layers draw
    from (dropout's masks, PCA lighting's alphas), in layer order. A `tf.train.Checkpoint`
    of the model alone leaves them out (measured: Keras 3.15), so a run resumed from such
    a backup would draw other masks than the run it continues; the run's backups keep
    these too (`training.run`)."""
    import keras

    found, seen = [], set()

    def visit(layer):
        for value in vars(layer).values():
            if isinstance(value, keras.random.SeedGenerator) and id(value) not in seen:
                seen.add(id(value))
                found.append(value.state)
        for sub in getattr(layer, "layers", ()):
            visit(sub)

    visit(model)
    return found
