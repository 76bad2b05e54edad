"""A trained model as a SavedModel for TF Serving (the library behind
`python -m alexnet_tf.export`).

Writes BASE/NAME/<N>/ (default N: one more than the highest version there), the layout
TF Serving watches: saved_model.pb, variables/, assets/ (class_ids.txt,
class_names.txt) and assets.extra/tf_serving_warmup_requests. Signatures:
`serving_default` (encoded JPEG/PNG bytes, input `image_bytes`) and `predict_images`
(the model's crops, RGB 0-255 floats); with features=True also `features` (the same bytes
in, fc7's 4096 activations out, for retrieval as in the paper's Figure 4). The export has
no device pinning: it serves on one CPU or one GPU. It is written under a temporary name,
loaded there as TF Serving loads it (a session, `inference.session`) with its warm-up
requests replayed, and renamed when that passes, so TF Serving never sees a half-written
version nor one its loader cannot run.
"""

from __future__ import annotations

import io
import os

import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from alexnet_tf.core.rundir import ExportBase
from alexnet_tf.inference import saving
from alexnet_tf.inference.serving import ServingModule, explain
from alexnet_tf.inference.session import SessionModel

EXPORT_POLICIES = ("float32", "mixed_bfloat16")


class ExportError(ValueError):
    """An export that cannot be made as asked; the message names the argument."""


def _warmup_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (128, 100, 80)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def write_warmup(path: str, model_name: str, batch_sizes=(1, 8)) -> None:
    """TF Serving's warm-up file: PredictionLog records of serving_default requests."""
    jpeg = _warmup_jpeg()
    with tf.io.TFRecordWriter(path) as writer:
        for n in batch_sizes:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
            )
            request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto([jpeg] * n, tf.string))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def export(
    model_dir: str,
    export_dir: str,
    version: int | None = None,
    checkpoint: str = "best",
    model_name: str | None = None,
    policy: str = "float32",
    features: bool = False,
) -> str:
    """Write the SavedModel; returns its version directory. `policy`: float32 (what every
    TF Serving build runs) or mixed_bfloat16 (for servers with bfloat16 units); either
    way the signatures take the same inputs and return float32 probabilities.
    features=True adds the `features` signature (image bytes in, fc7 out)."""
    if policy not in EXPORT_POLICIES:
        raise ExportError(
            f"--mixed_precision must be one of {', '.join(EXPORT_POLICIES)}. Received: {policy}"
        )
    base = ExportBase(export_dir)
    path = saving.resolve_checkpoint(model_dir, checkpoint)
    try:
        version, final = base.claim(version)
    except ValueError as e:
        raise ExportError(str(e)) from None
    model = saving.load_for_inference(path, policy)
    ids, names = saving.read_class_list(model_dir, model.output.shape[-1])
    name = model_name or os.path.basename(os.path.normpath(export_dir))
    with base.writing(version) as tmp:
        write_saved_model(model, ids, names, tmp, name, features)
    return final


def write_saved_model(model, class_ids, class_names, path, model_name, features=False):
    """The serving SavedModel of `model` in the new directory `path`, with its warm-up
    requests (named for `model_name`), then loaded as TF Serving loads it with those
    requests replayed: an ExportError if that fails."""
    with ServingModule(model, class_ids, class_names, features) as module:
        module.save(path)
    os.makedirs(os.path.join(path, ExportBase.ASSETS_EXTRA))
    warmup = os.path.join(path, ExportBase.ASSETS_EXTRA, ExportBase.WARMUP)
    write_warmup(warmup, model_name)
    try:
        with SessionModel(path) as session:
            session.replay_warmup(warmup)
    except (tf.errors.OpError, ValueError, KeyError) as e:
        reason = explain(e) if isinstance(e, tf.errors.OpError) else str(e)
        raise ExportError(
            "The SavedModel does not run in the session loader TF Serving uses "
            f"(tf.compat.v1.saved_model.loader.load, then its warm-up requests): {reason}. "
            "No version was put in place."
        ) from None
