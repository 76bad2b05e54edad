"""Classic baselines beside the network: what a sceptic fits first, on the same split.

`tools/baseline.py` shrinks every image of the TFRecords' train and validation splits to a
small square (32x32 by default, through `data.small_images`, the central square resized
with antialiasing) and fits scikit-learn's models on the raw pixels scaled to [0, 1]:

- `logistic`: multinomial logistic regression on standardised pixels (lbfgs, L2, C=1).
- `svm`: an RBF support-vector machine (gamma="scale"), its C chosen from SVM_C by the
  error on a held-out fifth of the training images, then refitted on all of them.

Where the three channels are equal everywhere (a grayscale set stored as RGB), one is kept:
the same models, a third of the cost. Each model's validation top-1 error is reported
beside the network's, read from a run's `eval_*.json`. Needs scikit-learn, the `baseline`
extra: `pip install -e ".[baseline]"`.
"""

from __future__ import annotations

import glob
import json
import os
import time
import warnings

import numpy as np

MODELS = ("logistic", "svm")
SVM_C = (1.0, 10.0)
HOLDOUT = 0.2  # of the training images, for choosing the SVM's C


def _sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ImportError('the baselines need scikit-learn: pip install -e ".[baseline]"') from None


def features(images: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, D) float32 in [0, 1]; one channel when all three agree."""
    x = images.astype(np.float32) / 255.0
    if (images[..., :1] == images).all():
        x = x[..., :1]
    return x.reshape(len(x), -1)


def fit_logistic(x_train, y_train, seed: int = 0):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_train, y_train)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, {"C": 1.0, "converged": converged}


def fit_svm(x_train, y_train, seed: int = 0):
    from sklearn.svm import SVC

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y_train))
    n_hold = int(len(order) * HOLDOUT)
    hold, fit = order[:n_hold], order[n_hold:]
    holdout_error = {}
    if n_hold and len(np.unique(y_train[fit])) > 1:
        for c in SVM_C:
            candidate = SVC(C=c, gamma="scale").fit(x_train[fit], y_train[fit])
            holdout_error[c] = float(np.mean(candidate.predict(x_train[hold]) != y_train[hold]))
        best = min(SVM_C, key=lambda c: (holdout_error[c], c))
    else:
        best = SVM_C[0]
    model = SVC(C=best, gamma="scale").fit(x_train, y_train)
    return model, {"C": best, "holdout_error": {str(c): e for c, e in holdout_error.items()}}


FITS = {"logistic": fit_logistic, "svm": fit_svm}


def network_results(model_dir: str) -> list[dict]:
    """The run's evaluations (MODEL_DIR/eval_validation_*.json): file, views, errors."""
    found = []
    for path in sorted(glob.glob(os.path.join(model_dir, "eval_validation_*.json"))):
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        found.append(
            {
                "file": os.path.basename(path),
                "crops": result.get("crops"),
                "views": result.get("views"),
                "top1_error": result["top1_error"],
                "num_examples": result.get("num_examples"),
            }
        )
    return found


def run(
    data_dir: str,
    size: int = 32,
    models=MODELS,
    max_train: int = 0,
    seed: int = 0,
    say=print,
) -> dict:
    """Fit each of `models` on the train split's small images; their validation errors."""
    _sklearn()
    from alexnet_tf import data

    unknown = [m for m in models if m not in FITS]
    if unknown:
        raise ValueError(f"models must be among {', '.join(MODELS)}. Received: {unknown}")
    start = time.monotonic()
    train_images, y_train = data.small_images(data_dir, size, "train", limit=max_train)
    val_images, y_val = data.small_images(data_dir, size, "validation")
    x_train, x_val = features(train_images), features(val_images)
    say(
        f"{len(y_train)} train and {len(y_val)} validation images at {size}x{size}, "
        f"{x_train.shape[1]} features ({time.monotonic() - start:.1f} s to read)"
    )
    report = {
        "data_dir": data_dir,
        "size": size,
        "num_train": int(len(y_train)),
        "num_validation": int(len(y_val)),
        "features": int(x_train.shape[1]),
        "models": {},
    }
    for name in models:
        start = time.monotonic()
        model, params = FITS[name](x_train, y_train, seed)
        error = float(np.mean(model.predict(x_val) != y_val))
        seconds = time.monotonic() - start
        report["models"][name] = {"top1_error": error, "seconds": round(seconds, 1), **params}
        say(f"{name}: validation top-1 error {error:.4f} ({seconds:.1f} s; {params})")
    return report
