"""Winograd's F(m, 3) (`benchmark winograd`): its transforms filter exactly, and its
convolution is the direct one's function, values and gradients, in both implementations."""

import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.studies import winograd


@pytest.mark.quick
@pytest.mark.parametrize("m", sorted(winograd.FORMS))
def test_transforms_give_m_outputs_of_a_3_tap_filter(m):
    """A^T ((G g) . (B^T d)) is y_i = sum_k d_(i+k) g_k, i < m, in float64."""
    at, g_t, bt = winograd.transforms(m, 3, winograd.FORMS[m])
    assert at.shape == (m, m + 2) and g_t.shape == (m + 2, 3) and bt.shape == (m + 2, m + 2)
    rng = np.random.default_rng(m)
    for _ in range(5):
        d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
        direct = [d[i : i + 3] @ g for i in range(m)]
        np.testing.assert_allclose(at @ ((g_t @ g) * (bt @ d)), direct, rtol=0, atol=1e-12)


@pytest.mark.quick
def test_points_must_match_the_form():
    with pytest.raises(ValueError, match=r"F\(4, 3\) takes 5 finite points. Received: \(0, 1\)"):
        winograd.transforms(4, 3, (0, 1))


# 12 cases in 25 s on 2 cores (an XLA compile each): in the default run, not the quick tier
@pytest.mark.parametrize("implementation", winograd.IMPLEMENTATIONS)
@pytest.mark.parametrize("m", sorted(winograd.FORMS))
@pytest.mark.parametrize("shape", [(2, 13, 13, 8), (3, 7, 10, 5)])
def test_winograd_conv_is_the_direct_convolution(m, implementation, shape):
    """Output, input gradient and kernel gradient against tf.nn.conv2d (SAME, stride 1),
    on conv3-5's 13 x 13 and on a size no tile count divides, not square."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(shape), tf.float32)
    kernel = tf.constant(rng.standard_normal((3, 3, shape[-1], 6)) / 3, tf.float32)
    dy = tf.constant(rng.standard_normal((*shape[:3], 6)), tf.float32)

    def run(conv):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = conv(x, kernel)
        return (y, *tape.gradient(y, [x, kernel], output_gradients=dy))

    ours = run(lambda x, w: winograd.winograd_conv(x, w, m, implementation))
    direct = run(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
    for name, a, b in zip(
        ("output", "input gradient", "kernel gradient"), ours, direct, strict=True
    ):
        assert a.shape == b.shape, name
        scale = float(tf.reduce_max(tf.abs(b)))
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=5e-5 * scale, err_msg=name)


@pytest.mark.quick
def test_winograd_conv_refuses_what_it_does_not_compute():
    x = tf.zeros((1, 5, 5, 2))
    with pytest.raises(ValueError, match=r"takes 3x3 kernels. Received: \(5, 5, 2, 4\)"):
        winograd.winograd_conv(x, tf.zeros((5, 5, 2, 4)), 2)
    with pytest.raises(
        ValueError, match="implementation must be one of matmul, xla. Received: 'fft'"
    ):
        winograd.winograd_conv(x, tf.zeros((3, 3, 2, 4)), 2, "fft")
