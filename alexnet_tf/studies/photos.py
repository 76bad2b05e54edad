"""A corpus of natural photographs for measuring the converter and the input pipeline.

The repository holds no photographs, and generated images compress and decode unlike
photos. scikit-image and scikit-learn ship eleven colour photographs (a cat, coffee, an
astronaut, a rocket, a temple, a flower, a motorcycle from two viewpoints, a retina, tissue
under a microscope, the Hubble deep field). The corpus is random 4:3 crops of them, each
resized to ImageNet's typical 500x375 and stored as a JPEG at quality 90, in the
image-folder layout `tools/make_tfrecords.py` reads (one class per source photograph):

    python tools/make_photo_corpus.py --output_dir=data/photos_raw --num_images=3000
    python tools/make_tfrecords.py --input_dir=data/photos_raw --output_dir=data/photos

Needs the `bench` extra (`pip install -e ".[bench]"`). Nothing is downloaded.
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np

SIZE = (500, 375)  # width, height: ImageNet's most common size
QUALITY = 90
# The crop's side, as a fraction of the largest 4:3 box the photograph holds.
MIN_SCALE, MAX_SCALE = 0.6, 1.0
VALIDATION_EVERY = 10  # each photograph's 1st, 11th, 21st... crop goes to validation


def source_photographs() -> dict[str, np.ndarray]:
    """The photographs the packages ship: name -> uint8 RGB array."""
    try:
        import skimage.data
        from sklearn.datasets import load_sample_image
    except ImportError as e:
        raise ImportError(
            f"the photo corpus needs scikit-image and scikit-learn ({e}); install them with "
            'pip install -e ".[bench]"'
        ) from None
    left, right, _ = skimage.data.stereo_motorcycle()
    photos = {
        "astronaut": skimage.data.astronaut(),
        "cat": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
        "retina": skimage.data.retina(),
        "hubble": skimage.data.hubble_deep_field(),
        "tissue": skimage.data.immunohistochemistry(),
        "motorcycle_left": left,
        "motorcycle_right": right,
        "temple": load_sample_image("china.jpg"),
        "flower": load_sample_image("flower.jpg"),
    }
    return {name: np.ascontiguousarray(p[..., :3]) for name, p in photos.items()}


def crop_jpeg(photo: np.ndarray, rng: np.random.Generator) -> bytes:
    """One random 4:3 crop of `photo`, randomly mirrored, resized to SIZE, as JPEG."""
    from PIL import Image

    height, width = photo.shape[:2]
    box_w = min(width, height * 4 / 3)  # the largest 4:3 box
    crop_w = box_w * rng.uniform(MIN_SCALE, MAX_SCALE)
    crop_h = crop_w * 3 / 4
    left = rng.uniform(0, width - crop_w)
    top = rng.uniform(0, height - crop_h)
    image = Image.fromarray(photo).resize(
        SIZE, Image.Resampling.LANCZOS, box=(left, top, left + crop_w, top + crop_h)
    )
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=QUALITY)
    return buf.getvalue()


def write_corpus(output_dir: str, num_images: int, seed: int = 0) -> dict:
    """Write `num_images` crops to output_dir/{train,validation}/<photograph>/N.JPEG
    (one in ten to validation). The folder is made under a temporary name and renamed
    when complete; an existing output_dir is refused. Returns counts by split."""
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1. Received: {num_images}")
    if os.path.exists(output_dir):
        raise FileExistsError(
            f"output_dir={output_dir} exists; the corpus is written to a new directory."
        )
    photos = source_photographs()
    names = sorted(photos)
    rng = np.random.default_rng(seed)
    tmp = output_dir.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    counts = {"train": 0, "validation": 0}
    for i in range(num_images):
        name = names[i % len(names)]
        split = "validation" if (i // len(names)) % VALIDATION_EVERY == 0 else "train"
        folder = os.path.join(tmp, split, name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{i:06d}.JPEG"), "wb") as f:
            f.write(crop_jpeg(photos[name], rng))
        counts[split] += 1
    os.replace(tmp, output_dir)
    return counts
