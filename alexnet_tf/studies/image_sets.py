"""Real labelled image sets that installed packages ship, written as image folders.

The from-scratch recipe (`configs/scratch.flags`) and the classic baselines
(`tools/baseline.py`) are measured on data that is not ours, reached the way a user's own
folders are: images in `train/<class>/` and `validation/<class>/`, converted by
`tools/make_tfrecords.py`. Nothing is downloaded; each set comes from a package:

- `fashion_mnist`: Zalando's Fashion-MNIST (28x28 grayscale, 10 classes of clothing), from
  Debian's `dataset-fashion-mnist` package (`apt-get install dataset-fashion-mnist`), which
  puts the original IDX files in /usr/share/datasets/fashion-mnist. Train images come from
  its training set and validation images from its test set, the first N of each.
- `digits`: scikit-learn's handwritten digits (UCI optdigits, 1,797 images of 8x8, 10
  classes, 17 grey levels), split by a seeded shuffle.

    python tools/make_image_set.py --set=fashion_mnist --output_dir=data/fashion_raw \
        --num_train=10000 --num_validation=2000
    python tools/make_tfrecords.py --input_dir=data/fashion_raw --output_dir=data/fashion \
        --train_shards=16 --validation_shards=4

Images are written at their own size as PNGs (lossless); `make_tfrecords` resizes them.
"""

from __future__ import annotations

import gzip
import os
import shutil

import numpy as np

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = (
    "t-shirt_top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle_boot",
)
SETS = ("fashion_mnist", "digits")


def _read_idx(path: str) -> np.ndarray:
    """An IDX file (gzipped or not) as a uint8 array: images (N, H, W) or labels (N,)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values, its header says {shape}")
    return data.reshape(shape)


def fashion_mnist(source_dir: str = FASHION_MNIST_DIR):
    """(train_images, train_labels, test_images, test_labels, class names)."""
    names = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }

    def find(stem):
        for candidate in (stem + ".gz", stem):
            path = os.path.join(source_dir, candidate)
            if os.path.exists(path):
                return path
        raise FileNotFoundError(
            f"{stem}(.gz) is not in {source_dir}: install Debian's dataset-fashion-mnist "
            "package (apt-get install dataset-fashion-mnist), or pass --source_dir with "
            "the four IDX files"
        )

    arrays = [_read_idx(find(stem)) for split in ("train", "test") for stem in names[split]]
    return (*arrays, FASHION_MNIST_CLASSES)


def digits():
    """(images, labels, class names) of scikit-learn's digits, as uint8 0-255."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            'the digits set comes with scikit-learn: pip install -e ".[baseline]"'
        ) from None
    d = load_digits()
    images = np.round(d.images * (255 / 16)).astype(np.uint8)  # 0..16 grey levels
    return images, d.target.astype(np.uint8), tuple(str(i) for i in range(10))


def load(name: str, num_train: int, num_validation: int, seed: int = 0, source_dir=None):
    """(train_images, train_labels, validation_images, validation_labels, class names)
    of set `name`, num_train and num_validation images (0: all there are)."""
    if name not in SETS:
        raise ValueError(f"set must be one of {', '.join(SETS)}. Received: {name}")
    if name == "fashion_mnist":
        x_tr, y_tr, x_te, y_te, classes = fashion_mnist(source_dir or FASHION_MNIST_DIR)
        return _first(x_tr, y_tr, num_train) + _first(x_te, y_te, num_validation) + (classes,)
    x, y, classes = digits()
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = num_validation or len(y) // 5
    val, train = order[:n_val], order[n_val:]
    if num_train:
        train = train[:num_train]
    if len(train) < 1 or n_val >= len(y):
        raise ValueError(
            f"digits has {len(y)} images: num_train + num_validation must fit. "
            f"Received: {num_train} + {num_validation}"
        )
    return x[train], y[train], x[val], y[val], classes


def _first(images, labels, n):
    if n > len(labels):
        raise ValueError(f"asked for {n} images, the split holds {len(labels)}")
    n = n or len(labels)
    return images[:n], labels[:n]


def write_folders(output_dir: str, splits: dict, classes) -> dict:
    """Write {split: (images, labels)} as output_dir/<split>/<class>/NNNNNN.png. The folder
    is made under a temporary name and renamed when complete; an existing one is refused.
    Returns the images written by split."""
    from PIL import Image

    if os.path.exists(output_dir):
        raise FileExistsError(f"output_dir={output_dir} exists; the set is written to a new one.")
    tmp = output_dir.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    for split, (images, labels) in splits.items():
        for name in classes:
            os.makedirs(os.path.join(tmp, split, name), exist_ok=True)
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            path = os.path.join(tmp, split, classes[label], f"{i:06d}.png")
            Image.fromarray(image).save(path)
    os.replace(tmp, output_dir)
    return {split: len(labels) for split, (_, labels) in splits.items()}
