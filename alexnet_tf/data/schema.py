"""The TFRecord schema: one definition, shared by the converter and the input pipeline.

It is the schema of the ImageNet TFRecords users already have (tensorflow/models'
`build_imagenet_data.py`, the TPU `imagenet_to_gcs.py`), so those read unchanged:

| key | type | meaning |
|---|---|---|
| image/encoded | bytes | the JPEG file |
| image/height, image/width | int64 | its size in pixels |
| image/colorspace | bytes | "RGB" |
| image/channels | int64 | 3 |
| image/format | bytes | "JPEG" |
| image/filename | bytes | the source file's name |
| image/class/label | int64 | 1-based class index in class-list order (0: background) |
| image/class/synset | bytes | class id, e.g. "n01440764" or a folder name |
| image/class/text | bytes | human-readable class name |

Shards are named `{split}-{index:05d}-of-{count:05d}` (`constants.shard_name`);
`metadata.json` lies beside them.
"""

from __future__ import annotations

import tensorflow as tf

ENCODED = "image/encoded"
HEIGHT = "image/height"
WIDTH = "image/width"
COLORSPACE = "image/colorspace"
CHANNELS = "image/channels"
FORMAT = "image/format"
FILENAME = "image/filename"
LABEL = "image/class/label"
SYNSET = "image/class/synset"
TEXT = "image/class/text"

LABEL_OFFSET = 1  # labels are stored 1-based; readers subtract this


def _bytes(value: bytes | str) -> tf.train.Feature:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def make_example(
    jpeg: bytes, height: int, width: int, filename: str, label: int, synset: str, text: str
) -> bytes:
    """A serialized tf.train.Example; `label` is 0-based here and stored 1-based."""
    features = {
        ENCODED: _bytes(jpeg),
        HEIGHT: _int(height),
        WIDTH: _int(width),
        COLORSPACE: _bytes("RGB"),
        CHANNELS: _int(3),
        FORMAT: _bytes("JPEG"),
        FILENAME: _bytes(filename),
        LABEL: _int(label + LABEL_OFFSET),
        SYNSET: _bytes(synset),
        TEXT: _bytes(text),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    # deterministic: map fields otherwise serialize in a per-process hash order, and the
    # same input must give byte-identical shards whatever the worker count.
    return example.SerializeToString(deterministic=True)


# What the input pipeline reads; the other keys are for people and tools.
READ_FEATURES = {
    ENCODED: tf.io.FixedLenFeature([], tf.string),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
    FILENAME: tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def parse_example(serialized):
    """Serialized Example -> (JPEG bytes, 0-based int32 label, file name)."""
    parsed = tf.io.parse_single_example(serialized, READ_FEATURES)
    label = tf.cast(parsed[LABEL], tf.int32) - LABEL_OFFSET
    return parsed[ENCODED], label, parsed[FILENAME]
