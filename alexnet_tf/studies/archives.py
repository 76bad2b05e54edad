"""Image folders packed into ILSVRC-2012's official download layout, so conversion from
archives can be timed on real photographs (`benchmark convert`).

    ILSVRC2012_img_train.tar       an inner <class>.tar per class folder of train/
    ILSVRC2012_img_val.tar         validation/'s images, flat, as ILSVRC2012_val_<n>.JPEG
    ILSVRC2012_devkit_t12.tar.gz   data/meta.mat (the classes as leaf synsets, under IDs in
                                   reverse name order, as the real IDs are in no name order)
                                   and data/ILSVRC2012_validation_ground_truth.txt
"""

from __future__ import annotations

import io
import os
import tarfile

import numpy as np

from alexnet_tf.data import ilsvrc

# meta.mat's `synsets` fields, in the devkit's order
META_FIELDS = (
    "ILSVRC2012_ID",
    "WNID",
    "words",
    "gloss",
    "num_children",
    "children",
    "wordnet_height",
    "num_train_images",
)


def tar_bytes(files: dict, gzip: bool = False) -> bytes:
    """A tar (or .tar.gz) holding {name: bytes}, in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gzip else "w", format=tarfile.GNU_FORMAT) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def meta_mat(leaves: dict, inner: dict | None = None) -> bytes:
    """meta.mat's `synsets` struct array: `leaves` {ID: (WNID, words)}, then the inner
    WordNet nodes `inner` {ID: (WNID, words, [child IDs])}, written by scipy.io.savemat."""
    import scipy.io

    rows = [
        (i, w, words, f"gloss of {w}", 0, np.zeros(0), 0, 0) for i, (w, words) in leaves.items()
    ]
    for i, (w, words, children) in (inner or {}).items():
        rows.append((i, w, words, "", len(children), np.array(children, float), 1, 0))
    synsets = np.zeros((len(rows), 1), dtype=[(f, object) for f in META_FIELDS])
    for k, row in enumerate(rows):
        for f, value in zip(META_FIELDS, row, strict=True):
            synsets[k, 0][f] = np.array(value, np.uint16) if isinstance(value, int) else value
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"synsets": synsets})
    return buf.getvalue()


def devkit_bytes(leaves: dict, ground_truth, inner: dict | None = None) -> bytes:
    """The devkit .tar.gz: meta.mat and the ground truth (one ID per line)."""
    root = "ILSVRC2012_devkit_t12/"
    return tar_bytes(
        {
            root + ilsvrc.META_MAT: meta_mat(leaves, inner),
            root + ilsvrc.GROUND_TRUTH: "".join(f"{i}\n" for i in ground_truth).encode(),
        },
        gzip=True,
    )


def pack(raw_dir: str, folder: str) -> dict:
    """Pack `raw_dir`/{train,validation}/<class>/* into the three archives in `folder`;
    returns the image counts by split."""

    def listing(split):
        d = os.path.join(raw_dir, split)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def read(split, c):
        d = os.path.join(raw_dir, split, c)
        return {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))}

    classes = sorted(set(listing("train")) | set(listing("validation")))
    ids = {c: len(classes) - k for k, c in enumerate(classes)}
    os.makedirs(folder, exist_ok=True)

    counts = {"train": 0, "validation": 0}
    with tarfile.open(os.path.join(folder, ilsvrc.TRAIN_TAR), "w") as outer:
        for c in listing("train"):
            files = read("train", c)
            counts["train"] += len(files)
            data = tar_bytes({f"{c}_{n}": b for n, b in files.items()})
            info = tarfile.TarInfo(f"{c}.tar")
            info.size = len(data)
            outer.addfile(info, io.BytesIO(data))
    validation, truth = {}, []
    for c in listing("validation"):
        for data in read("validation", c).values():
            validation[f"ILSVRC2012_val_{len(validation) + 1:08d}.JPEG"] = data
            truth.append(ids[c])
    counts["validation"] = len(validation)
    with open(os.path.join(folder, ilsvrc.VALIDATION_TAR), "wb") as f:
        f.write(tar_bytes(validation))
    with open(os.path.join(folder, ilsvrc.DEVKIT), "wb") as f:
        f.write(devkit_bytes({ids[c]: (c, c) for c in classes}, truth))
    return counts
