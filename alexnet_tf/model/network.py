"""The AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012), as a Keras functional model.

    model = build_alexnet(num_classes=1000, tower_devices="auto")

Two explicit towers (section 3.5, Figure 2): tower a's layers carry the suffix "a" and run
on the first device, tower b's the suffix "b" on the second. conv2, conv4 and conv5 read
only their own tower; conv3, fc6, fc7 and fc8 read both. Inputs are 224x224x3 RGB pixels
on the 0-255 scale (any numeric dtype); outputs are float32 logits.
"""

from __future__ import annotations

import keras

from alexnet_tf import constants
from alexnet_tf.keras_internals import ColocatedTrainStep

# Registers TopKError: compiled models saved by training load wherever the model does.
from alexnet_tf.model import metrics as _metrics  # noqa: F401
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
from alexnet_tf.model.placement import resolve_tower_devices
from alexnet_tf.options import ModelOptions, split_options

# Section 3.5 / Figure 2, per tower: (filters, kernel size, stride). conv1's 224 input is
# zero-padded by 2 (the conv1_pad option) so that stride 4 gives 55x55, as the paper's
# figure shows (docs/paper.md).
CONV_SPECS = {
    "conv1": (48, 11, 4),
    "conv2": (128, 5, 1),
    "conv3": (192, 3, 1),
    "conv4": (192, 3, 1),
    "conv5": (128, 3, 1),
}
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


def _network(images, *, devices, num_classes, options: ModelOptions, width_divisor=1):
    """Build the layer graph on `images` (the preprocessed (B, S, S, 3) tensor)."""
    o = options
    activation, init = o.activation, o.init
    pool_size = 3 if o.overlapping_pool else 2  # section 3.4: s=2, z=3 vs z=s=2

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
            device=device,
            name=layer + tower,
            # Logits in float32 under mixed precision: softmax/loss need the range.
            dtype="float32" if layer == "fc8" else None,
        )(inputs)

    def pool(name, tower, device, x):
        return TowerMaxPooling2D(
            pool_size, strides=2, ceil_mode=o.ceil_pool, device=device, name=name + tower
        )(x)

    def norm_pool(index, xs):
        """LRN (section 3.3) and pooling of each tower, after conv1 and conv2."""
        if o.lrn:
            lrn = dict(bias=o.lrn_bias, alpha=o.lrn_alpha)
            across = o.lrn_across_towers and len(towers) > 1
            xs = [
                LocalResponseNorm(
                    **lrn, tower=i if across else None, device=d, name=f"lrn{index}{t}"
                )(xs if across else x)
                for i, ((t, d), x) in enumerate(zip(towers, xs, strict=True))
            ]
        return [pool(f"pool{index}", t, d, x) for (t, d), x in zip(towers, xs, strict=True)]

    dev_a = devices[0] if devices else None
    padded = TowerZeroPadding(o.conv1_pad, device=dev_a, name="conv1_pad")(images)

    if o.architecture == "two_tower":
        towers = (("a", dev_a), ("b", devices[1] if devices else None))
        width = {name: spec[0] for name, spec in CONV_SPECS.items()}
        fc_units = FC_UNITS
    else:
        towers = (("", dev_a),)
        # Section 3.2: the one-tower comparison net has half the kernels in every conv
        # layer except the last, and full-size fc layers (footnote 2).
        scale = 2 if o.architecture == "one_tower" else 1
        width = {name: spec[0] * scale for name, spec in CONV_SPECS.items()}
        width["conv5"] = CONV_SPECS["conv5"][0] * 2
        fc_units = 2 * FC_UNITS
    width = {name: max(1, w // width_divisor) for name, w in width.items()}
    fc_units = max(1, fc_units // width_divisor)

    def conv_layer(layer, xs, cross=False):
        """One conv per tower; `cross`: each reads every tower (conv3), else its own."""
        _, kernel, stride = CONV_SPECS[layer]
        return [
            conv(layer, t, d, width[layer], kernel, stride, xs if cross else x)
            for (t, d), x in zip(towers, xs, strict=True)
        ]

    x = conv_layer("conv1", [padded] * len(towers))  # (B, 55, 55, 48) per tower
    x = norm_pool(1, x)  # (B, 27, 27, 48)
    x = conv_layer("conv2", x)  # (B, 27, 27, 128): own tower only
    x = norm_pool(2, x)  # (B, 13, 13, 128)
    x = conv_layer("conv3", x, cross=True)  # (B, 13, 13, 192): reads both towers
    x = conv_layer("conv4", x)  # (B, 13, 13, 192)
    x = conv_layer("conv5", x)  # (B, 13, 13, 128)
    x = [
        TowerFlatten(device=d, name="flatten5" + t)(pool("pool5", t, d, v))
        for (t, d), v in zip(towers, x, strict=True)
    ]  # (B, 6 * 6 * 128) per tower
    for layer in ("fc6", "fc7"):  # each half reads both towers; (B, 2048) per tower
        x = [
            TowerDropout(o.dropout, device=d, name=f"drop{layer[2:]}{t}")(
                dense(layer, t, d, fc_units, x, activation)
            )
            for t, d in towers
        ]
    return dense("fc8", "", dev_a, num_classes, x, None)  # (B, num_classes)


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
      **options: the fields of `alexnet_tf.options.ModelOptions` (architecture, activation,
        lrn, overlapping_pool, dropout, init, ...), each its paper value by default.
        The paper's weight decay is the optimizer's (`model.optimizer.PaperSGD`).
      test_width_divisor: for the package's own tests of mechanics (resume, callbacks,
        CLIs) only: every layer keeps its name, towers and wiring but has this many
        times fewer kernels and units. Saved in `get_config()` only when not 1.
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
        test_width_divisor=1,
        name="alexnet",
        **kwargs,
    ):
        options, kwargs = split_options(kwargs)
        options.check()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer. Received: {num_classes!r}")
        if pca_std < 0:
            raise ValueError(f"pca_std must be >= 0. Received: pca_std={pca_std!r}")
        if not isinstance(test_width_divisor, int) or test_width_divisor < 1:
            raise ValueError(
                f"test_width_divisor must be a positive integer. Received: {test_width_divisor!r}"
            )
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
            width_divisor=test_width_divisor,
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
        self.test_width_divisor = test_width_divisor

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
        if self.test_width_divisor != 1:
            config["test_width_divisor"] = self.test_width_divisor
        return config

    @classmethod
    def from_config(cls, config):
        # Files written before the decay moved into the optimizer carry weight_decay,
        # which the network no longer takes.
        config = {k: v for k, v in config.items() if k != "weight_decay"}
        return cls(**config)


def build_alexnet(num_classes=1000, tower_devices="auto", **kwargs) -> AlexNet:
    """The paper's AlexNet; see `AlexNet` for the arguments."""
    return AlexNet(num_classes=num_classes, tower_devices=tower_devices, **kwargs)
