"""Data: from image folders to batches.

    from alexnet_tf import data
    ds = data.train_dataset("data/imagenet", batch_size=128)

`schema` (the TFRecord fields), `tfrecords` (image folders -> shards), `ilsvrc`
(ILSVRC-2012's three archives read in place, labelled through the devkit), `plan` (what a
conversion reads), `augment` (the
paper's augmentations as pure functions), `views` (the evaluation views by name, without
TensorFlow), `pipeline` (the tf.data chains, whose public
names this package hands on), `service` (the training pipeline on tf.data service
workers), `check` (finding unusable records) and `demo` (the built-in demo data set).
Nothing here imports the model.

The pipeline's names load TensorFlow on first use, not on import: the converter's worker
processes import `tfrecords` alone and stay free of TensorFlow (seconds to start and
about 700 MB each, measured).
"""

from __future__ import annotations

import importlib

__all__ = [
    "DataError",
    "decode_only_dataset",
    "eval_dataset",
    "image_decoder",
    "list_shards",
    "metadata_file",
    "read_metadata",
    "small_images",
    "tfds_metadata",
    "train_dataset",
]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("alexnet_tf.data.pipeline"), name)
    raise AttributeError(f"module 'alexnet_tf.data' has no attribute {name!r}")
