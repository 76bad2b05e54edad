"""Features of image files through a trained network (the library behind
`python -m alexnet_tf.features`): the serving graph's preprocessing, then the network up
to fc7, fc6 or pool5 (`model.features.feature_extractor`)."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from alexnet_tf.inference import saving
from alexnet_tf.inference.serving import decode_request, explain
from alexnet_tf.model.features import feature_extractor


def _decoded(path: str, decode):
    """(uint8 (size, size, 3), None) or (None, the reason the file cannot be used)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        return decode(tf.constant(data)).numpy(), None
    except OSError as e:
        return None, f"cannot read: {e.strerror}"
    except tf.errors.InvalidArgumentError as e:
        return None, explain(e)


def write_features(
    model_dir: str,
    files: list[str],
    out: str,
    layer: str = "fc7",
    batch_size: int = 32,
    checkpoint: str = "best",
    policy: str = "float32",
    progress: bool = True,
) -> dict:
    """Write out (.npz): features (N, D) float32, paths (N,), layer, failed (M, 2).
    Returns {"count", "width", "failed": [(path, reason)]}."""
    model = saving.load_for_inference(saving.resolve_checkpoint(model_dir, checkpoint), policy)
    extractor = feature_extractor(model, layer)
    size = int(model.input.shape[1])
    forward = tf.function(lambda x: tf.cast(extractor(x, training=False), tf.float32))
    # In a graph, as the serving signatures run it: a bad file's reason reads the same.
    decode = tf.function(lambda b: decode_request(b, size))
    features, paths, failed, batch = [], [], [], []

    def flush():
        if batch:
            features.append(forward(np.stack([image for _, image in batch])).numpy())
            paths.extend(path for path, _ in batch)
            batch.clear()

    for path in tqdm(files, unit="img", disable=not progress):
        image, reason = _decoded(path, decode)
        if image is None:
            failed.append((path, reason))
            continue
        batch.append((path, image))
        if len(batch) == batch_size:
            flush()
    flush()
    width = int(np.prod(extractor.output.shape[1:]))
    stacked = (
        np.concatenate(features).reshape(len(paths), -1)
        if features
        else np.zeros((0, width), np.float32)
    )
    tmp = out[: -len(".npz")] + ".partial.npz"
    np.savez(
        tmp,
        features=stacked,
        paths=np.array(paths, dtype=str),
        layer=np.array(layer),
        failed=np.array(failed, dtype=str).reshape(-1, 2),
    )
    os.replace(tmp, out)
    return {"count": len(paths), "width": width, "failed": failed}
