"""The built-in demo data set: synthetic shapes in the raw image-folder layout (the
library behind `python -m alexnet_tf.demo_data`).

Six classes of filled shapes (circle, square, triangle, cross, ring, star) in random
colours, sizes, rotations and positions, on noisy gradient backgrounds, as JPEG files of
varied sizes and aspect ratios. Colour says nothing about the class, so a network has to
learn shape. `prepare_demo` writes RAW/train/<class>/*.jpg and RAW/validation/<class>/*.jpg
and converts them to TFRecords with the same code as real data.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from PIL import Image, ImageDraw

from alexnet_tf.core.files import replacing

CLASSES = ("circle", "square", "triangle", "cross", "ring", "star")
NAMES = {
    "circle": "filled circle",
    "square": "filled square",
    "triangle": "filled triangle",
    "cross": "plus-shaped cross",
    "ring": "ring (annulus)",
    "star": "five-pointed star",
}
TRAIN_PER_CLASS = 500
VALIDATION_PER_CLASS = 50
SIZE_RANGE = (160, 420)  # width and height drawn independently: varied aspect ratios


def _polygon(cx, cy, radii, angle0, points):
    return [
        (
            cx + radii[i % len(radii)] * math.cos(angle0 + 2 * math.pi * i / points),
            cy + radii[i % len(radii)] * math.sin(angle0 + 2 * math.pi * i / points),
        )
        for i in range(points)
    ]


def draw_image(shape: str, rng: np.random.Generator) -> Image.Image:
    """One RGB image of `shape`, random in everything but the shape."""
    w, h = (int(v) for v in rng.integers(*SIZE_RANGE, size=2))
    # Background: a linear gradient between two random colours, plus pixel noise.
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = (
        np.linspace(0, 1, w)[None, :, None]
        if rng.random() < 0.5
        else np.linspace(0, 1, h)[:, None, None]
    )
    bg = c0 + (c1 - c0) * t + rng.normal(0, 12, (h, w, 3))
    img = Image.fromarray(np.clip(np.broadcast_to(bg, (h, w, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    # The shape sits near the centre, so the central square crop (section 2) keeps it.
    side = min(w, h)
    r = side * rng.uniform(0.25, 0.38)
    cx = w / 2 + rng.uniform(-0.1, 0.1) * side
    cy = h / 2 + rng.uniform(-0.1, 0.1) * side
    bg_mean = (c0 + c1) / 2
    fill = rng.uniform(0, 255, 3)
    while np.abs(fill - bg_mean).sum() < 150:  # keep the shape visible
        fill = rng.uniform(0, 255, 3)
    fill = tuple(int(v) for v in fill)
    a = rng.uniform(0, 2 * math.pi)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        inner = r * rng.uniform(0.45, 0.65)
        hole = tuple(int(v) for v in np.clip(bg_mean, 0, 255))
        draw.ellipse([cx - inner, cy - inner, cx + inner, cy + inner], fill=hole)
    elif shape == "square":
        draw.polygon(_polygon(cx, cy, [r], a, 4), fill=fill)
    elif shape == "triangle":
        draw.polygon(_polygon(cx, cy, [r], a, 3), fill=fill)
    elif shape == "star":
        draw.polygon(_polygon(cx, cy, [r, r * 0.42], a, 10), fill=fill)
    elif shape == "cross":
        arm = r * 0.32
        corners = [(-r, -arm), (r, -arm), (r, arm), (-r, arm)]
        for rot in (a, a + math.pi / 2):
            pts = [
                (
                    cx + x * math.cos(rot) - y * math.sin(rot),
                    cy + x * math.sin(rot) + y * math.cos(rot),
                )
                for x, y in corners
            ]
            draw.polygon(pts, fill=fill)
    else:
        raise ValueError(f"shape must be one of {CLASSES}. Received: shape={shape!r}")
    return img


def write_raw(
    output_dir: str,
    train_per_class=TRAIN_PER_CLASS,
    validation_per_class=VALIDATION_PER_CLASS,
    seed=0,
) -> str:
    """Write RAW/{train,validation}/<class>/*.jpg and RAW/names.txt; returns RAW."""
    rng = np.random.default_rng(seed)
    for split, per_class in (("train", train_per_class), ("validation", validation_per_class)):
        for shape in CLASSES:
            folder = os.path.join(output_dir, split, shape)
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                path = os.path.join(folder, f"{shape}_{i:05d}.jpg")
                with replacing(path) as tmp:
                    draw_image(shape, rng).save(tmp, "JPEG", quality=90)
    with open(os.path.join(output_dir, "names.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{c}\t{NAMES[c]}\n" for c in CLASSES)
    return output_dir


def prepare_demo(
    data_dir: str, train_shards=8, validation_shards=2, num_workers=None, **raw_kwargs
) -> dict:
    """Generate the demo raw images under DATA_DIR/raw and convert them into DATA_DIR;
    a finished conversion is reused. Returns the metadata, with "dir": data_dir."""
    from alexnet_tf.core.constants import METADATA_FILE
    from alexnet_tf.data import tfrecords

    meta_path = os.path.join(data_dir, METADATA_FILE)
    if os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            return {**json.load(f), "dir": data_dir}
    raw = os.path.join(data_dir, "raw")
    done_marker = os.path.join(raw, ".complete")
    if not os.path.exists(done_marker):
        write_raw(raw, **raw_kwargs)
        open(done_marker, "w").close()
    meta = tfrecords.convert(
        raw,
        data_dir,
        train_shards=train_shards,
        validation_shards=validation_shards,
        num_workers=num_workers,
        names_file=os.path.join(raw, "names.txt"),
        progress=False,
    )
    return {**meta, "dir": data_dir}
