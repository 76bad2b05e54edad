"""A trained network's inner activations as a model of their own: fc6 and fc7 (both
towers' halves joined, after their ReLU) or pool5, for retrieval as in the paper's
Figure 4 and for transfer (`applications`, the `features` signature and command)."""

from __future__ import annotations

import keras

from alexnet_tf.model.network import AlexNet

FEATURE_LAYERS = ("pool5", "fc6", "fc7")


def tower_layers(network: AlexNet, layer: str) -> list:
    """The layers named `layer` in each tower ("fc7a", "fc7b"; "fc7" with one tower)."""
    names = [layer + t for t in ("a", "b", "")]
    found = [network.get_layer(n) for n in names if any(x.name == n for x in network.layers)]
    if not found:
        raise ValueError(f"the network has no layer {layer} (looked for {', '.join(names)})")
    return found


def joined_towers(network: AlexNet, layer: str):
    outputs = [x.output for x in tower_layers(network, layer)]
    return outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(name=layer)(outputs)


def find_network(model) -> AlexNet:
    if isinstance(model, AlexNet):
        return model
    inner = [layer for layer in getattr(model, "layers", ()) if isinstance(layer, AlexNet)]
    if not inner:
        raise ValueError(
            "The `model` argument should be an alexnet_tf AlexNet or a model wrapping one "
            f"(applications.AlexNet). Received: {type(model).__name__}"
        )
    return inner[0]


def feature_extractor(model, layer="fc7"):
    """A model from images to `layer`'s activations, both towers concatenated: fc6 and fc7
    (None, 4096) after their ReLU (dropout is off at inference), pool5 (None, 6, 6, 256)."""
    if layer not in FEATURE_LAYERS:
        raise ValueError(
            f"The `layer` argument should be one of {', '.join(FEATURE_LAYERS)}. Received: "
            f"layer={layer!r}"
        )
    network = find_network(model)
    return keras.Model(network.input, joined_towers(network, layer), name=f"alexnet_{layer}")
