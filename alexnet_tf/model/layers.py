"""Layers of the AlexNet model: device-pinned Keras layers, LRN and input preprocessing.

Why pinning lives in `__call__`: a `with tf.device(...)` around layer calls while the
functional model is built is not kept by Keras 3 (the traced ops get an empty device).
`Layer.__call__` runs `build()` (variables) and `call()` (ops) both at construction and
every time the model runs, so a device scope there covers variables and forward ops.
Gradient ops are placed by the train step (`keras_internals.ColocatedTrainStep`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from alexnet_tf.core import constants, precision
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


class Formed:
    """Mixin: a `form=` argument naming how the layer computes, one of the class's
    `FORMS` ("direct" by default), checked when made and kept in its config."""

    FORMS: tuple = ("direct",)

    def __init__(self, *args, form="direct", **kwargs):
        super().__init__(*args, **kwargs)
        if form not in self.FORMS:
            raise ValueError(f"form must be one of {', '.join(self.FORMS)}. Received: {form!r}")
        self.form = form

    def get_config(self):
        return {**super().get_config(), "form": self.form}


CONV_FORMS = ("direct", "space_to_depth", "auto")


def space_to_depth_conv(x, kernel, stride: int):
    """The VALID convolution of x (B, H, W, C) with kernel (k, k, C, F) at `stride`, as a
    stride-1 convolution over x's space-to-depth blocks: the same function, arranged for
    the matrix units. The kernel, zero-padded to K = stride * ceil(k / stride) taps, is
    rearranged into (K / s, K / s, s * s * C, F); x is padded or cut at the bottom and
    right to the (out - 1) * s + K rows and columns the output reads, where the padded
    taps meet only zeros. conv1's 228x228x3 becomes 57x57x48 with a 3x3 kernel over 48
    channels, where 3 input channels leave most of a bfloat16 tile empty. Gradients
    flow through the rearrangement to the (k, k, C, F) kernel that is saved."""
    k, _, channels, filters = kernel.shape
    blocks = -(-k // stride)  # K / s
    taps = blocks * stride  # K
    height, width = x.shape[1], x.shape[2]
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    need_h, need_w = (out_h - 1) * stride + taps, (out_w - 1) * stride + taps
    x = x[:, :need_h, :need_w]
    if need_h > height or need_w > width:
        x = tf.pad(x, [[0, 0], [0, max(need_h - height, 0)], [0, max(need_w - width, 0)], [0, 0]])
    kernel = tf.pad(kernel, [[0, taps - k], [0, taps - k], [0, 0], [0, 0]])
    kernel = tf.reshape(kernel, (blocks, stride, blocks, stride, channels, filters))
    kernel = tf.reshape(
        tf.transpose(kernel, (0, 2, 1, 3, 4, 5)),
        (blocks, blocks, stride * stride * channels, filters),
    )
    # tf.nn.space_to_depth's channel order, by reshapes: its op is several times slower.
    x = tf.reshape(x, (-1, need_h // stride, stride, need_w // stride, stride, channels))
    x = tf.reshape(
        tf.transpose(x, (0, 1, 3, 2, 4, 5)),
        (-1, need_h // stride, need_w // stride, stride * stride * channels),
    )
    return tf.nn.conv2d(x, kernel, 1, "VALID")


@_register
class TowerConv2D(Formed, Joins, keras.layers.Conv2D):
    """Conv2D on one tower's device, reading one tower or both.

    form: how a strided VALID convolution is computed; the function and the saved kernel
    are the same either way. "direct": Keras' convolution. "space_to_depth":
    `space_to_depth_conv`. "auto" (conv1's): space-to-depth where the layer computes in
    bfloat16 on a CPU with AMX tiles (`precision.cpu_has_bf16_tiles`), direct
    elsewhere, as measured (docs/performance.md, `benchmarks/step.py layers` and `forms`): there
    the stride-1 form runs conv1's forward and backward in 0.65 of the time; in float32,
    and in bfloat16 on `avx512_bf16` alone, it gains nothing. Layers it cannot apply to
    (stride 1, SAME padding, dilation) compute directly whatever the form.
    """

    FORMS = CONV_FORMS

    def uses_space_to_depth(self, dtype) -> bool:
        """Whether a call in `dtype` (the compute dtype) takes the space-to-depth form."""
        stride = self.strides[0]
        applies = (
            self.form != "direct"
            and self.padding == "valid"
            and self.strides == (stride, stride)
            and stride > 1
            and self.dilation_rate == (1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
        )
        if not applies:
            return False
        if self.form == "space_to_depth":
            return True
        return tf.as_dtype(dtype) == tf.bfloat16 and precision.cpu_has_bf16_tiles()

    def convolution_op(self, inputs, kernel):
        if self.uses_space_to_depth(inputs.dtype):
            return space_to_depth_conv(inputs, kernel, self.strides[0])
        return super().convolution_op(inputs, kernel)

    def call(self, inputs):
        return super().call(self.join(inputs))


DENSE_FORMS = ("direct", "transposed_input_grad", "auto")


def transposed_input_grad_matmul(x, kernel):
    """x @ kernel, whose input gradient is computed as (kernel @ dy^T)^T rather than
    dy @ kernel^T: the same products and sums, the kernel read in its stored order.
    oneDNN's float32 matmul with a transposed right-hand side runs fc6's (64 x 2048) x
    (2048 x 9216) at half the speed of the other order on these CPUs
    (docs/performance.md); the kernel's gradient, x^T @ dy, is TF's own."""

    @tf.custom_gradient
    def matmul(x, kernel):
        def grad(dy):
            dx = tf.transpose(tf.matmul(kernel, dy, transpose_b=True))
            return dx, tf.matmul(x, dy, transpose_a=True)

        return tf.matmul(x, kernel), grad

    return matmul(x, kernel)


@_register
class TowerDense(Formed, Joins, keras.layers.Dense):
    """Dense on one tower's device, reading one tower or both.

    form: how the training step's input gradient is computed; the function, its
    gradients and the saved kernel are the same either way. "direct": TF's MatMul
    gradient. "transposed_input_grad": `transposed_input_grad_matmul`. "auto": the
    transposed form where the layer computes in float32 (the whole float32 step gains
    from it), direct in bfloat16 and float16 (measured: no gain).
    """

    FORMS = DENSE_FORMS

    def uses_transposed_input_grad(self, dtype) -> bool:
        """Whether a call in `dtype` (the compute dtype) takes the transposed form."""
        if self.form == "auto":
            return tf.as_dtype(dtype) == tf.float32
        return self.form == "transposed_input_grad"

    def call(self, inputs, training=None):
        x = self.join(inputs)
        if not self.uses_transposed_input_grad(x.dtype):
            return super().call(x, training=training)
        y = transposed_input_grad_matmul(x, tf.convert_to_tensor(self.kernel))
        if self.bias is not None:
            y = keras.ops.add(y, self.bias)  # a BiasAdd, as Keras' Dense: fusable with the MatMul
        return y if self.activation is None else self.activation(y)


@_register
class TowerMaxPooling2D(Pinned, keras.layers.MaxPooling2D):
    """MaxPooling2D on one tower's device. ceil_mode: output sizes rounded up, as Caffe
    does (the input is padded at the bottom and right with the lowest value, which no
    maximum picks), so 54 -> 27 with 3x3 stride-2 pooling where plain pooling gives 26."""

    def __init__(self, *args, ceil_mode=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ceil_mode = ceil_mode

    def _ceil_padding(self, height, width):
        def extra(n, k, s):
            out = -(-(n - k) // s) + 1
            return (out - 1) * s + k - n

        (kh, kw), (sh, sw) = self.pool_size, self.strides
        return extra(height, kh, sh), extra(width, kw, sw)

    def call(self, inputs):
        if self.ceil_mode:
            ph, pw = self._ceil_padding(inputs.shape[1], inputs.shape[2])
            if ph or pw:
                inputs = tf.pad(
                    inputs, [[0, 0], [0, ph], [0, pw], [0, 0]], constant_values=inputs.dtype.min
                )
        return super().call(inputs)

    def compute_output_shape(self, input_shape):
        if self.ceil_mode:
            ph, pw = self._ceil_padding(input_shape[1], input_shape[2])
            input_shape = (input_shape[0], input_shape[1] + ph, input_shape[2] + pw, input_shape[3])
        return super().compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "ceil_mode": self.ceil_mode}


@_register
class TowerZeroPadding(Pinned, keras.layers.ZeroPadding2D):
    pass


@_register
class TowerDropout(Pinned, keras.layers.Dropout):
    pass


@_register
class TowerFlatten(Pinned, keras.layers.Flatten):
    pass


def lrn_band(channels_in: int, first: int, count: int, radius: int) -> np.ndarray:
    """(channels_in, count) 0/1 matrix: column i sums the squares of channels within
    `radius` of channel first + i (the window is cut at the ends, as in the paper)."""
    rows = np.arange(channels_in)[:, None]
    cols = first + np.arange(count)[None, :]
    return (np.abs(rows - cols) <= radius).astype(np.float32)


def _lrn_scale(t, beta: float):
    """t^-beta; for the paper's 0.75 as rsqrt(t) * sqrt(rsqrt(t)) rather than a pow."""
    if beta == 0.75:
        r = tf.math.rsqrt(t)
        return r * tf.sqrt(r)
    return tf.pow(t, -beta)


def banded_lrn(x, band, first: int, bias: float, alpha: float, beta: float):
    """b = a / (bias + alpha * sum of a^2 over the window)^beta for channels
    [first, first + band.shape[1]) of `x`, whose channels the window may read.

    The windowed sum of squares is a 1x1 convolution with the 0/1 `band` (a matmul the
    CPU's matrix units run); the rest is elementwise, in float32 whatever x's dtype, and
    beta=0.75 is rsqrt(t) * sqrt(rsqrt(t)) rather than a pow. The gradient is written out
    (it reuses the forward's t and scale), which makes forward and backward together
    faster than TF's LRN op on CPU (measured: docs/performance.md); results agree with
    the formula to float32 rounding (tests/test_model.py).
    """
    band = tf.constant(band[np.newaxis, np.newaxis])  # (1, 1, C_in, C_out)
    channels_in, count = band.shape[2], band.shape[3]
    last = channels_in - first - count

    @tf.custom_gradient
    def lrn(x):
        xf = tf.cast(x, tf.float32)
        t = bias + alpha * tf.nn.conv2d(tf.square(xf), band, 1, "VALID")
        scale = _lrn_scale(t, beta)
        own = xf[..., first : first + count] if (first or last) else xf
        y = own * scale

        def grad(g):
            gf = tf.cast(g, tf.float32)
            u = gf * y / t
            back = tf.nn.conv2d(u, tf.transpose(band, [0, 1, 3, 2]), 1, "VALID")
            direct = gf * scale
            if first or last:
                direct = tf.pad(direct, [[0, 0], [0, 0], [0, 0], [first, last]])
            return tf.cast(direct - (2.0 * alpha * beta) * xf * back, x.dtype)

        return tf.cast(y, x.dtype), grad

    return lrn(x)


def _window_sum(v, radius: int):
    """Sum over channels within `radius` of each channel (the window cut at the ends)."""
    channels = v.shape[-1]
    padded = tf.pad(v, [[0, 0]] * (len(v.shape) - 1) + [[radius, radius]])
    return tf.add_n([padded[..., i : i + channels] for i in range(2 * radius + 1)])


# One XLA cluster each; traced once per dtype, shape and constants (Python arguments).
@tf.function(jit_compile=True)
def _fused_lrn_forward(x, radius, bias, alpha, beta):
    xf = tf.cast(x, tf.float32)
    t = bias + alpha * _window_sum(tf.square(xf), radius)
    return tf.cast(xf * _lrn_scale(t, beta), x.dtype)


@tf.function(jit_compile=True)
def _fused_lrn_backward_term(x, g, radius, bias, alpha, beta):
    xf, gf = tf.cast(x, tf.float32), tf.cast(g, tf.float32)
    t = bias + alpha * _window_sum(tf.square(xf), radius)
    return gf * xf * _lrn_scale(t, beta) / t


@tf.function(jit_compile=True)
def _fused_lrn_backward(x, g, term, radius, bias, alpha, beta):
    xf, gf = tf.cast(x, tf.float32), tf.cast(g, tf.float32)
    t = bias + alpha * _window_sum(tf.square(xf), radius)
    back = _window_sum(term, radius)
    return tf.cast(gf * _lrn_scale(t, beta) - (2.0 * alpha * beta) * xf * back, x.dtype)


def fused_lrn(x, radius: int, bias: float, alpha: float, beta: float):
    """`banded_lrn`'s function for a layer normalising its own channels, as XLA clusters
    where the banded form runs several passes over memory; the arithmetic is float32 as
    there. The forward is one cluster. The backward is two: the first writes each
    channel's term g * x * scale / t (float32), which the second sums over the window,
    recomputing t and the scale from x rather than reading them back. In one cluster,
    XLA recomputes the term, and its windowed sum of squares, for each of the five
    channels that read it: 1.5-1.7x the time in bfloat16, 1.1-1.2x in float32
    (measured on lrn1's and lrn2's shapes)."""

    @tf.custom_gradient
    def lrn(x):
        def grad(g):
            term = _fused_lrn_backward_term(x, g, radius, bias, alpha, beta)
            return _fused_lrn_backward(x, g, term, radius, bias, alpha, beta)

        return _fused_lrn_forward(x, radius, bias, alpha, beta), grad

    return lrn(x)


@_register
class LocalResponseNorm(Pinned, keras.layers.Layer):
    """Local response normalization across channels, paper section 3.3.

    b = a / (k + alpha * sum_{j=i-n/2}^{i+n/2} a_j^2)^beta with the paper's k=2, n=5,
    alpha=1e-4, beta=0.75: depth_radius=2, bias=2, alpha=1e-4. alpha multiplies the sum
    itself, as in the paper and `tf.nn.local_response_normalization`; Caffe and torch
    divide their alpha by n (their 1e-4 is 2e-5 here).

    Computed by `banded_lrn` (implementation="banded", the default) or TF's op
    ("op", the reference; it has no bfloat16 CPU kernel, so it runs on a float32 copy).
    Training calls take `fused_lrn` (XLA) instead (`fused_training`). Either way the
    arithmetic is float32 and the output has the input's dtype.

    tower=None: the input is one tower's channels, normalized among themselves (the
    paper). tower=i: the input is the list of every tower's channels and this layer
    gives tower i's, whose windows reach into the neighbouring tower's channels (Caffe's
    bvlc_alexnet, whose conv1 is one group).
    """

    def __init__(
        self,
        depth_radius=2,
        bias=2.0,
        alpha=1e-4,
        beta=0.75,
        implementation="banded",
        tower=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tower = tower
        if tower is not None:
            self.input_spec = None  # a list of towers
        if implementation not in ("banded", "op"):
            raise ValueError(
                "implementation must be one of banded, op. "
                f"Received: implementation={implementation!r}"
            )
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta
        self.implementation = implementation
        # Training calls take fused_lrn (XLA), faster than the banded form in float32
        # and bfloat16 (docs/performance.md, `benchmarks/step.py forms`); False: `implementation`.
        # Inference, and so every export, always takes `implementation`, which needs no
        # XLA.
        self.fused_training = True

    def uses_fused(self) -> bool:
        """Whether a training call takes `fused_lrn` (not across towers: its windows
        read the neighbouring tower's channels, which the banded form handles)."""
        return self.tower is None and bool(self.fused_training)

    def _own(self, inputs):
        """(all the channels read, the first of this layer's, how many)."""
        if self.tower is None:
            return inputs, 0, inputs.shape[-1]
        first = sum(t.shape[-1] for t in inputs[: self.tower])
        return tf.concat(list(inputs), axis=-1), first, inputs[self.tower].shape[-1]

    def call(self, inputs, training=None):
        x, first, count = self._own(inputs)
        if training and self.uses_fused():
            return fused_lrn(x, self.depth_radius, self.bias, self.alpha, self.beta)
        if self.implementation == "op":
            out = tf.nn.local_response_normalization(
                tf.cast(x, tf.float32),
                depth_radius=self.depth_radius,
                bias=self.bias,
                alpha=self.alpha,
                beta=self.beta,
            )
            return tf.cast(out[..., first : first + count], x.dtype)
        band = lrn_band(x.shape[-1], first, count, self.depth_radius)
        return banded_lrn(x, band, first, self.bias, self.alpha, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape if self.tower is None else input_shape[self.tower]

    def get_config(self):
        return {
            **super().get_config(),
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
            "implementation": self.implementation,
            "tower": self.tower,
        }


# One XLA cluster; traced once per input shape and dtype and per mean and std (Python).
@tf.function(jit_compile=True)
def lit_and_normalized(images, shift, mean_rgb, std_rgb=None):
    """`augment.normalize(augment.pca_lighting(images, ...))` of a batch (B, H, W, 3) of
    any numeric dtype, given its lighting `shift` (B, 3) (`augment.pca_shift`): the same
    float32 operations in the same order, in one pass over the images where TF's ops
    make one for each (the casts, the shift, the mean, the std)."""
    images = tf.cast(images, tf.float32) + shift[:, tf.newaxis, tf.newaxis, :]
    images = images - tf.constant(mean_rgb, tf.float32)
    if std_rgb is not None:
        images = images / tf.constant(std_rgb, tf.float32)
    return images


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
        # Training calls with PCA lighting take `lit_and_normalized` (XLA), one pass over
        # the batch where TF's ops take several (docs/performance.md); False: TF's ops.
        # Inference, and so every export, always takes TF's ops, which need no XLA.
        self.fused_training = True

    def uses_fused(self) -> bool:
        """Whether a training call takes `lit_and_normalized` (with PCA lighting only)."""
        return self.pca_std > 0 and bool(self.fused_training)

    def call(self, inputs, training=False):
        images = tf.cast(inputs, tf.float32)
        if training and self.pca_std > 0:
            alpha = keras.random.normal(
                (tf.shape(images)[0], 3), stddev=self.pca_std, seed=self.seed_generator
            )
            if self.uses_fused():
                shift = augment.pca_shift(alpha, self.eigval, self.eigvec)
                return lit_and_normalized(inputs, shift, self.mean_rgb, self.std_rgb)
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
