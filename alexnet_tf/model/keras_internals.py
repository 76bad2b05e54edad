"""Every use of Keras' or TensorFlow's private API, in one place.

Verified on Keras 3.15.1 with TensorFlow 2.21.0; setup.py pins both to those minor
versions. `tests/test_keras_internals.py` checks each hook listed in `HOOKS` and fails
naming it when an upgrade removes or changes it: widen the pins only once it passes.

Why each is needed:
- `ColocatedTrainStep.train_step` takes gradients with `tf.gradients`, which places each
  gradient op with its forward op; a `tf.GradientTape` in a traced step leaves them
  unplaced, and the whole backward pass would run on the first device (the paper's model
  parallelism would be lost). Re-implementing the step needs Keras' loss computation
  (`Model._compute_loss`), its loss tracker (`Model._loss_tracker`) and
  `unscale_loss_for_distribution`, which are private.
- Multi-worker runs: Keras reduces each logged value with `strategy.reduce("MEAN",
  axis=0)`, which fails on scalars; and it builds the metrics from one batch through
  `_maybe_symbolic_build`, reading its epoch iterator, whose per-replica values the
  reduce cannot take across workers.
- `num_workers`: how many workers a strategy spans (`strategy.extended._num_workers`);
  the public API says only how many replicas.
- `variable_index`: the slot of a variable in an optimizer's per-variable state (its
  momentum), as Keras' own SGD finds it (`Optimizer._get_variable_index`); the paper's
  update (`model.optimizer.PaperSGD`) needs it to read that variable's momentum.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.losses import loss as _keras_loss

VERIFIED_ON = {"keras": "3.15.1", "tensorflow": "2.21.0"}

# The private names used below; tests/test_keras_internals.py checks each one by name.
HOOKS = (
    "keras.Model._compute_loss",
    "keras.Model._loss_tracker",
    "keras.Model._maybe_symbolic_build",
    "keras.Model._symbolic_build",
    "keras.Model._distribute_strategy",
    "keras.src.losses.loss.unscale_loss_for_distribution",
    "keras EpochIterator: yields (begin, end, iterator) and has reset()",
    "tf.distribute.MultiWorkerMirroredStrategy().extended._num_workers",
    "keras.optimizers.Optimizer._get_variable_index",
)


class ColocatedTrainStep(keras.Model):
    """Keras' TF train step with `tf.gradients` in place of `tf.GradientTape`, and the
    multi-worker fixes described in this module's docstring."""

    def train_step(self, data):
        if tf.executing_eagerly():  # run_eagerly=True: no graph, tape it is
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
        self._loss_tracker.update_state(
            _keras_loss.unscale_loss_for_distribution(loss), sample_weight=tf.shape(x)[0]
        )
        scaled = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        grads = tf.gradients(scaled, [w.value for w in weights])
        self.optimizer.apply_gradients(zip(grads, weights, strict=True))
        return self._for_reduction(self.compute_metrics(x, y, y_pred, sample_weight))

    def test_step(self, data):
        return self._for_reduction(super().test_step(data))

    def _for_reduction(self, logs):
        """Shape (1,) instead of scalars across workers: reduces to the same value."""
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """The build needs only shapes and dtypes: take this replica's part of a batch."""
        if self._distribute_strategy is None or iterator is None:
            return super()._maybe_symbolic_build(iterator, data_batch)
        batch = first_batch(iterator)
        if batch is None:  # validation after the first epoch: Keras keeps its iterator
            iterator.reset()  # across epochs, and the last pass used it up
            batch = first_batch(iterator)
        data_batch = tf.nest.map_structure(
            lambda v: v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v, batch
        )
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)


def first_batch(epoch_iterator):
    """One batch from a Keras epoch iterator, or None when it is used up."""
    for _, _, it in epoch_iterator:
        try:
            return next(it)
        except StopIteration:
            return None
    return None


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Workers the strategy spans (1 for single-machine strategies)."""
    return getattr(strategy.extended, "_num_workers", 1)


def variable_index(optimizer: keras.optimizers.Optimizer, variable) -> int:
    """The index of `variable`'s slots (e.g. `optimizer.momentums[i]`) in `optimizer`."""
    return optimizer._get_variable_index(variable)
