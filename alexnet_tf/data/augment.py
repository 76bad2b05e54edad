"""Image augmentations of the paper (section 4.1), as small pure functions.

Each function works on a single image (H, W, 3) or a batch (B, H, W, 3), eagerly and
inside `tf.data` or a traced model alike. Pixel values are on the 0-255 scale.
"""

from __future__ import annotations

import tensorflow as tf

from alexnet_tf.core.constants import (
    CROP,
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
    IMAGENET_MEAN_RGB,
    PIXEL_SCALE,
    RESIZE,
)
from alexnet_tf.data.views import POSITIONS, view_names


def pca_lighting(images, alpha, eigval=IMAGENET_EIGVAL, eigvec=IMAGENET_EIGVEC):
    """Add sum_i p_i * alpha_i * lambda_i to every RGB pixel (paper section 4.1).

    images: (H, W, 3) or (B, H, W, 3) float, 0-255. alpha: (3,) or (B, 3), one draw per
    image. eigval/eigvec: the [0, 1]-scale decomposition, eigenvectors as columns.
    """
    images = tf.convert_to_tensor(images)
    shift = pca_shift(alpha, eigval, eigvec)[..., tf.newaxis, tf.newaxis, :]  # over H, W
    return tf.cast(tf.cast(images, tf.float32) + shift, images.dtype)


def pca_shift(alpha, eigval=IMAGENET_EIGVAL, eigvec=IMAGENET_EIGVEC):
    """sum_i p_i * alpha_i * lambda_i on the 0-255 scale, what `pca_lighting` adds to
    every pixel: (3,) for alpha (3,), (B, 3) for alpha (B, 3)."""
    eigval = tf.constant(eigval, tf.float32) * PIXEL_SCALE  # (3,)
    eigvec = tf.constant(eigvec, tf.float32)  # (3, 3), columns p_i
    return tf.linalg.matvec(eigvec, tf.cast(alpha, tf.float32) * eigval)


def normalize(images, mean_rgb=IMAGENET_MEAN_RGB, std_rgb=None):
    """(images - mean) / std per channel, in float32; std None: no division (the paper)."""
    images = tf.cast(images, tf.float32) - tf.constant(mean_rgb, tf.float32)
    if std_rgb is not None:
        images = images / tf.constant(std_rgb, tf.float32)
    return images


# ---------------------------------------------------------------------------- crops


def centre_offset(crop=CROP, size=RESIZE):
    """(y, x) of the central crop x crop patch of a size x size image."""
    return ((size - crop) // 2, (size - crop) // 2)


def ten_crop_offsets(crop=CROP, size=RESIZE):
    """Section 4.1's test views: the four corner patches and the centre one, as (y, x)
    offsets in the size x size image (their reflections follow them in `ten_crop`)."""
    far = size - crop
    return ((0, 0), (0, far), (far, 0), (far, far), centre_offset(crop, size))


CENTRE_OFFSET = centre_offset()
TEN_CROP_OFFSETS = ten_crop_offsets()


def crop_window(height, width, offset_yx, size=RESIZE, crop=CROP):
    """The [y, x, h, w] window of the original image that becomes the crop x crop patch
    at `offset_yx` of the paper's size x size image (shorter side resized to `size`,
    central square). For a size x size original this is exactly [y, x, crop, crop]."""
    height, width = tf.cast(height, tf.int32), tf.cast(width, tf.int32)
    side = tf.minimum(height, width)
    scale = tf.cast(side, tf.float32) / size
    offset = tf.cast(offset_yx, tf.float32)
    y = (height - side) // 2 + tf.cast(tf.round(offset[0] * scale), tf.int32)
    x = (width - side) // 2 + tf.cast(tf.round(offset[1] * scale), tf.int32)
    extent = tf.clip_by_value(tf.cast(tf.round(crop * scale), tf.int32), 1, side)
    y = tf.minimum(y, height - extent)
    x = tf.minimum(x, width - extent)
    return tf.stack([y, x, extent, extent])


def _to_crop_size(image, crop):
    """Resize a square uint8 patch to crop x crop; a patch already that size is untouched."""
    h = tf.shape(image)[0]
    resized = tf.cond(
        tf.equal(h, crop),
        lambda: image,
        lambda: tf.cast(
            tf.clip_by_value(
                tf.round(tf.image.resize(image, (crop, crop), antialias=True)), 0, 255
            ),
            tf.uint8,
        ),
    )
    return tf.ensure_shape(resized, (crop, crop, 3))


def decode_crop(image_bytes, offset_yx, size=RESIZE, crop=CROP):
    """Encoded image -> the uint8 (crop, crop, 3) patch at `offset_yx` of its paper-size
    version. JPEGs go through the fused `decode_and_crop_jpeg`: only the kept window is
    decoded. Other formats (PNG, GIF, BMP) are decoded whole, then cropped."""

    def jpeg():
        shape = tf.image.extract_jpeg_shape(image_bytes)
        window = crop_window(shape[0], shape[1], offset_yx, size, crop)
        return tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3)

    def other():
        image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
        shape = tf.shape(image)
        w = crop_window(shape[0], shape[1], offset_yx, size, crop)
        return tf.slice(image, [w[0], w[1], 0], [w[2], w[3], 3])

    patch = tf.cond(tf.io.is_jpeg(image_bytes), jpeg, other)
    return _to_crop_size(patch, crop)


