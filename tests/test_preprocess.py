"""In-model preprocessing: mean, optional std, and the paper's PCA lighting."""

import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.core import constants
from alexnet_tf.data import augment
from alexnet_tf.model.layers import ImagePreprocess

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick


def _pca_numpy(image, alpha):
    """Section 4.1 written out: add [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T to every pixel."""
    p = np.array(constants.IMAGENET_EIGVEC, np.float64)
    lam = np.array(constants.IMAGENET_EIGVAL) * 255.0
    return image + p @ (np.asarray(alpha) * lam)


def test_pca_lighting_matches_numpy_eagerly_and_in_tf_data():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (3, 8, 8, 3)).astype(np.float32)
    alpha = rng.normal(0, 0.1, (3, 3)).astype(np.float32)
    expected = np.stack([_pca_numpy(i, a) for i, a in zip(images, alpha, strict=True)])
    np.testing.assert_allclose(augment.pca_lighting(images, alpha), expected, rtol=1e-5)
    ds = tf.data.Dataset.from_tensor_slices((images, alpha)).map(augment.pca_lighting)
    got = np.stack(list(ds.as_numpy_iterator()))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # The shift is the same for every pixel of an image, and differs between images.
    shift = got - images
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1, :1], shift.shape), atol=1e-3)
    assert not np.allclose(shift[0, 0, 0], shift[1, 0, 0])


def test_preprocess_subtracts_mean_and_lights_only_in_training():
    images = np.full((2, 4, 4, 3), 100, np.uint8)
    layer = ImagePreprocess(seed=3)
    mean = np.array(constants.IMAGENET_MEAN_RGB, np.float32)
    np.testing.assert_allclose(layer(images, training=False), 100 - mean + np.zeros((2, 4, 4, 3)))
    lit = layer(images, training=True).numpy()
    assert not np.allclose(lit, 100 - mean)
    assert not np.allclose(lit[0], lit[1])  # one alpha draw per image
    off = ImagePreprocess(pca_std=0)(images, training=True)
    np.testing.assert_allclose(off, 100 - mean + np.zeros((2, 4, 4, 3)))


def test_preprocess_divides_by_std_when_given():
    images = np.full((1, 2, 2, 3), 200, np.float32)
    std = constants.IMAGENET_STD_RGB
    got = ImagePreprocess(std_rgb=std)(images, training=False).numpy()
    want = (200 - np.array(constants.IMAGENET_MEAN_RGB)) / np.array(std)
    np.testing.assert_allclose(got[0, 0, 0], want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("std_rgb", [None, constants.IMAGENET_STD_RGB], ids=["paper", "std"])
def test_training_preprocess_in_one_xla_pass_is_tf_ops(dtype, std_rgb):
    """Training takes `lit_and_normalized` (XLA): the same lighting draws and the same
    float32 values as TF's ops (`augment.pca_lighting`, then `augment.normalize`, each
    checked against NumPy above), for pixels of either dtype, with and without the std."""
    images = np.random.default_rng(1).uniform(0, 255, (3, 6, 5, 3)).astype(dtype)
    results = {}
    for fused in (True, False):
        layer = ImagePreprocess(std_rgb=std_rgb, seed=7)
        layer.fused_training = fused
        results[fused] = [layer(images, training=True).numpy() for _ in range(2)]
    for xla, ops in zip(results[True], results[False], strict=True):
        np.testing.assert_allclose(xla, ops, rtol=0, atol=1e-5 * np.abs(ops).max())
    # Each call draws anew: the second batch is lit differently from the first.
    assert not np.allclose(results[True][0], results[True][1])
