"""Facts every part of the package shares, with no TensorFlow: image sizes, the names of a
data directory's files and shards, and the ImageNet statistics the paper's preprocessing
uses. The flag checks (`training.config`) import this in a second; the schema, the
pipeline, the converter and the model import it too, so each fact has one home.
"""

from __future__ import annotations

# -- image sizes (paper sections 2 and 4.1) ------------------------------------------------
RESIZE = 256  # section 2: shorter side resized to 256, then the central 256x256 crop
CROP = 224  # section 4.1: the network sees 224x224 patches

# -- a data directory ----------------------------------------------------------------------
SPLITS = ("train", "validation")
# The folders a raw image tree may hold each split in: Kaggle's copy of ImageNet says `val`.
SPLIT_FOLDERS = {"train": ("train",), "validation": ("validation", "val")}
METADATA_FILE = "metadata.json"  # classes, names, counts, mean, RGB eigen-decomposition
CONVERSION_REPORT_FILE = "conversion_report.json"  # every converted and skipped file
CONVERSION_CONFIG_FILE = "conversion_config.json"  # what the shards were made with
SHARD_INFO_DIR = ".shards"  # per-shard counts and pixel sums: what makes a rerun resume


def shard_name(split: str, index: int, count: int) -> str:
    """The official converters' shard names: train-00000-of-01024."""
    return f"{split}-{index:05d}-of-{count:05d}"


def shard_pattern(split: str) -> str:
    """A glob matching every shard of `split`."""
    return f"{split}-?????-of-?????"


# -- ImageNet statistics -------------------------------------------------------------------
# Per-channel mean of ImageNet train pixels, RGB, 0-255 scale (the values TF-slim's
# vgg_preprocessing and Caffe's VGG models use); the paper subtracts the mean image.
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)
# Per-channel std of ImageNet pixels, RGB, 0-255 (torchvision's 0.229, 0.224, 0.225 times
# 255). The paper does not divide by it; He-style inits assume unit-variance inputs.
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)
# Section 4.1's PCA of ImageNet RGB pixel covariance, RGB in [0, 1], eigenvectors as
# columns (the values widely used since; docs/paper.md). Times 255 for 0-255 pixels.
IMAGENET_EIGVAL = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)
PIXEL_SCALE = 255.0
PCA_ALPHA_STD = 0.1  # section 4.1: alpha_i ~ N(0, 0.1)

# -- training ------------------------------------------------------------------------------
PAPER_BATCH = 128  # section 5; the learning rate 0.01 is for this batch size
