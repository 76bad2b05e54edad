"""Export a trained model as a SavedModel for TF Serving.

    python -m alexnet_tf.export --model_dir=runs/paper --export_dir=exports/alexnet [--version=N]

Writes exports/alexnet/<N>/ (default N: one more than the highest version there), the
layout TF Serving watches: saved_model.pb, variables/, assets/ (class_ids.txt,
class_names.txt) and assets.extra/tf_serving_warmup_requests. Signatures:
`serving_default` (encoded JPEG/PNG bytes, input `image_bytes`) and `predict_images`
(224x224 RGB crops, 0-255 floats). The export has no device pinning: it serves on one
CPU or one GPU. It is written under a temporary name and renamed when complete, so TF
Serving never sees a half-written version.
"""

from __future__ import annotations

import io
import os
import shutil
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """The command line's flags (only when run as a program: flags stay at the edge)."""
    flags.DEFINE_string("model_dir", None, "The training run's --model_dir.")
    flags.DEFINE_string("export_dir", None, "BASE/NAME: versions go in BASE/NAME/<N>/.")
    flags.DEFINE_integer("version", None, "Version number (default: the next one).")
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_string("model_name", None, "Name for the warm-up requests (default: NAME).")


WARMUP_FILE = "tf_serving_warmup_requests"


def next_version(export_dir: str) -> int:
    versions = (
        [int(d) for d in os.listdir(export_dir) if d.isdigit()] if os.path.isdir(export_dir) else []
    )
    return max(versions, default=0) + 1


def _warmup_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (128, 100, 80)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def write_warmup(path: str, model_name: str, batch_sizes=(1, 8)) -> None:
    """TF Serving's warm-up file: PredictionLog records of serving_default requests."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

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
) -> str:
    """Write the SavedModel; returns its version directory."""
    import tensorflow as tf

    from alexnet_tf import saving
    from alexnet_tf.serving import ServingModule

    path = saving.resolve_checkpoint(model_dir, checkpoint)
    version = version or next_version(export_dir)
    if version < 1:
        raise ValueError(f"--version must be >= 1. Received: {version}")
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(
            f"{final} exists already: TF Serving versions are never overwritten; give "
            f"another --version (next free: {next_version(export_dir)})."
        )
    model = saving.load_for_inference(path)
    ids, names = saving.read_class_list(model_dir, model.output.shape[-1])
    module = ServingModule(model, ids, names)
    os.makedirs(export_dir, exist_ok=True)
    tmp = os.path.join(export_dir, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        os.makedirs(os.path.join(tmp, "assets.extra"))
        name = model_name or os.path.basename(os.path.normpath(export_dir))
        write_warmup(os.path.join(tmp, "assets.extra", WARMUP_FILE), name)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # e.g. a full disk: no half version left
        raise
    return final


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name in ("model_dir", "export_dir"):
        if not FLAGS[name].value:
            print(f"export: error: --{name} is required.", file=sys.stderr)
            sys.exit(2)
    if not os.path.isdir(FLAGS.model_dir):
        print(f"export: error: --model_dir={FLAGS.model_dir} does not exist.", file=sys.stderr)
        sys.exit(2)
    try:
        final = export(
            FLAGS.model_dir, FLAGS.export_dir, FLAGS.version, FLAGS.checkpoint, FLAGS.model_name
        )
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        print(f"export: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"exported {final}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
