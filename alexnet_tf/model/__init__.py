"""The AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012), as a Keras model.

    from alexnet_tf.model import build_alexnet
    model = build_alexnet(num_classes=1000, tower_devices="auto")

Importing this package registers every class a saved model needs (the network, its
layers, the top-k metric, the paper's optimizer), so
`keras.saving.load_model(path, safe_mode=True)` loads our `.keras` files.

`network` (the layer graph), `layers` (device-pinned layers, LRN, in-model
preprocessing), `placement` (tower devices), `metrics` (top-k error), `optimizer`
(section 5's SGD, the decay through the momentum), `saving` (`.keras` files written whole,
read back unpinned), `features` (inner activations as a model), `filters` (conv1's kernels
as a picture), `keras_internals` (every use of Keras' private API). The options the
network takes are declared, TF-free, in `alexnet_tf.core.options`.
"""

from alexnet_tf.core.options import ModelOptions
from alexnet_tf.model.network import CONV_SPECS, AlexNet, build_alexnet
from alexnet_tf.model.optimizer import PaperSGD

__all__ = ["AlexNet", "CONV_SPECS", "ModelOptions", "PaperSGD", "build_alexnet"]
