"""The AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012), as a Keras functional model.

    model = build_alexnet(num_classes=1000, tower_devices="auto")

Two explicit towers (section 3.5, Figure 2): tower a's layers carry the suffix "a" and run
on the first device, tower b's the suffix "b" on the second. conv2, conv4 and conv5 read
only their own tower; conv3, fc6, fc7 and fc8 read both. Inputs are 224x224x3 RGB pixels
on the 0-255 scale (any numeric dtype); outputs are float32 logits.
"""

from __future__ import annotations

import keras

from alexnet_tf.core import constants
from alexnet_tf.core.options import ModelOptions, split_options

# Registers TopKError: compiled models saved by training load wherever the model does.
from alexnet_tf.model import metrics as _metrics  # noqa: F401
from alexnet_tf.model.keras_internals import ColocatedTrainStep
from alexnet_tf.model.layers import (
    ImagePreprocess,
    LocalResponseNorm,
    TowerConv2D,
    TowerDense,
    TowerDropout,
    TowerFlatten,
    TowerMaxPooling2D,
    TowerZeroPadding,
)
from alexnet_tf.model.placement import loadable_tower_devices, resolve_tower_devices

# Section 3.5 / Figure 2, per tower: (kernel size, stride); the widths are options
# (conv1_filters, ...), the paper's by default. conv1's 224 input is zero-padded by 2 (the
# conv1_pad option) so that stride 4 gives 55x55, as the paper's figure shows
# (docs/paper.md).
KERNELS = {"conv1": (11, 4), "conv2": (5, 1), "conv3": (3, 1), "conv4": (3, 1), "conv5": (3, 1)}
_PAPER = ModelOptions()
# The paper's (filters per tower, kernel size, stride) of each conv layer.
CONV_SPECS = {name: (getattr(_PAPER, f"{name}_filters"), *KERNELS[name]) for name in KERNELS}

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


def layer_widths(options: ModelOptions) -> tuple[dict, int]:
    """({conv layer: kernels per tower}, fc units per tower) for `options`' architecture.

    two_tower: the options' widths, per tower. Section 3.2's one-tower comparison nets
    (footnote 2) have one tower: one_tower doubles every width (all kernels in one
    tower); one_tower_half keeps one tower's kernels in conv1-4 and doubles conv5 and
    the fc layers.
    """
    width = {name: getattr(options, f"{name}_filters") for name in KERNELS}
    if options.architecture == "two_tower":
        return width, options.fc_units
    scale = 2 if options.architecture == "one_tower" else 1
    width = {name: w * scale for name, w in width.items()}
    width["conv5"] = options.conv5_filters * 2
    return width, options.fc_units * 2


class _Towers:
    """Makes the network's layers for its towers: (suffix, device) pairs, ("a", dev_a) and
    ("b", dev_b), or ("", dev_a) alone for the one-tower variants."""

    def __init__(self, options: ModelOptions, devices):
        self.o = options
        dev_a = devices[0] if devices else None
        if options.architecture == "two_tower":
            self.towers = (("a", dev_a), ("b", devices[1] if devices else None))
        else:
            self.towers = (("", dev_a),)
        self.width, self.fc_units = layer_widths(options)

    def conv(self, layer, xs, cross=False):
        """One conv per tower; `cross`: each reads every tower (conv3), else its own."""
        return [
            self._conv(layer, t, d)(xs if cross else x)
            for (t, d), x in zip(self.towers, xs, strict=True)
        ]

    def _conv(self, layer, tower, device):
        # A new initializer for each tower's layer: one instance draws the same values at
        # every call, and shared, the towers would start identical.
        k_init, b_init = _initializers(self.o.init, layer)
        kernel, stride = KERNELS[layer]
        return TowerConv2D(
            self.width[layer],
            kernel,
            strides=stride,
            padding="valid" if layer == "conv1" else "same",
            activation=self.o.activation,
            kernel_initializer=k_init,
            bias_initializer=b_init,
            device=device,
            name=layer + tower,
            form="auto" if layer == "conv1" else "direct",
        )

    def dense(self, layer, inputs, tower="", device=None, units=None, activation=None):
        k_init, b_init = _initializers(self.o.init, layer)
        return TowerDense(
            units or self.fc_units,
            activation=activation,
            kernel_initializer=k_init,
            bias_initializer=b_init,
            device=device,
            name=layer + tower,
            # Logits in float32 under mixed precision: softmax/loss need the range.
            dtype="float32" if layer == "fc8" else None,
            form="auto",
        )(inputs)

    def pool(self, name, xs):
        size = 3 if self.o.overlapping_pool else 2  # section 3.4: s=2, z=3 vs z=s=2
        ceil = self.o.ceil_pool
        return [
            TowerMaxPooling2D(size, strides=2, ceil_mode=ceil, device=d, name=name + t)(x)
            for (t, d), x in zip(self.towers, xs, strict=True)
        ]

    def lrn(self, index, xs):
        """LRN (section 3.3) of each tower; across towers, each reads both and keeps its
        own channels (bvlc_alexnet's one-group conv1)."""
        across = self.o.lrn_across_towers and len(self.towers) > 1
        return [
            LocalResponseNorm(
                bias=self.o.lrn_bias,
                alpha=self.o.lrn_alpha,
                tower=i if across else None,
                device=d,
                name=f"lrn{index}{t}",
            )(xs if across else x)
            for i, ((t, d), x) in enumerate(zip(self.towers, xs, strict=True))
        ]

    def fc(self, layer, xs):
        """fc6 / fc7: each tower's half reads both towers, then dropout (section 4.2)."""
        return [
            TowerDropout(self.o.dropout, device=d, name=f"drop{layer[2:]}{t}")(
                self.dense(layer, xs, t, d, activation=self.o.activation)
            )
            for t, d in self.towers
        ]

    def flatten(self, xs):
        return [
            TowerFlatten(device=d, name="flatten5" + t)(x)
            for (t, d), x in zip(self.towers, xs, strict=True)
        ]


