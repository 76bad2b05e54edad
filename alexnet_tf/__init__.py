"""alexnet_tf: the AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012) in TF 2 / Keras 3.

The library lives in subpackages, each importing only those below it (no circle):
  core/        no TensorFlow: constants, the network's options, precision, run-dir files,
               whole-file writes, the command-line edge
  data/        TFRecord schema, folders -> shards, augmentations, tf.data pipelines
  model/       the two-tower network, its layers, placement, .keras files, features
  training/    the run's configuration (declared once), the run, its callbacks
  inference/   evaluation, the serving graph, SavedModel (checked in TF Serving's session
               loader) and TFLite exports, prediction, fc7 features
  pretrained/  Caffe's bvlc_alexnet read from ONNX or .npy, mapped onto the towers
  studies/     the paper's ablations and Figure 1, classic baselines, measured speed
`applications` builds the network with keras.applications' arguments. Every other
module at this level is a program: `alexnet-NAME` when installed, `python -m
alexnet_tf.NAME` from a checkout (train, evaluate, export, predict, features,
import_weights, benchmark, check_data, demo_data, data_service, make_tfrecords, ...).
Importing the package imports no TensorFlow.
"""

__version__ = "0.1.0"
