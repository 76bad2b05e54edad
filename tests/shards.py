"""Reading converted shards back in tests: every tf.train.Example of a split, and one
feature's first value."""

import os

import tensorflow as tf

from alexnet_tf.core import constants


def examples(out, split):
    """The split's records in `out`, shard by shard in name order, as tf.train.Examples."""
    files = sorted(tf.io.gfile.glob(os.path.join(out, constants.shard_pattern(split))))
    return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files)]


def feature(ex, key):
    """The first value of feature `key` of an Example (bytes or int)."""
    f = ex.features.feature[key]
    return f.bytes_list.value[0] if f.bytes_list.value else f.int64_list.value[0]
