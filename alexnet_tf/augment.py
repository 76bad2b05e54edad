"""Image augmentations of the paper (section 4.1), as small pure functions.

Each function works on a single image (H, W, 3) or a batch (B, H, W, 3), eagerly and
inside `tf.data` or a traced model alike. Pixel values are on the 0-255 scale.
"""

from __future__ import annotations

import tensorflow as tf

# Per-channel mean of ImageNet train pixels, RGB, 0-255 scale (the values TF-slim's
# vgg_preprocessing and Caffe's VGG models use); the paper subtracts the mean image.
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)

# Per-channel std of ImageNet pixels, RGB, 0-255 scale (torchvision's 0.229, 0.224, 0.225
# times 255). The paper does not divide by it; He-style inits assume unit-variance inputs.
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)

# PCA of ImageNet RGB pixel covariance (PAPER.md "Data", RGB in [0, 1]); eigenvectors are
# the columns. Multiplied by 255 for 0-255 pixels, as PAPER.md prescribes.
IMAGENET_EIGVAL = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)
PIXEL_SCALE = 255.0

# Section 4.1: alpha_i ~ N(0, 0.1).
PCA_ALPHA_STD = 0.1


def pca_lighting(images, alpha, eigval=IMAGENET_EIGVAL, eigvec=IMAGENET_EIGVEC):
    """Add sum_i p_i * alpha_i * lambda_i to every RGB pixel (paper section 4.1).

    images: (H, W, 3) or (B, H, W, 3) float, 0-255. alpha: (3,) or (B, 3), one draw per
    image. eigval/eigvec: the [0, 1]-scale decomposition, eigenvectors as columns.
    """
    images = tf.convert_to_tensor(images)
    dtype = images.dtype
    eigval = tf.constant(eigval, tf.float32) * PIXEL_SCALE  # (3,)
    eigvec = tf.constant(eigvec, tf.float32)  # (3, 3), columns p_i
    alpha = tf.cast(alpha, tf.float32)
    shift = tf.linalg.matvec(eigvec, alpha * eigval)  # (3,) or (B, 3)
    shift = shift[..., tf.newaxis, tf.newaxis, :]  # broadcast over H, W
    return tf.cast(tf.cast(images, tf.float32) + shift, dtype)


def normalize(images, mean_rgb=IMAGENET_MEAN_RGB, std_rgb=None):
    """(images - mean) / std per channel, in float32; std None: no division (the paper)."""
    images = tf.cast(images, tf.float32) - tf.constant(mean_rgb, tf.float32)
    if std_rgb is not None:
        images = images / tf.constant(std_rgb, tf.float32)
    return images
