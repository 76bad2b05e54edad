"""alexnet_tf: the AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012) in TF 2 / Keras 3.

Subpackages, each with one job; data flows down and nothing imports upward:
  model/      the two-tower network, its layers, tower placement, top-k error
  data/       TFRecord schema, image folders -> shards, augmentations, tf.data pipelines,
              the record checker, the demo data set (never imports model/)
  training/   the run's configuration (TF-free), the training run, its callbacks
  inference/  loading, evaluation, the serving graph, SavedModel and TFLite export,
              prediction, features
  studies/    the paper's ablations, measured speed
TF-free modules beside them: `constants` (sizes, file and shard names, ImageNet
statistics), `options` (the network's options, declared once), `rundir` (the files of a
run directory and an export base), `files` (whole-file writes), `cli` (the command-line
edge). `keras_internals` holds every use of Keras' private API.

Programs (`python -m alexnet_tf.NAME`), the only modules that read flags: `train`,
`evaluate`, `export`, `predict`, `features`, `benchmark`, `check_data`, `demo_data`,
`data_service`. `applications` builds the network with keras.applications' arguments.
Importing the package imports no TensorFlow.
"""

__version__ = "0.1.0"
