"""alexnet_tf: the AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012) in TF 2 / Keras 3.

Modules: `model` (the two-tower network), `layers` (LRN, device-pinned layers,
in-graph preprocessing), `placement` (which device each tower runs on),
`benchmark` (measured speed).
"""

__version__ = "0.1.0"
