"""A trained model as an ONNX file, for onnxruntime, TensorRT (`trtexec --onnx=`) and
Triton's onnxruntime backend (the library behind `export --format=onnx` and
`evaluate --onnx`).

The file takes what the Keras model takes: `images`, float32 RGB 0-255, (B, S, S, 3) for
any batch B (S = 224, or 227 for an imported bvlc_alexnet; the mean subtraction is
inside); it returns `probabilities`, float32 (B, classes), and `classes`, int32 (B, 5),
the top five. The graph is written by Keras' own exporter (`Model.export(format="onnx")`,
through tf2onnx), at opset OPSET. Before a version is put in place, onnx's checker reads
it and onnxruntime, its reader in the field, runs it against the Keras model. float32
only: ONNX runtimes choose their own precision (TensorRT builds fp16 or int8 engines
from a float32 graph), and a bfloat16 Keras graph does not convert.
"""

from __future__ import annotations

import json
import os

import numpy as np

from alexnet_tf.core.rundir import ExportBase
from alexnet_tf.inference import saving

FILE = "model.onnx"
OPSET = 17
TOP_K = 5
TOLERANCE = 1e-4  # onnxruntime's probabilities against Keras', float32 rounding


class OnnxError(ValueError):
    """An ONNX export or evaluation that cannot be made as asked (names the argument)."""


def _needs(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OnnxError(
            f'--format=onnx needs the `{module}` package: pip install "alexnet_tf[onnx]" '
            '(or pip install -e ".[onnx]" in a checkout).'
        ) from None


def serving_model(model):
    """`model` (an unpinned float32 AlexNet) with the ONNX file's outputs: probabilities,
    and the top TOP_K class indices."""
    import keras

    size = int(model.input.shape[1])
    images = keras.Input((size, size, 3), name="images")
    probabilities = keras.layers.Softmax(name="probabilities", dtype="float32")(model(images))
    k = min(TOP_K, int(model.output.shape[-1]))
    classes = keras.layers.Lambda(lambda p: keras.ops.top_k(p, k)[1], name="classes")(probabilities)
    return keras.Model(images, {"probabilities": probabilities, "classes": classes})


def write_onnx(model, path: str) -> None:
    """The ONNX file of `model` at `path`, checked by onnx's checker and run by onnxruntime
    against the Keras model on random images at batch 1 and 3: an OnnxError if either
    refuses it or the probabilities differ by more than TOLERANCE."""
    onnx = _needs("onnx")
    _needs("tf2onnx")
    wrapped = serving_model(model)
    size = int(model.input.shape[1])
    probe = np.random.default_rng(0).uniform(0, 255, (3, size, size, 3)).astype(np.float32)
    wrapped(probe[:1])  # Keras exports only a model that has been called
    wrapped.export(path, format="onnx", verbose=False, opset_version=OPSET)
    try:
        onnx.checker.check_model(path, full_check=True)
    except onnx.checker.ValidationError as e:
        raise OnnxError(f"onnx's checker refuses the exported graph: {e}") from None
    runner = Runner(path)
    for images in (probe[:1], probe):
        want = np.asarray(wrapped(images)["probabilities"])
        got = runner(images)
        error = float(np.max(np.abs(got - want)))
        if error > TOLERANCE:
            raise OnnxError(
                f"onnxruntime's probabilities differ from the Keras model's by {error:.2e} "
                f"(more than {TOLERANCE}) at batch {len(images)}; nothing was written."
            )


def export_onnx(
    model_dir: str,
    export_dir: str,
    version: int | None = None,
    checkpoint: str = "best",
) -> str:
    """Write EXPORT_DIR/<N>/model.onnx and classes.json (the next free N, as the other
    exports number theirs), under a temporary name renamed when checked; returns the
    version directory."""
    base = ExportBase(export_dir)
    path = saving.resolve_checkpoint(model_dir, checkpoint)
    try:
        version, final = base.claim(version)
    except ValueError as e:
        raise OnnxError(str(e)) from None
    for module in ("onnx", "tf2onnx", "onnxruntime"):  # before any work
        _needs(module)
    model = saving.load_for_inference(path, "float32")
    ids, names = saving.read_class_list(model_dir, model.output.shape[-1])
    with base.writing(version) as tmp:
        write_onnx(model, os.path.join(tmp, FILE))
        with open(os.path.join(tmp, "classes.json"), "w", encoding="utf-8") as f:
            record = {"classes": ids, "names": names, "opset": OPSET}
            json.dump({**record, "source": os.path.abspath(path)}, f, indent=1)
    return final


class Runner:
    """Runs an ONNX file from `export --format=onnx` in onnxruntime on batches of crops:
    probabilities (B, classes). The interface of `tflite.Runner`, so evaluation and the
    serving benchmark take either."""

    interpreter_name = "onnxruntime"
    quantize = "none"

    def __init__(self, path: str, num_threads: int | None = None):
        if not os.path.isfile(path):
            raise OnnxError(f"--onnx={path} is not a file.")
        ort = _needs("onnxruntime")
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        try:
            self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own classes for a bad file
            raise OnnxError(f"--onnx={path}: onnxruntime cannot load it: {e}") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if "images" not in inputs or "probabilities" not in outputs:
            raise OnnxError(
                f"--onnx={path} is not a file written by export --format=onnx (inputs "
                f"{sorted(inputs)}, outputs {sorted(outputs)})."
            )
        self.image_size = int(inputs["images"].shape[1])

    def __call__(self, images) -> np.ndarray:
        images = np.asarray(images, np.float32)
        return self.session.run(["probabilities"], {"images": images})[0]
