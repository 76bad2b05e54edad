"""The serving graph: encoded images in, probabilities and top-5 classes out.

Shared by `export` (written as a SavedModel for TF Serving) and `predict`. The graph does
the evaluation preprocessing itself (shorter side to 256, centre 224 crop, mean
subtraction), so clients send JPEG or PNG bytes and need no Python.

A bad request (empty bytes, not a JPEG or PNG, truncated data, a header claiming more than
MAX_PIXELS pixels) raises tf.errors.InvalidArgumentError naming the problem, checked from
the header before any pixel is decoded. One bad image fails its whole batch: TF Serving
answers a batch as one, and made-up numbers for a bad image would be worse.
"""

from __future__ import annotations

import os
import re
import tempfile

import keras
import tensorflow as tf

from alexnet_tf.core.rundir import ExportBase
from alexnet_tf.data import augment
from alexnet_tf.model.features import feature_extractor

TOP_K = 5
MAX_PIXELS = 40_000_000  # claimed width x height above which a request is refused
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_shape(image_bytes):
    """(height, width) from a PNG's IHDR chunk (bytes 16-23, big-endian)."""
    header = tf.io.decode_raw(tf.strings.substr(image_bytes, 16, 8), tf.uint8)
    header = tf.cast(header, tf.int64)
    width = header[0] * 2**24 + header[1] * 2**16 + header[2] * 2**8 + header[3]
    height = header[4] * 2**24 + header[5] * 2**16 + header[6] * 2**8 + header[7]
    return tf.stack([height, width])


def decode_request(image_bytes, crop=augment.CROP):
    """One request image -> uint8 (crop, crop, 3), or InvalidArgumentError saying why not."""
    length = tf.strings.length(image_bytes)
    checks = [tf.debugging.assert_positive(length, message="empty image bytes")]
    with tf.control_dependencies(checks):
        is_jpeg = tf.io.is_jpeg(image_bytes)
        is_png = tf.logical_and(
            length >= 24, tf.equal(tf.strings.substr(image_bytes, 0, 8), PNG_SIGNATURE)
        )
    checks = [
        tf.debugging.Assert(
            tf.logical_or(is_jpeg, is_png), ["not a JPEG or PNG image (only these are accepted)"]
        )
    ]
    with tf.control_dependencies(checks):
        shape = tf.cond(
            is_jpeg,
            lambda: tf.cast(tf.image.extract_jpeg_shape(image_bytes)[:2], tf.int64),
            lambda: _png_shape(image_bytes),
        )
    pixels = shape[0] * shape[1]
    checks = [
        tf.debugging.assert_positive(pixels, message="image header claims zero pixels"),
        tf.debugging.Assert(
            pixels <= MAX_PIXELS,
            [f"image header claims more than {MAX_PIXELS} pixels; (height, width) =", shape],
        ),
    ]
    with tf.control_dependencies(checks):
        return augment.decode_crop(image_bytes, augment.centre_offset(crop), crop=crop)


def explain(error: tf.errors.OpError) -> str:
    """The reason inside a serving error, without TensorFlow's graph-execution preamble."""
    lines = [line.strip() for line in error.message.splitlines() if line.strip()]
    for line in lines:
        if "assertion failed:" in line:
            reason = line.split("assertion failed:", 1)[1].strip()
            return re.sub(r"^\[([^\[\]]*)\]", r"\1", reason)  # drop the message's brackets
    boiler = ("Graph execution error", "Detected at node", "File ", "[[", "{{")
    useful = [line for line in lines if not line.startswith(boiler)]
    return (useful or lines or ["unknown error"])[0]


def _write_lines(directory, name, lines):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(line.replace("\n", " ") + "\n" for line in lines)
    return path


