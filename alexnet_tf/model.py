"""The AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012), as a Keras functional model.

    model = build_alexnet(num_classes=1000, tower_devices="auto")

Two explicit towers (section 3.5, Figure 2): tower a's layers carry the suffix "a" and run
on the first device, tower b's the suffix "b" on the second. conv2, conv4 and conv5 read
only their own tower; conv3, fc6, fc7 and fc8 read both. Inputs are 224x224x3 RGB pixels
on the 0-255 scale (any numeric dtype); outputs are float32 logits.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.losses import loss as keras_loss

from alexnet_tf import augment
from alexnet_tf import metrics as _metrics  # noqa: F401  (registers TopKError: compiled
from alexnet_tf.config import ACTIVATIONS, ARCHITECTURES, INITS  # TF-free: flags check them too

#   models saved by training load wherever the model class does)
from alexnet_tf.layers import (
    ImagePreprocess,
    LocalResponseNorm,
    TowerConv2D,
    TowerDense,
    TowerDropout,
    TowerFlatten,
    TowerMaxPooling2D,
    TowerZeroPadding,
)
from alexnet_tf.placement import resolve_tower_devices

IMAGE_SIZE = 224  # section 4.1: random 224x224 patches of the 256x256 images

# Section 3.5 / Figure 2, per tower: (filters, kernel size, stride). conv1's 224 input is
# zero-padded by 2 so that stride 4 gives 55x55 (PAPER.md architecture table).
CONV_SPECS = {
    "conv1": (48, 11, 4),
    "conv2": (128, 5, 1),
    "conv3": (192, 3, 1),
    "conv4": (192, 3, 1),
    "conv5": (128, 3, 1),
}
CONV1_PAD = 2
FC_UNITS = 2048  # per tower; 4096 in all (section 3.5)

# Layers whose bias starts at 1 in the paper (section 5); the others start at 0.
BIAS_ONE_LAYERS = ("conv2", "conv4", "conv5", "fc6", "fc7")
INIT_STD = 0.01  # section 5: weights ~ N(0, 0.01)


def _initializers(init: str, layer: str):
    """(kernel, bias) initializers for `layer` ("conv2", "fc6", ...).

    paper: N(0, 0.01), biases 1 on conv2/4/5 and fc6/7 (section 5).
    caffe: the same with those biases at 0.1, as bvlc_alexnet did after reporting a flat
      loss at the start with bias 1.
    he: He-normal kernels, zero biases; learns from the first step where the paper's
      init sits on a flat loss for a while. Assumes unit-variance inputs: pair it with
      std_rgb (e.g. augment.IMAGENET_STD_RGB).
    """
    if init == "he":
        return keras.initializers.HeNormal(), keras.initializers.Zeros()
    bias = (1.0 if init == "paper" else 0.1) if layer in BIAS_ONE_LAYERS else 0.0
    return keras.initializers.RandomNormal(stddev=INIT_STD), keras.initializers.Constant(bias)


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}. Received: {name}={value!r}")


def _network(
    images,
    *,
    devices,
    num_classes,
    architecture,
    activation,
    lrn,
    overlapping_pool,
    dropout,
    init,
    weight_decay,
):
    """Build the layer graph on `images` (the preprocessed (B, 224, 224, 3) tensor)."""
    # Section 5: weight decay 0.0005 enters the update as 0.0005 * w, i.e. the gradient
    # of 0.0005 / 2 * ||w||^2; like Caffe, only weights (kernels) are decayed.
    reg = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    pool_size = 3 if overlapping_pool else 2  # section 3.4: s=2, z=3 vs z=s=2

    def conv(layer, tower, device, filters, kernel, stride, inputs):
        k_init, b_init = _initializers(init, layer)
        return TowerConv2D(
            filters,
            kernel,
            strides=stride,
            padding="valid" if layer == "conv1" else "same",
            activation=activation,
            kernel_initializer=k_init,
            bias_initializer=b_init,
            kernel_regularizer=reg,
            device=device,
            name=layer + tower,
        )(inputs)

    def dense(layer, tower, device, units, inputs, act):
        k_init, b_init = _initializers(init, layer)
        return TowerDense(
            units,
            activation=act,
            kernel_initializer=k_init,
            bias_initializer=b_init,
            kernel_regularizer=reg,
            device=device,
            name=layer + tower,
            # Logits in float32 under mixed precision: softmax/loss need the range.
            dtype="float32" if layer == "fc8" else None,
        )(inputs)

    def norm_pool(index, tower, device, x):
        if lrn:
            x = LocalResponseNorm(device=device, name=f"lrn{index}{tower}")(x)
        return TowerMaxPooling2D(pool_size, strides=2, device=device, name=f"pool{index}{tower}")(x)

    dev_a = devices[0] if devices else None
    padded = TowerZeroPadding(CONV1_PAD, device=dev_a, name="conv1_pad")(images)

    if architecture == "two_tower":
        towers = (("a", dev_a), ("b", devices[1] if devices else None))
        width = {name: spec[0] for name, spec in CONV_SPECS.items()}
        fc_units = FC_UNITS
    else:
        towers = (("", dev_a),)
        # Section 3.2: the one-tower comparison net has half the kernels in every conv
        # layer except the last, and full-size fc layers (footnote 2).
        scale = 2 if architecture == "one_tower" else 1
        width = {name: spec[0] * scale for name, spec in CONV_SPECS.items()}
        width["conv5"] = CONV_SPECS["conv5"][0] * 2
        fc_units = 2 * FC_UNITS

    def conv_layer(layer, xs, cross=False):
        """One conv per tower; `cross`: each reads every tower (conv3), else its own."""
        _, kernel, stride = CONV_SPECS[layer]
        return [
            conv(layer, t, d, width[layer], kernel, stride, xs if cross else x)
            for (t, d), x in zip(towers, xs, strict=True)
        ]

    x = conv_layer("conv1", [padded] * len(towers))  # (B, 55, 55, 48) per tower
    x = [norm_pool(1, t, d, v) for (t, d), v in zip(towers, x, strict=True)]  # (B, 27, 27, 48)
    x = conv_layer("conv2", x)  # (B, 27, 27, 128): own tower only
    x = [norm_pool(2, t, d, v) for (t, d), v in zip(towers, x, strict=True)]  # (B, 13, 13, 128)
    x = conv_layer("conv3", x, cross=True)  # (B, 13, 13, 192): reads both towers
    x = conv_layer("conv4", x)  # (B, 13, 13, 192)
    x = conv_layer("conv5", x)  # (B, 13, 13, 128)
    x = [
        TowerFlatten(device=d, name="flatten5" + t)(
            TowerMaxPooling2D(pool_size, strides=2, device=d, name="pool5" + t)(v)
        )
        for (t, d), v in zip(towers, x, strict=True)
    ]  # (B, 6 * 6 * 128) per tower
    for layer in ("fc6", "fc7"):  # each half reads both towers; (B, 2048) per tower
        x = [
            TowerDropout(dropout, device=d, name=f"drop{layer[2:]}{t}")(
                dense(layer, t, d, fc_units, x, activation)
            )
            for t, d in towers
        ]
    return dense("fc8", "", dev_a, num_classes, x, None)  # (B, num_classes)


@keras.saving.register_keras_serializable(package="alexnet_tf")
class AlexNet(keras.Model):
    """The paper's network; every constructor argument is in `get_config()`.

    Args:
      num_classes: size of fc8 (1000 for ImageNet).
      tower_devices: "auto" (two GPUs if there are two, else no pinning), None (no
        pinning), or a pair of device names for towers a and b.
      architecture: "two_tower" (the paper), "one_tower" (every conv sees all channels,
        all kernels) or "one_tower_half" (the paper's one-GPU comparison, section 3.2).
      activation: "relu" (the paper) or "tanh" (its Figure 1 comparison).
      lrn: local response normalization after conv1 and conv2 (section 3.3).
      overlapping_pool: 3x3 stride-2 pooling (section 3.4); False gives 2x2 stride 2.
      dropout: rate on fc6 and fc7 (section 4.2).
      init: "paper", "caffe" or "he" (see `_initializers`).
      weight_decay: L2 on kernels, applied like the paper's update rule (section 5).
      mean_rgb, std_rgb, pca_std, eigval, eigvec: input preprocessing (see
        `ImagePreprocess`); std_rgb=None (the paper) does not divide; pca_std=0 switches
        PCA lighting off.
    """

    def __init__(
        self,
        num_classes=1000,
        tower_devices="auto",
        architecture="two_tower",
        activation="relu",
        lrn=True,
        overlapping_pool=True,
        dropout=0.5,
        init="paper",
        weight_decay=5e-4,
        mean_rgb=augment.IMAGENET_MEAN_RGB,
        std_rgb=None,
        pca_std=augment.PCA_ALPHA_STD,
        eigval=augment.IMAGENET_EIGVAL,
        eigvec=augment.IMAGENET_EIGVEC,
        seed=None,
        name="alexnet",
        **kwargs,
    ):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer. Received: {num_classes!r}")
        _check_choice("architecture", architecture, ARCHITECTURES)
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("init", init, INITS)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
        if weight_decay < 0 or pca_std < 0:
            raise ValueError(
                "weight_decay and pca_std must be >= 0. "
                f"Received: weight_decay={weight_decay!r}, pca_std={pca_std!r}"
            )
        devices = resolve_tower_devices(tower_devices)
        dev_a = devices[0] if devices else None

        inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
        images = ImagePreprocess(
            mean_rgb,
            pca_std,
            eigval,
            eigvec,
            std_rgb,
            seed=seed,
            device=dev_a,
            name="preprocess",
        )(inputs)
        logits = _network(
            images,
            devices=devices,
            num_classes=num_classes,
            architecture=architecture,
            activation=activation,
            lrn=lrn,
            overlapping_pool=overlapping_pool,
            dropout=dropout,
            init=init,
            weight_decay=weight_decay,
        )
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)
        self.tower_devices = (
            tower_devices if isinstance(tower_devices, (str, type(None))) else list(tower_devices)
        )
        self.resolved_tower_devices = devices
        self.num_classes = num_classes
        self.architecture = architecture
        self.activation = activation
        self.lrn = lrn
        self.overlapping_pool = overlapping_pool
        self.dropout = dropout
        self.init = init
        self.weight_decay = weight_decay
        self.mean_rgb = list(mean_rgb)
        self.std_rgb = None if std_rgb is None else list(std_rgb)
        self.pca_std = pca_std
        self.eigval = list(eigval)
        self.eigvec = [list(r) for r in eigvec]
        self.seed = seed

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "tower_devices": self.tower_devices,
            "architecture": self.architecture,
            "activation": self.activation,
            "lrn": self.lrn,
            "overlapping_pool": self.overlapping_pool,
            "dropout": self.dropout,
            "init": self.init,
            "weight_decay": self.weight_decay,
            "mean_rgb": self.mean_rgb,
            "std_rgb": self.std_rgb,
            "pca_std": self.pca_std,
            "eigval": self.eigval,
            "eigvec": self.eigvec,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def train_step(self, data):
        """Keras' TF train step, with `tf.gradients` in place of `tf.GradientTape`.

        Inside a traced step, tape gradients carry no device, so the whole backward pass
        would run on the first device; `tf.gradients` colocates each gradient op with
        its forward op, keeping tower b's backward pass on tower b's device.
        """
        if tf.executing_eagerly():  # run_eagerly=True: no graph, tape it is
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
        self._loss_tracker.update_state(
            keras_loss.unscale_loss_for_distribution(loss), sample_weight=tf.shape(x)[0]
        )
        scaled = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        grads = tf.gradients(scaled, [w.value for w in weights])
        self.optimizer.apply_gradients(zip(grads, weights, strict=True))
        return self._for_reduction(self.compute_metrics(x, y, y_pred, sample_weight))

    def test_step(self, data):
        return self._for_reduction(super().test_step(data))

    def _for_reduction(self, logs):
        """Across workers Keras reduces each logged value with strategy.reduce("MEAN",
        axis=0), which fails on the scalars metrics return; shape (1,) reduces to the
        same scalar."""
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras builds metrics from one batch, reduced with strategy.reduce("MEAN"); across
        several workers that reduce fails on an (images, labels) batch of per-replica
        values. The build needs only shapes and dtypes: take this replica's part."""
        if self._distribute_strategy is None or iterator is None:
            return super()._maybe_symbolic_build(iterator, data_batch)
        batch = _first_batch(iterator)
        if batch is None:  # validation after the first epoch: Keras keeps its iterator
            iterator.reset()  # across epochs, and the last pass used it up
            batch = _first_batch(iterator)
        data_batch = tf.nest.map_structure(
            lambda v: v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v, batch
        )
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)


def _first_batch(epoch_iterator):
    """One batch from a Keras epoch iterator, or None when it is used up."""
    for _, _, it in epoch_iterator:
        try:
            return next(it)
        except StopIteration:
            return None
    return None


def build_alexnet(num_classes=1000, tower_devices="auto", **kwargs) -> AlexNet:
    """The paper's AlexNet; see `AlexNet` for the arguments."""
    return AlexNet(num_classes=num_classes, tower_devices=tower_devices, **kwargs)
