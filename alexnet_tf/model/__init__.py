"""The AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012), as a Keras model.

    from alexnet_tf.model import build_alexnet
    model = build_alexnet(num_classes=1000, tower_devices="auto")

Importing this package registers every class a saved model needs (the network, its
layers, the top-k metric), so `keras.saving.load_model(path, safe_mode=True)` loads our
`.keras` files. `network` (the layer graph), `layers` (device-pinned layers, LRN,
in-model preprocessing), `placement` (tower devices), `metrics` (top-k error), `filters`
(conv1's kernels as a picture). The options the network takes are declared, TF-free, in
`alexnet_tf.options`.
"""

from alexnet_tf.model.network import CONV_SPECS, AlexNet, build_alexnet
from alexnet_tf.options import ModelOptions

__all__ = ["AlexNet", "CONV_SPECS", "ModelOptions", "build_alexnet"]
