"""Small archives in ILSVRC-2012's official layout, for the converter's tests.

`write(folder)` writes ILSVRC2012_img_train.tar (inner <wnid>.tar files of
<wnid>_<n>.JPEG), ILSVRC2012_img_val.tar (flat ILSVRC2012_val_<8 digits>.JPEG) and
ILSVRC2012_devkit_t12.tar.gz (data/meta.mat written with scipy.io.savemat in the devkit's
field order, with inner WordNet nodes, and data/ILSVRC2012_validation_ground_truth.txt;
the writers are `studies.archives`').
The leaves' ILSVRC2012_IDs are not in WNID order, as in the real devkit, so mapping an ID
straight to an output index gives wrong labels. Among the images are the two kinds of
awkward file the real set holds: a PNG under a .JPEG name and a CMYK JPEG.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from alexnet_tf.studies import archives

# ILSVRC2012_ID -> (WNID, words) of the leaves: IDs in another order than the WNIDs.
LEAVES = {
    1: ("n02119789", "kit fox, Vulpes macrotis"),
    2: ("n02105855", "Shetland sheepdog, Shetland sheep dog, Shetland"),
    3: ("n01739381", "vine snake"),
    4: ("n01440764", "tench, Tinca tinca"),
}
INNER = {  # inner WordNet nodes: meta.mat holds them after the leaves
    5: ("n02084071", "dog, domestic dog, Canis familiaris", [2]),
    6: ("n00015388", "animal, animate being, beast, brute, creature, fauna", [1, 3, 4, 5]),
}
SORTED_WNIDS = sorted(w for w, _ in LEAVES.values())
TRAIN_PER_CLASS = 3
# ground truth, one ID per validation image in file-name order
VALIDATION_IDS = (4, 1, 2, 3, 1, 4, 2, 3)
PNG_NAMED_JPEG = "n02105855_2933.JPEG"  # the real set's PNG under a .JPEG name
CMYK = "n01739381_1309.JPEG"  # one of its 22 CMYK JPEGs


def label_of_wnid(wnid: str) -> int:
    """0-based output index: the WNID's place in sorted order."""
    return SORTED_WNIDS.index(wnid)


def validation_labels() -> list[int]:
    return [label_of_wnid(LEAVES[i][0]) for i in VALIDATION_IDS]


def _jpeg(seed: int, size=(180, 140), mode="RGB", fmt="JPEG") -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    if mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def write(
    folder: str,
    train_per_class: int = TRAIN_PER_CLASS,
    size=(180, 140),
    ground_truth=VALIDATION_IDS,
) -> dict:
    """Write the three archives into `folder`; returns {path: bytes written} of each."""
    os.makedirs(folder, exist_ok=True)
    inner = {}
    for k, (wnid, _) in enumerate(sorted(LEAVES.values())):
        files = {f"{wnid}_{n}.JPEG": _jpeg(100 * k + n, size) for n in range(train_per_class)}
        if wnid == "n02105855":
            files[PNG_NAMED_JPEG] = _jpeg(7, size, fmt="PNG")
        if wnid == "n01739381":
            files[CMYK] = _jpeg(8, size, mode="CMYK")
        inner[f"{wnid}.tar"] = archives.tar_bytes(files)
    validation = {
        f"ILSVRC2012_val_{n + 1:08d}.JPEG": _jpeg(1000 + n, size) for n in range(len(ground_truth))
    }
    written = {
        "ILSVRC2012_img_train.tar": archives.tar_bytes(inner),
        "ILSVRC2012_img_val.tar": archives.tar_bytes(validation),
        "ILSVRC2012_devkit_t12.tar.gz": archives.devkit_bytes(LEAVES, ground_truth, INNER),
    }
    for name, data in written.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return {os.path.join(folder, k): v for k, v in written.items()}