class ServingModule:
    """The serving graph around a trained (unpinned) Keras model: `serve_bytes` runs it in
    this process, `save` writes it as a SavedModel with the signatures `serving_default`
    (image bytes), `predict_images` (crops) and, with features=True, `features` (encoded
    images in, fc7's activations, both towers, 4096, out)."""

    def __init__(self, model, class_ids, class_names, features: bool = False):
        if len(class_ids) != model.output.shape[-1] or len(class_names) != len(class_ids):
            raise ValueError(
                f"{len(class_ids)} class ids and {len(class_names)} names for a model with "
                f"{model.output.shape[-1]} outputs"
            )
        self.model = model
        # Assets: copied into the SavedModel's assets/ when it is saved and read back when
        # it is loaded. Their source files live until `close()` (or the module's end).
        self._asset_dir = tempfile.TemporaryDirectory(prefix="alexnet_classes_")
        directory = self._asset_dir.name
        self.class_ids_file = tf.saved_model.Asset(
            _write_lines(directory, ExportBase.CLASS_IDS, class_ids)
        )
        self.class_names_file = tf.saved_model.Asset(
            _write_lines(directory, ExportBase.CLASS_NAMES, class_names)
        )
        self.ids_table = self._table(self.class_ids_file)
        self.names_table = self._table(self.class_names_file)
        self.image_size = int(model.input.shape[1])  # 224, or 227 for bvlc_alexnet
        size = self.image_size
        image_bytes = tf.TensorSpec([None], tf.string, name="image_bytes")
        # name -> (function, its input spec): the SavedModel's signatures, in order.
        self.endpoints = {
            "serving_default": (self._serve_bytes, image_bytes),
            "predict_images": (
                self._serve_images,
                tf.TensorSpec([None, size, size, 3], tf.float32, name="images"),
            ),
        }
        if features:
            self.fc7 = feature_extractor(model, "fc7")
            self.endpoints["features"] = (self._serve_features, image_bytes)
        self.serve_bytes = tf.function(self._serve_bytes, input_signature=[image_bytes])

    @staticmethod
    def _table(asset):
        init = tf.lookup.TextFileInitializer(
            asset,
            tf.int64,
            tf.lookup.TextFileIndex.LINE_NUMBER,
            tf.string,
            tf.lookup.TextFileIndex.WHOLE_LINE,
        )
        return tf.lookup.StaticHashTable(init, default_value="")

    def _outputs(self, images):
        logits = self.model(images, training=False)
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        k = min(TOP_K, probabilities.shape[-1])
        top = tf.math.top_k(probabilities, k=k)
        classes = tf.cast(top.indices, tf.int64)
        return {
            "probabilities": probabilities,
            "classes": top.indices,
            "scores": top.values,
            "class_ids": self.ids_table.lookup(classes),
            "class_names": self.names_table.lookup(classes),
        }

    def _decode(self, image_bytes):
        size = self.image_size
        return tf.map_fn(
            lambda b: decode_request(b, size),
            image_bytes,
            fn_output_signature=tf.TensorSpec((size, size, 3), tf.uint8),
        )

    def _serve_bytes(self, image_bytes):
        """serving_default: encoded JPEG/PNG images (a batch of any size)."""
        return self._outputs(self._decode(image_bytes))

    def _serve_features(self, image_bytes):
        """features: encoded JPEG/PNG images -> fc7, float32 (B, 4096)."""
        features = self.fc7(self._decode(image_bytes), training=False)
        return {"features": tf.cast(features, tf.float32)}

    def _serve_images(self, images):
        """predict_images: RGB crops of the model's size, 0-255 floats (mean not
        subtracted)."""
        return self._outputs(images)

    def save(self, path: str) -> None:
        """Write the SavedModel to `path` (a new directory) through Keras' ExportArchive.

        Not `tf.saved_model.save` of a tf.Module holding the model: that SavedModel loads
        in TF2's object loader but fails in the session loader TF Serving uses ("Could not
        find variable conv5b/bias"), since the signatures capture the tf.Variables inside
        Keras 3's variables and the MetaGraph's saver restores only what the object graph
        tracks, the Keras wrappers. ExportArchive tracks the variables each endpoint
        captures, so the saver restores them (`inference.session` runs the check)."""
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        for resource in (self.class_ids_file, self.class_names_file, self.ids_table,
                         self.names_table):  # fmt: skip
            archive.track(resource)
        for name, (fn, spec) in self.endpoints.items():
            archive.add_endpoint(name, fn, input_signature=[spec])
        archive.write_out(path, verbose=False)

    def close(self) -> None:
        """Remove the class lists' source files (the lookup tables hold their contents;
        a SavedModel saved before has its own copies)."""
        self._asset_dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
