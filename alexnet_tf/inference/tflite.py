"""A trained model as a TFLite flatbuffer, float32 or quantized after training, and the
interpreter that runs it (the library behind `export --format=tflite` and
`evaluate --tflite`).

The flatbuffer's input is a batch of RGB crops of the model's size, float32 0-255 (the
mean subtraction is inside), since TFLite has no JPEG decoder among its builtin ops; its
output is float32 probabilities. `--quantize`:

- `none`: float32, the Keras model's arithmetic.
- `float16`: weights stored as float16 (half the file), computed in float32.
- `int8`: weights and activations int8, calibrated on training images (their centre
  crops, the evaluation preprocessing); the LRN's ops stay float32 (`_int8_with_float_lrn`),
  and the input and output stay float32.

The interpreter is `ai-edge-litert`'s (the `tflite` extra) where it is installed, else
TensorFlow's own `tf.lite.Interpreter`; `interpreter_name()` says which ran.
"""

from __future__ import annotations

import itertools
import json
import os
import re

import numpy as np
import tensorflow as tf

from alexnet_tf.core import constants
from alexnet_tf.core.keras_file import saved_config
from alexnet_tf.core.rundir import ExportBase
from alexnet_tf.inference import saving

QUANTIZE = ("none", "float16", "int8")
CALIBRATION_IMAGES = 300  # int8: training images the activations' ranges are taken from
MIN_CALIBRATION = 200
FILE = "model.tflite"


class TFLiteError(ValueError):
    """A TFLite export or evaluation that cannot be made as asked (names the argument)."""


def _module(model):
    size = int(model.input.shape[1])

    class Probabilities(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)])
        def __call__(self, images):
            logits = model(images, training=False)
            return {"probabilities": tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)}

    return Probabilities()


def convert(model, quantize: str = "none", calibration=None) -> bytes:
    """The flatbuffer of `model` (an unpinned float32 AlexNet). calibration: for int8, an
    iterable of (S, S, 3) images (uint8 or float 0-255)."""
    if quantize not in QUANTIZE:
        raise TFLiteError(f"--quantize must be one of {', '.join(QUANTIZE)}. Received: {quantize}")
    module = _module(model)
    concrete = module.__call__.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if calibration is None:
            raise TFLiteError("--quantize=int8 needs calibration images")
        images = [np.asarray(x, np.float32)[None] for x in calibration]

        def representative():
            for x in images:
                yield [x]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        return _int8_with_float_lrn(model, module, converter, representative)
    return converter.convert()


def _lrn_nodes(model, module) -> list[str]:
    """The names of the ops the LRN layers become in `model`'s float32 flatbuffer."""
    from alexnet_tf.model.layers import LocalResponseNorm

    concrete = module.__call__.get_concrete_function()
    flatbuffer = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module).convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    lrn = [layer.name for layer in model.layers if isinstance(layer, LocalResponseNorm)]
    names = [d["name"] for d in interpreter.get_tensor_details()]
    return [n for n in names if any(re.search(rf"/{re.escape(x)}(_\d+)?/", n) for x in lrn)]


def _int8_with_float_lrn(model, module, converter, representative) -> bytes:
    """int8 everywhere but the LRN, whose ops stay float32. Quantized, the LRN's square,
    rsqrt, sqrt and products become int8 ops that XNNPACK does not take; they split the
    graph between XNNPACK and TFLite's own kernels, and int8 ran slower than float32.
    Left in float32, XNNPACK runs them too, and int8 runs several times faster than
    float32 (docs/performance.md). The LRN's precision is float32's, as in Keras."""
    nodes = _lrn_nodes(model, module)
    if not nodes:
        return converter.convert()
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=lambda: itertools.islice(representative(), 1),
        debug_options=options,
    )
    return debugger.get_nondebug_quantized_model()


