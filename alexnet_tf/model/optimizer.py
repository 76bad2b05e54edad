"""The paper's optimizer (section 5): SGD with momentum 0.9 and weight decay 0.0005,
the decay going through the momentum:

    v <- 0.9 v - 0.0005 * lr * w - lr * g
    w <- w + v

Keras' `weight_decay=` is decoupled (it shrinks w outside the momentum) and would not
give this rule. An L2 term of 0.0005 / 2 * ||w||^2 on the loss does, but it costs a
sum of squares over the 61 M weights and four more elementwise passes each step. Here
the decay is added to the gradient inside the update, which is one fused TensorFlow
kernel per variable (`ResourceApplyKerasMomentum`, Keras' own momentum rule); the
update runs on its variable's device, so each tower's update stays on its tower.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from alexnet_tf import keras_internals


@keras.saving.register_keras_serializable(package="alexnet_tf")
class PaperSGD(keras.optimizers.SGD):
    """SGD with momentum and section 5's weight decay on kernels (not biases, as Caffe).

    Args:
      learning_rate, momentum: as keras.optimizers.SGD.
      kernel_decay: the paper's 0.0005; applied to every variable named "kernel".
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, kernel_decay=5e-4, **kwargs):
        if kernel_decay < 0:
            raise ValueError(f"kernel_decay must be >= 0. Received: kernel_decay={kernel_decay}")
        super().__init__(learning_rate=learning_rate, momentum=momentum, **kwargs)
        self.kernel_decay = kernel_decay

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._decayed = [v.name == "kernel" for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        # On the variable's device, so each tower's decay and update stay on its tower.
        with tf.device(variable.device):
            self._update(gradient, variable, learning_rate)

    def _update(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = tf.cast(gradient, dtype)
        index = keras_internals.variable_index(self, variable)
        if self.kernel_decay and self._decayed[index]:
            gradient = gradient + tf.cast(self.kernel_decay, dtype) * variable
        if not self.momentum or self.nesterov:
            return super().update_step(gradient, variable, learning_rate)
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=variable.handle,
            accum=self.momentums[index].value.handle,
            lr=tf.cast(learning_rate, dtype),
            grad=gradient,
            momentum=tf.cast(self.momentum, dtype),
            use_nesterov=False,
        )

    def get_config(self):
        return {**super().get_config(), "kernel_decay": self.kernel_decay}
