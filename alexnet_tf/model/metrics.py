"""Top-k error, as the paper reports it (section 6): the fraction of images whose correct
label is not among the k classes the model rates most probable."""

from __future__ import annotations

import keras
import tensorflow as tf


def top_k_correct(y_true, scores, k: int):
    """Per example, the probability that the true class is in the top k when ties are
    broken uniformly at random: with g classes scored strictly higher and t classes
    (the true one included) scored the same, it is clip(k - g, 0, t) / t.

    Why not `tf.math.in_top_k`: it counts every class tied at the boundary as inside, so
    a network that outputs the same score for every class would have 0% error. Scores may
    be logits, probabilities or probabilities averaged over crops: only the order counts.
    """
    scores = tf.cast(scores, tf.float32)
    y_true = tf.reshape(tf.cast(y_true, tf.int32), [-1])
    true_score = tf.gather(scores, y_true, axis=1, batch_dims=1)[:, tf.newaxis]
    greater = tf.reduce_sum(tf.cast(scores > true_score, tf.float32), axis=1)
    tied = tf.reduce_sum(tf.cast(tf.equal(scores, true_score), tf.float32), axis=1)
    return tf.clip_by_value(k - greater, 0.0, tied) / tied


@keras.saving.register_keras_serializable(package="alexnet_tf")
class TopKError(keras.metrics.Metric):
    """Streaming top-k error over all batches seen (1 - accuracy, as the paper reports).

    y_true: 0-based integer labels (B,); y_pred: (B, num_classes) scores of any kind.
    """

    def __init__(self, k: int = 5, name: str | None = None, **kwargs):
        if k < 1:
            raise ValueError(f"k must be >= 1. Received: k={k}")
        super().__init__(name=name or f"top{k}_error", **kwargs)
        self.k = k
        self.correct = self.add_variable((), initializer="zeros", name="correct")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        correct = top_k_correct(y_true, y_pred, self.k)
        if sample_weight is not None:
            weight = tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
            correct, total = correct * weight, tf.reduce_sum(weight)
        else:
            total = tf.cast(tf.size(correct), tf.float32)
        self.correct.assign_add(tf.reduce_sum(correct))
        self.count.assign_add(total)

    def result(self):
        return 1.0 - tf.math.divide_no_nan(self.correct, self.count)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "k": self.k}
