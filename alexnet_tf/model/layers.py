"""Layers of the AlexNet model: device-pinned Keras layers, LRN and input preprocessing.

Why pinning lives in `__call__`: a `with tf.device(...)` around layer calls while the
functional model is built is not kept by Keras 3 (the traced ops get an empty device).
`Layer.__call__` runs `build()` (variables) and `call()` (ops) both at construction and
every time the model runs, so a device scope there covers variables and forward ops.
Gradient ops are placed by the train step (`keras_internals.ColocatedTrainStep`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from alexnet_tf import constants
from alexnet_tf.data import augment
from alexnet_tf.model.placement import device_scope

_register = keras.saving.register_keras_serializable(package="alexnet_tf")


class Pinned:
    """Mixin: run the layer's build and call on `device` (None: wherever TF puts it)."""

    def __init__(self, *args, device: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def __call__(self, *args, **kwargs):
        with device_scope(self.device):
            return super().__call__(*args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "device": self.device}


def _merged_shape(shape):
    """Shape of the channel-wise concatenation of a list of inputs (or `shape` itself)."""
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        channels = sum(s[-1] for s in shape)
        return tuple(shape[0][:-1]) + (channels,)
    return shape


class Joins(Pinned):
    """Mixin for layers that read one tower or both: a list input is concatenated on
    channels on this layer's device, which is where the paper's cross-GPU copy happens.

    Keras' `input_spec` for Conv2D/Dense admits a single tensor, so it is cleared; the
    parent's `build()` still checks the joined shape.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.input_spec = None

    def build(self, input_shape):
        super().build(_merged_shape(input_shape))
        self.input_spec = None

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape(_merged_shape(input_shape))

    @staticmethod
    def join(inputs):
        if isinstance(inputs, (list, tuple)):
            return tf.concat(list(inputs), axis=-1)
        return inputs


@_register
class TowerConv2D(Joins, keras.layers.Conv2D):
    """Conv2D on one tower's device, reading one tower or both."""

    def call(self, inputs):
        return super().call(self.join(inputs))


@_register
class TowerDense(Joins, keras.layers.Dense):
    """Dense on one tower's device, reading one tower or both."""

    def call(self, inputs, training=None):
        return super().call(self.join(inputs), training=training)


@_register
class TowerMaxPooling2D(Pinned, keras.layers.MaxPooling2D):
    pass


@_register
class TowerZeroPadding(Pinned, keras.layers.ZeroPadding2D):
    pass


@_register
class TowerDropout(Pinned, keras.layers.Dropout):
    pass


@_register
class TowerFlatten(Pinned, keras.layers.Flatten):
    pass


@_register
class LocalResponseNorm(Pinned, keras.layers.Layer):
    """Local response normalization across channels, paper section 3.3.

    b = a / (k + alpha * sum_{j=i-n/2}^{i+n/2} a_j^2)^beta with the paper's k=2, n=5,
    alpha=1e-4, beta=0.75. `tf.nn.local_response_normalization` sums over
    2 * depth_radius + 1 channels and does not divide alpha by n, so the paper is
    depth_radius=2, bias=2, alpha=1e-4 (Caffe's alpha=1e-4 is this op's 2e-5).

    Computed in float32 whatever the global policy: the op has no half-precision CPU
    kernel, and the squared sum loses precision in float16.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs,
            depth_radius=self.depth_radius,
            bias=self.bias,
            alpha=self.alpha,
            beta=self.beta,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }


@_register
class ImagePreprocess(Pinned, keras.layers.Layer):
    """0-255 RGB pixels (any numeric dtype) -> mean-subtracted float32 (section 2),
    with PCA lighting (section 4.1) added while training when `pca_std > 0`, divided by
    `std_rgb` when given (not in the paper; for He-style inits).

    Living in the model lets the input pipeline ship uint8 batches and keeps the
    per-pixel float work on the accelerator; exports get the same preprocessing.
    """

    def __init__(
        self,
        mean_rgb=constants.IMAGENET_MEAN_RGB,
        pca_std=constants.PCA_ALPHA_STD,
        eigval=constants.IMAGENET_EIGVAL,
        eigvec=constants.IMAGENET_EIGVEC,
        std_rgb=None,
        seed=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.mean_rgb = tuple(float(v) for v in mean_rgb)
        self.std_rgb = None if std_rgb is None else tuple(float(v) for v in std_rgb)
        self.pca_std = float(pca_std)
        self.eigval = tuple(float(v) for v in eigval)
        self.eigvec = tuple(tuple(float(v) for v in row) for row in eigvec)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        images = tf.cast(inputs, tf.float32)
        if training and self.pca_std > 0:
            alpha = keras.random.normal(
                (tf.shape(images)[0], 3), stddev=self.pca_std, seed=self.seed_generator
            )
            images = augment.pca_lighting(images, alpha, self.eigval, self.eigvec)
        return augment.normalize(images, self.mean_rgb, self.std_rgb)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "mean_rgb": list(self.mean_rgb),
            "std_rgb": None if self.std_rgb is None else list(self.std_rgb),
            "pca_std": self.pca_std,
            "eigval": list(self.eigval),
            "eigvec": [list(r) for r in self.eigvec],
            "seed": self.seed,
        }