def _network(images, *, devices, num_classes, options: ModelOptions):
    """The layer graph on `images` (the preprocessed (B, S, S, 3) tensor); shapes are the
    paper's, per tower."""
    net = _Towers(options, devices)
    dev_a = net.towers[0][1]
    padded = TowerZeroPadding(options.conv1_pad, device=dev_a, name="conv1_pad")(images)
    x = net.conv("conv1", [padded] * len(net.towers))  # (B, 55, 55, 48)
    if options.lrn:
        x = net.lrn(1, x)
    x = net.pool("pool1", x)  # (B, 27, 27, 48)
    x = net.conv("conv2", x)  # (B, 27, 27, 128): own tower only
    if options.lrn:
        x = net.lrn(2, x)
    x = net.pool("pool2", x)  # (B, 13, 13, 128)
    x = net.conv("conv3", x, cross=True)  # (B, 13, 13, 192): reads both towers
    x = net.conv("conv4", x)  # (B, 13, 13, 192)
    x = net.conv("conv5", x)  # (B, 13, 13, 128)
    x = net.flatten(net.pool("pool5", x))  # (B, 6 * 6 * 128)
    x = net.fc("fc6", x)  # (B, 2048)
    x = net.fc("fc7", x)  # (B, 2048)
    return net.dense("fc8", x, device=dev_a, units=num_classes)  # (B, num_classes)


@keras.saving.register_keras_serializable(package="alexnet_tf")
class AlexNet(ColocatedTrainStep):
    """The paper's network; every constructor argument is in `get_config()`.

    Args:
      num_classes: size of fc8 (1000 for ImageNet).
      tower_devices: "auto" (two GPUs if there are two, else no pinning), None (no
        pinning), or a pair of device names for towers a and b.
      mean_rgb, std_rgb, pca_std, eigval, eigvec: input preprocessing (see
        `ImagePreprocess`); std_rgb=None (the paper) does not divide; pca_std=0 switches
        PCA lighting off.
      seed: seeds PCA lighting's draws.
      **options: the fields of `alexnet_tf.core.options.ModelOptions` (architecture, activation,
        lrn, overlapping_pool, dropout, init, the widths conv1_filters ... conv5_filters
        and fc_units, ...), each its paper value by default. The paper's weight decay is
        the optimizer's (`model.optimizer.PaperSGD`).

    A model loaded from a file (`from_config`) whose tower devices this process lacks, as
    when it was trained on two GPUs and is loaded on a laptop, runs unpinned and logs so
    once; built directly, missing devices are an error.
    """

    def __init__(
        self,
        num_classes=1000,
        tower_devices="auto",
        *,
        mean_rgb=constants.IMAGENET_MEAN_RGB,
        std_rgb=None,
        pca_std=constants.PCA_ALPHA_STD,
        eigval=constants.IMAGENET_EIGVAL,
        eigvec=constants.IMAGENET_EIGVEC,
        seed=None,
        name="alexnet",
        **kwargs,
    ):
        options, kwargs = split_options(kwargs)
        options.check()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer. Received: {num_classes!r}")
        if pca_std < 0:
            raise ValueError(f"pca_std must be >= 0. Received: pca_std={pca_std!r}")
        devices = resolve_tower_devices(tower_devices)
        dev_a = devices[0] if devices else None

        size = options.image_size
        inputs = keras.Input((size, size, 3), name="image")
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
            options=options,
        )
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)
        self.tower_devices = (
            tower_devices if isinstance(tower_devices, (str, type(None))) else list(tower_devices)
        )
        self.resolved_tower_devices = devices
        self.num_classes = num_classes
        self.options = options
        self.mean_rgb = list(mean_rgb)
        self.std_rgb = None if std_rgb is None else list(std_rgb)
        self.pca_std = pca_std
        self.eigval = list(eigval)
        self.eigvec = [list(r) for r in eigvec]
        self.seed = seed

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "tower_devices": self.tower_devices,
            **self.options.to_dict(),
            "mean_rgb": self.mean_rgb,
            "std_rgb": self.std_rgb,
            "pca_std": self.pca_std,
            "eigval": self.eigval,
            "eigvec": self.eigvec,
            "seed": self.seed,
        }
        return config

    @classmethod
    def from_config(cls, config):
        # Files written before the decay moved into the optimizer carry weight_decay,
        # which the network no longer takes.
        config = {k: v for k, v in config.items() if k != "weight_decay"}
        config["tower_devices"] = loadable_tower_devices(config.get("tower_devices", "auto"))
        return cls(**config)


def build_alexnet(num_classes=1000, tower_devices="auto", **kwargs) -> AlexNet:
    """The paper's AlexNet; see `AlexNet` for the arguments."""
    return AlexNet(num_classes=num_classes, tower_devices=tower_devices, **kwargs)
