"""alexnet_tf: the AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012) in TF 2 / Keras 3.

Library modules: `model` (the two-tower network), `layers` (LRN, device-pinned layers,
in-graph preprocessing), `placement` (tower devices), `augment` (the paper's
augmentations), `schema` (the TFRecord schema), `tfrecords` (image folders to shards),
`data` (tf.data pipelines), `metrics` (top-k error), `callbacks`, `training`, `serving`,
`saving`, `visualize`, `demo_data`. Programs (`python -m alexnet_tf.NAME`): `train`,
`evaluate`, `export`, `predict`, `benchmark`, `demo_data`.

Importing the package imports no TensorFlow, so `config` checks flags in a second.
"""

__version__ = "0.1.0"
