"""Data: from image folders to batches.

    from alexnet_tf import data
    ds = data.train_dataset("data/imagenet", batch_size=128)

`schema` (the TFRecord fields), `tfrecords` (image folders -> shards), `augment` (the
paper's augmentations as pure functions), `pipeline` (the tf.data chains, whose public
names this package hands on), `check` (finding unusable records) and `demo` (the
built-in demo data set). Nothing here imports the model.
"""

from alexnet_tf.data.pipeline import (
    DataError,
    decode_only_dataset,
    eval_dataset,
    image_decoder,
    list_shards,
    metadata_file,
    read_metadata,
    small_images,
    tfds_metadata,
    train_dataset,
)

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