def decode_crop_square(image_bytes, offset_yx, crop=CROP):
    """decode_crop for JPEGs already at the paper's 256x256: one fused op, no resize."""
    window = tf.concat([tf.cast(offset_yx, tf.int32), [crop, crop]], axis=0)
    return tf.ensure_shape(
        tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3), (crop, crop, 3)
    )


def random_offset(size=RESIZE, crop=CROP, seed=None):
    """A uniform random (y, x) crop offset in [0, size - crop]."""
    return tf.random.uniform((2,), 0, size - crop + 1, dtype=tf.int32, seed=seed)


def keyed_offset(key, size=RESIZE, crop=CROP):
    """random_offset drawn from a stateless key (shape (2,) int64): the same key, the
    same offset, in whatever thread or process it is drawn."""
    return tf.random.stateless_uniform((2,), key, 0, size - crop + 1, dtype=tf.int32)


def keyed_flip(image, key):
    """random_flip drawn from a stateless key (its own fold of it, not the offset's)."""
    return flip(image, tf.random.stateless_uniform((), fold_key(key, 1)) < 0.5)


def fold_key(key, data):
    """A new stateless key from `key` and an integer: (seed, pass) -> the pass's element."""
    return tf.random.experimental.stateless_fold_in(key, tf.cast(data, tf.int64))


def flip(image, do_flip):
    """Mirror an (H, W, C) image left-right when `do_flip` (a bool tensor) is true."""
    return tf.cond(do_flip, lambda: tf.reverse(image, axis=[1]), lambda: image)


def random_flip(image, seed=None):
    """Section 4.1's horizontal reflection, with probability 1/2. Per image, inside the
    parallel decode map: a batched uint8 reverse is slower (measured, benchmark input)."""
    return flip(image, tf.random.uniform((), seed=seed) < 0.5)


def decode_square(image_bytes, size=RESIZE):
    """Encoded image -> uint8 (size, size, 3): shorter side resized to `size`, central
    square (section 2). A size x size image is returned as decoded."""
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    square = tf.image.crop_to_bounding_box(
        image, (shape[0] - side) // 2, (shape[1] - side) // 2, side, side
    )
    return _to_crop_size(square, size)


def crop_views(image, names, crop=CROP):
    """(size, size, 3) image -> (len(names), crop, crop, 3): the named views (view_names)."""
    offsets = dict(zip(POSITIONS, ten_crop_offsets(crop, image.shape[0] or RESIZE), strict=True))
    views = []
    for name in names:
        position = name.removesuffix("_reflected")
        y, x = offsets[position]
        view = image[y : y + crop, x : x + crop]
        views.append(tf.reverse(view, axis=[1]) if name != position else view)
    return tf.stack(views)


def ten_crop(image, crop=CROP):
    """(size, size, 3) image -> (10, crop, crop, 3): four corners and the centre, then
    their reflections (section 4.1's test views), in TEN_CROP_OFFSETS order."""
    return crop_views(image, view_names(10), crop)
