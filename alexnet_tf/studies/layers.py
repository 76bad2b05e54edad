"""The pieces cuda-convnet's 18pct network needs that Keras lacks (studies/figure1.py):
mean-image subtraction, its within-map response normalisation and a bias learning rate
of its own."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from alexnet_tf.model import keras_internals


class SubtractMeanImage(keras.layers.Layer):
    """uint8 or float pixels (B, H, W, C) -> float32 pixels minus a fixed (H, W, C) image,
    on the pixels' own scale (cuda-convnet's data provider subtracts the mean image)."""

    def __init__(self, mean_image, **kwargs):
        super().__init__(**kwargs)
        self.mean_image = np.asarray(mean_image, np.float32)

    def call(self, images):
        return tf.cast(images, tf.float32) - self.mean_image

    def get_config(self):
        return {**super().get_config(), "mean_image": self.mean_image.tolist()}


class WithinMapNorm(keras.layers.Layer):
    """cuda-convnet's `rnorm`: each unit divided by (1 + scale / size^2 * the sum of squares
    over the size x size window of its own map, zero-padded)^power. cuda-convnet's layer
    parser divides the configured scale by size^2 for this layer (by size for `cmrnorm`)."""

    def __init__(self, size=3, scale=5e-5, power=0.75, **kwargs):
        super().__init__(**kwargs)
        self.size, self.scale, self.power = size, scale, power

    def call(self, x):
        channels = x.shape[-1]
        ones = tf.ones((self.size, self.size, channels, 1), x.dtype)
        sums = tf.nn.depthwise_conv2d(tf.square(x), ones, [1, 1, 1, 1], "SAME")
        return x * tf.pow(1.0 + self.scale / self.size**2 * sums, -self.power)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "scale": self.scale,
                "power": self.power}  # fmt: skip


class BiasRateSGD(keras.optimizers.SGD):
    """SGD with momentum whose biases learn at `bias_factor` times the weights' rate
    (cuda-convnet's epsB and epsW)."""

    def __init__(self, learning_rate=0.01, momentum=0.9, bias_factor=2.0, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, **kwargs)
        self.bias_factor = bias_factor

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        # Names as Keras gives them here; the backend's update sees TF's ("bias:0").
        self._is_bias = [v.name == "bias" for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        if self._is_bias[keras_internals.variable_index(self, variable)]:
            learning_rate = learning_rate * self.bias_factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "bias_factor": self.bias_factor}
