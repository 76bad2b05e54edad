"""The paper's optimizer (section 5): SGD with momentum 0.9 and weight decay 0.0005,
the decay going through the momentum:

    v <- 0.9 v - 0.0005 * lr * w - lr * g
    w <- w + v

Keras' `weight_decay=` is decoupled (it shrinks w outside the momentum) and would not
give this rule. An L2 term of 0.0005 / 2 * ||w||^2 on the loss does, but it costs a
sum of squares over the 61 M weights and four more elementwise passes each step. Here
the decay is added to the gradient inside the update. For a large variable (fc6-fc8's
kernels) the update is one XLA cluster: the decay, the momentum and the step in one
pass over memory, where TF's own ops take two (the decay's add, then
`ResourceApplyKerasMomentum`, Keras' own momentum rule); smaller ones, which gain
nothing measurable from it, take TF's ops (docs/performance.md). The update runs on
its variable's device, so each tower's update stays on its tower.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from alexnet_tf.model import keras_internals

# Variables of at least this many values take the XLA update: fc6-fc8's kernels (4.1 M
# to 18.9 M values, 59 M of the network's 61 M), where one pass saves time. Every conv
# kernel (35 K to 442 K) and bias is below it: there the two forms run alike, and each
# shape would cost an XLA compile (0.1-0.2 s) in every process (docs/performance.md).
FUSED_MIN_SIZE = 2**20


def momentum_update(variable, accum, gradient, learning_rate, rate, decay):
    """accum <- rate * accum - learning_rate * (gradient + decay * variable);
    variable <- variable + accum: `ResourceApplyKerasMomentum`'s rule, in the same
    order of operations, with the decay inside the same pass. Each `PaperSGD` compiles
    its own (`tf.function(jit_compile=True)`, traced once per variable shape and dtype;
    decay and rate are Python numbers): a trace takes its variables by reference, and
    one shared by every optimizer of the process would outlive the first model's
    variables and fail on the next model's step once they are deleted."""
    gradient = tf.cast(gradient, variable.dtype)
    if decay:
        gradient = gradient + tf.cast(decay, variable.dtype) * variable
    accum.assign(accum * tf.cast(rate, accum.dtype) - learning_rate * gradient)
    variable.assign_add(accum)


@keras.saving.register_keras_serializable(package="alexnet_tf")
class PaperSGD(keras.optimizers.SGD):
    """SGD with momentum and section 5's weight decay on kernels (not biases, as Caffe).

    Args:
      learning_rate, momentum: as keras.optimizers.SGD.
      kernel_decay: the paper's 0.0005; applied to every variable named "kernel".
      fused: True, the update of each variable of FUSED_MIN_SIZE values or more is
        `momentum_update`, one XLA cluster; False, TF's ops for every variable (the
        decay's add, then `ResourceApplyKerasMomentum`). The same rule either way.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, kernel_decay=5e-4, fused=True, **kwargs):
        if kernel_decay < 0:
            raise ValueError(f"kernel_decay must be >= 0. Received: kernel_decay={kernel_decay}")
        super().__init__(learning_rate=learning_rate, momentum=momentum, **kwargs)
        self.kernel_decay = kernel_decay
        self.fused = bool(fused)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._decayed = [v.name == "kernel" for v in variables]
        self._momentum_update = tf.function(momentum_update, jit_compile=True)

    def takes_fused_update(self, variable) -> bool:
        """Whether `variable`'s update is `momentum_update` (one XLA cluster)."""
        large = int(np.prod(variable.shape)) >= FUSED_MIN_SIZE
        return self.fused and bool(self.momentum) and not self.nesterov and large

    def update_step(self, gradient, variable, learning_rate):
        # On the variable's device, so each tower's decay and update stay on its tower.
        with tf.device(variable.device):
            self._update(gradient, variable, learning_rate)

    def _update(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        index = keras_internals.variable_index(self, variable)
        decay = self.kernel_decay if self._decayed[index] else 0.0
        if self.takes_fused_update(variable):
            # Keras hands over its own variables, or under tf.distribute their tf.Variables.
            var = variable if isinstance(variable, tf.Variable) else variable.value
            accum = self.momentums[index].value
            lr = tf.cast(learning_rate, dtype)
            return self._momentum_update(var, accum, gradient, lr, self.momentum, decay)
        gradient = tf.cast(gradient, dtype)
        if decay:
            gradient = gradient + tf.cast(decay, dtype) * variable
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
        return {**super().get_config(), "kernel_decay": self.kernel_decay, "fused": self.fused}
