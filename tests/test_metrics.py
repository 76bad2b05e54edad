"""Top-k error against an independent brute force over tie-breaking orders."""

import itertools

import numpy as np
import pytest

from alexnet_tf.model.metrics import TopKError

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick


def _expected_error_brute_force(labels, scores, k):
    """Average, over every way of breaking ties (all permutations used as tie-break
    keys), of whether the label misses the top k; then averaged over examples."""
    errors = []
    for label, row in zip(labels, scores, strict=True):
        n = len(row)
        misses = [
            label not in sorted(range(n), key=lambda c: (-row[c], perm[c]))[:k]
            for perm in itertools.permutations(range(n))
        ]
        errors.append(np.mean(misses))
    return float(np.mean(errors))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_error_streams_and_handles_ties(k):
    rng = np.random.default_rng(k)
    # 6 classes, integer scores in a small range: many ties, including at the boundary.
    scores = rng.integers(0, 3, (40, 6)).astype(np.float32)
    labels = rng.integers(0, 6, 40)
    metric = TopKError(k)
    for start in range(0, 40, 16):  # batches of 16, 16, 8: streaming
        metric.update_state(labels[start : start + 16], scores[start : start + 16])
    want = _expected_error_brute_force(labels, scores, k)
    np.testing.assert_allclose(float(metric.result()), want, rtol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 1.0  # nothing seen: no credit


def test_top_k_error_on_random_logits_equals_numpy_ranking():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 1000)).astype(np.float32)
    labels = rng.integers(0, 1000, 300)
    rank = (logits > logits[np.arange(300), labels][:, None]).sum(1)  # no ties here
    for k in (1, 5):
        metric = TopKError(k)
        metric.update_state(labels, logits)
        np.testing.assert_allclose(float(metric.result()), np.mean(rank >= k), rtol=1e-6)


def test_constant_scores_are_not_credited():
    metric = TopKError(1)
    metric.update_state(np.array([0, 1, 2, 3]), np.zeros((4, 4), np.float32))
    np.testing.assert_allclose(float(metric.result()), 0.75)  # chance level, not 0


def test_averaged_crop_probabilities_and_sample_weights():
    probs = np.array([[[0.6, 0.4], [0.3, 0.7]], [[0.9, 0.1], [0.8, 0.2]]], np.float32)
    mean = probs.mean(1)  # 10-crop style: views averaged before ranking
    metric = TopKError(1)
    metric.update_state(np.array([0, 0]), mean, sample_weight=np.array([1.0, 3.0]))
    # First example: mean (0.45, 0.55), wrong, weight 1; second right, weight 3.
    np.testing.assert_allclose(float(metric.result()), 0.25)