def calibration_images(data_dir, tfds_name=None, count=CALIBRATION_IMAGES, size=224):
    """`count` centre crops of the training split (the evaluation preprocessing)."""
    from alexnet_tf import data

    ds = data.eval_dataset(data_dir, 32, 1, "train", image_size=size, tfds_name=tfds_name)
    images = []
    for batch, _ in ds:
        images.extend(batch.numpy())
        if len(images) >= count:
            break
    if len(images) < min(count, MIN_CALIBRATION):
        raise TFLiteError(
            f"--quantize=int8 calibrates on {MIN_CALIBRATION} to {CALIBRATION_IMAGES} training "
            f"images; {data_dir or tfds_name} has {len(images)}: give --data_dir with more."
        )
    return images[:count]


def export_tflite(
    model_dir: str,
    export_dir: str,
    quantize: str = "none",
    data_dir: str | None = None,
    version: int | None = None,
    checkpoint: str = "best",
) -> str:
    """Write EXPORT_DIR/<N>/model.tflite and classes.json (the next free N, as SavedModel
    exports number theirs), under a temporary name renamed when complete; returns the
    version directory. int8 calibrates on data_dir's training images (default: the run's
    data, as evaluate finds it), and refuses to start without them."""
    if quantize not in QUANTIZE:
        raise TFLiteError(f"--quantize must be one of {', '.join(QUANTIZE)}. Received: {quantize}")
    base = ExportBase(export_dir)
    path = saving.resolve_checkpoint(model_dir, checkpoint)
    try:
        version, final = base.claim(version)
    except ValueError as e:
        raise TFLiteError(str(e)) from None
    tfds_name = None
    if quantize == "int8" and not data_dir:
        try:
            data_dir, tfds_name = saving.run_data_source(model_dir)
        except FileNotFoundError:
            raise TFLiteError(
                f"--quantize=int8 calibrates on training images, and {model_dir} names no "
                "training data: pass --data_dir."
            ) from None
    calibration = None
    if quantize == "int8":  # before the model: no images, no work
        size = saved_config(path).get("image_size", constants.CROP)
        calibration = calibration_images(data_dir, tfds_name, size=size)
    model = saving.load_for_inference(path, "float32")
    flatbuffer = convert(model, quantize, calibration)
    ids, names = saving.read_class_list(model_dir, model.output.shape[-1])
    with base.writing(version) as tmp:
        with open(os.path.join(tmp, FILE), "wb") as f:
            f.write(flatbuffer)
        with open(os.path.join(tmp, "classes.json"), "w", encoding="utf-8") as f:
            record = {"classes": ids, "names": names, "quantize": quantize}
            json.dump({**record, "source": os.path.abspath(path)}, f, indent=1)
    return final


INTERPRETERS = ("ai_edge_litert", "tf.lite")


def interpreter_name() -> str:
    """ai_edge_litert where it is installed, else tf.lite."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401

        return "ai_edge_litert"
    except ImportError:
        return "tf.lite"


class Runner:
    """Runs a .tflite file on batches of crops: probabilities (B, classes). interpreter:
    one of INTERPRETERS (default: interpreter_name())."""

    def __init__(self, path: str, num_threads: int | None = None, interpreter: str | None = None):
        if not os.path.isfile(path):
            raise TFLiteError(f"--tflite={path} is not a file.")
        self.interpreter_name = interpreter or interpreter_name()
        if self.interpreter_name not in INTERPRETERS:
            raise TFLiteError(
                f"interpreter must be one of {', '.join(INTERPRETERS)}. Received: {interpreter}"
            )
        if self.interpreter_name == "ai_edge_litert":
            from ai_edge_litert.interpreter import Interpreter
        else:
            Interpreter = tf.lite.Interpreter  # noqa: N806
        self.interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.image_size = int(self.input["shape"][1])
        self.batch = 0
        self.quantize = _quantization(self.interpreter)

    def __call__(self, images) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if len(images) != self.batch:
            self.interpreter.resize_tensor_input(self.input["index"], images.shape)
            self.interpreter.allocate_tensors()
            self.batch = len(images)
        self.interpreter.set_tensor(self.input["index"], images)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).copy()


def _quantization(interpreter) -> str:
    """none, float16 or int8, from the tensors the flatbuffer holds."""
    dtypes = {d["dtype"] for d in interpreter.get_tensor_details()}
    if np.int8 in dtypes:
        return "int8"
    return "float16" if np.float16 in dtypes else "none"
