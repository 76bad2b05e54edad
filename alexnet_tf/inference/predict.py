"""Top-5 predictions for image files (the library behind `python -m alexnet_tf.predict`).

A model is an export (BASE/NAME: its highest version; or a version directory) or a
training run's model_dir (its best.keras). Each file goes through the same serving graph
as TF Serving. A file that is not a readable JPEG or PNG gets its error and the others go
on.
"""

from __future__ import annotations

import os

import tensorflow as tf

from alexnet_tf.core.rundir import ExportBase
from alexnet_tf.inference import saving
from alexnet_tf.inference.serving import ServingModule, explain


def load_predictor(path: str, checkpoint: str = "best", policy: str = "float32"):
    """A function encoded-image bytes (a 1-D string tensor) -> serving outputs. `policy`
    (a Keras dtype policy) applies to a model_dir's .keras file; an export computes in
    the precision it was exported in."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"--model={path} is not a directory.")
    versions = ExportBase(path).versions()
    if not ExportBase.is_version_dir(path) and versions:
        path = ExportBase(path).version(versions[-1])
    if ExportBase.is_version_dir(path):
        fn = tf.saved_model.load(path).signatures["serving_default"]
        return lambda image_bytes: fn(image_bytes=image_bytes)
    model_file = saving.resolve_checkpoint(path, checkpoint)
    model = saving.load_for_inference(model_file, policy)
    module = ServingModule(model, *saving.read_class_list(path, model.output.shape[-1]))
    return module.serve_bytes


def predict_files(predictor, paths):
    """[{"file", "predictions": [{"class", "class_id", "name", "probability"}]} or
    {"file", "error"}] in the order given."""
    results = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
            out = predictor(tf.constant([data]))
        except OSError as e:
            results.append({"file": path, "error": f"cannot read: {e.strerror}"})
            continue
        except tf.errors.InvalidArgumentError as e:
            results.append({"file": path, "error": explain(e)})
            continue
        results.append(
            {
                "file": path,
                "predictions": [
                    {
                        "class": int(c),
                        "class_id": i.decode(),
                        "name": n.decode(),
                        "probability": float(p),
                    }
                    for c, i, n, p in zip(
                        out["classes"][0].numpy(),
                        out["class_ids"][0].numpy(),
                        out["class_names"][0].numpy(),
                        out["scores"][0].numpy(),
                        strict=True,
                    )
                ],
            }
        )
    return results
