"""A trained network in a neutral form, as read from a file: what `bvlc.py` maps onto the
towers. No TensorFlow here.

Layouts are the file formats' own: conv weights (out, in / groups, kh, kw) as in Caffe
and ONNX; fully connected weights (out, in); fc6's inputs in pool5's (C, H, W) order
unless `fc6_inputs` says (H, W, C); images BGR unless `rgb`.
"""

from __future__ import annotations

import dataclasses

import numpy as np


class SourceError(ValueError):
    """A file that is not bvlc_alexnet's structure; the message names the first mismatch."""


@dataclasses.dataclass
class Conv:
    weight: np.ndarray  # (out, in / groups, kh, kw)
    bias: np.ndarray
    stride: int = 1
    pads: tuple = (0, 0, 0, 0)  # top, left, bottom, right
    groups: int = 1


@dataclasses.dataclass
class LRN:
    size: int = 5
    alpha: float = 1e-4  # Caffe's and ONNX's: divided by size in the formula
    beta: float = 0.75
    bias: float = 1.0


@dataclasses.dataclass
class Pool:
    kernel: int = 3
    stride: int = 2
    pads: tuple = (0, 0, 0, 0)
    ceil_mode: bool = False


@dataclasses.dataclass
class Dense:
    weight: np.ndarray  # (out, in)
    bias: np.ndarray


@dataclasses.dataclass
class Source:
    """bvlc_alexnet's layers as a file gives them."""

    input_size: int | None  # None: the file does not say
    convs: list  # 5 Conv
    lrns: list  # 2 LRN
    pools: list  # 3 Pool
    dense: list  # fc6, fc7, fc8
    rgb: bool = False  # Caffe's models take BGR
    fc6_inputs: str = "CHW"  # the order pool5 is flattened in: "CHW" or "HWC"
    format: str = ""

    @property
    def num_classes(self) -> int:
        return int(self.dense[2].weight.shape[0])


# bvlc_alexnet's structure, which every file read here must have.
CONVS = ("conv1", "conv2", "conv3", "conv4", "conv5")
# (out, in / groups, kernel, stride, groups) of each conv, and (out, in) of fc6-fc8.
CONV_SHAPES = {
    "conv1": (96, 3, 11, 4, 1),
    "conv2": (256, 48, 5, 1, 2),
    "conv3": (384, 256, 3, 1, 1),
    "conv4": (384, 192, 3, 1, 2),
    "conv5": (256, 192, 3, 1, 2),
}
CONV_PADS = {"conv2": 2, "conv3": 1, "conv4": 1, "conv5": 1}
CONV1_PAD = 0  # bvlc_alexnet's; other files pad conv1 by 0 to 5, which the model follows
DENSE_INPUTS = {"fc6": 256 * 6 * 6, "fc7": 4096, "fc8": 4096}
