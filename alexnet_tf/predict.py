"""Top-5 predictions for image files.

    python -m alexnet_tf.predict --model=exports/alexnet cat.jpg dog.png [--json]

--model: an export (BASE/NAME: its highest version; or a version directory), or a
training run's model_dir (its best.keras). Each file goes through the same serving graph
as TF Serving. A file that is not a readable JPEG or PNG reports its error and the others
go on; the exit status is 1 when any file failed.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """The command line's flags (only when run as a program: flags stay at the edge)."""
    flags.DEFINE_string("model", None, "Export directory, version directory, or model_dir.")
    flags.DEFINE_boolean("json", False, "One JSON document on stdout instead of text.")
    flags.DEFINE_string("checkpoint", "best", "For a model_dir: best | latest | a .keras path.")


def load_predictor(path: str, checkpoint: str = "best"):
    """A function encoded-image bytes (a 1-D string tensor) -> serving outputs."""
    import tensorflow as tf

    if not os.path.isdir(path):
        raise FileNotFoundError(f"--model={path} is not a directory.")
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        versions = [
            d
            for d in os.listdir(path)
            if d.isdigit() and os.path.exists(os.path.join(path, d, "saved_model.pb"))
        ]
        if versions:
            path = os.path.join(path, max(versions, key=int))
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        fn = tf.saved_model.load(path).signatures["serving_default"]
        return lambda image_bytes: fn(image_bytes=image_bytes)
    from alexnet_tf import saving
    from alexnet_tf.serving import ServingModule

    model_file = saving.resolve_checkpoint(path, checkpoint)
    model = saving.load_for_inference(model_file)
    module = ServingModule(model, *saving.read_class_list(path, model.output.shape[-1]))
    return module.serve_bytes


def predict_files(predictor, paths):
    """[{"file", "predictions": [{"class", "class_id", "name", "probability"}]} or
    {"file", "error"}] in the order given."""
    import tensorflow as tf

    from alexnet_tf.serving import explain

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


def main(argv):
    paths = argv[1:]
    if not FLAGS.model or not paths:
        print("predict: error: give --model=DIR and at least one image file.", file=sys.stderr)
        sys.exit(2)
    try:
        predictor = load_predictor(FLAGS.model, FLAGS.checkpoint)
    except (FileNotFoundError, ValueError) as e:
        print(f"predict: error: {e}", file=sys.stderr)
        sys.exit(2)
    results = predict_files(predictor, paths)
    if FLAGS.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" in r:
                print(f"{r['file']}: error: {r['error']}", file=sys.stderr)
                continue
            print(r["file"])
            for rank, p in enumerate(r["predictions"], 1):
                print(f"  {rank}. {p['probability']:7.2%}  {p['class_id']}  {p['name']}")
    sys.exit(1 if any("error" in r for r in results) else 0)


if __name__ == "__main__":
    define_flags()
    app.run(main)
