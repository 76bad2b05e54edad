"""Raw image folders -> sharded TFRecords in the ImageNet schema (`data/schema.py`).

The library behind `tools/make_tfrecords.py`; see that tool for the command line.

Layouts: `RAW/train/<class>/*`, `RAW/validation/<class>/*` (or `RAW/val/`, as Kaggle's
copy of ImageNet names it), or a flat validation folder with a labels file; or, through
`data/ilsvrc.py`, ILSVRC-2012's three archives read in place. Images are resized as the
paper did (shorter side to `resize`, central square crop; section 2) and stored as RGB
JPEG. Each shard is written under a temporary name and renamed when complete, with a small
sidecar of its counts and pixel statistics, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import stat
import time
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from alexnet_tf.core import constants
from alexnet_tf.core.constants import RESIZE
from alexnet_tf.core.files import atomic_write_json, remove_stale_temporaries, replacing
from alexnet_tf.data import ilsvrc
from alexnet_tf.data.plan import ConversionError, Plan  # noqa: F401 - part of this API

JPEG_QUALITY = 90  # re-encoding quality for resized or converted images
# Larger images are refused unread: a decompression bomb claims billions of pixels.
MAX_PIXELS = 100_000_000
EXIF_ORIENTATION = 0x0112


class SkipImage(Exception):
    """This file cannot become a training image; the message says why."""


# ---------------------------------------------------------------------------- discovery


def _read_lines(path: str, flag: str) -> list[str]:
    if not os.path.isfile(path):
        raise ConversionError(f"--{flag}={path} is not a file.")
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([os.path.realpath(path), root]) == root


def _list_files(folder: str, root: str, follow_symlinks: bool, skipped: list) -> list[str]:
    """Regular files under `folder`, sorted; links out of `root` are reported, not read."""
    found = []
    seen = set()  # real directories walked: a symlink back up the tree is a loop
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=follow_symlinks):
        seen.add(os.path.realpath(dirpath))
        keep = []
        for d in sorted(d for d in dirnames if not d.startswith(".")):
            path = os.path.join(dirpath, d)
            if follow_symlinks and os.path.realpath(path) in seen:
                skipped.append((os.path.relpath(path, root), "symlink loop (already walked)"))
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path) and not follow_symlinks and not _inside(path, root):
                skipped.append((rel, "symlink pointing outside the input directory"))
            elif os.path.islink(path) and not os.path.exists(path):
                skipped.append((rel, "broken symlink (or a symlink loop)"))
            elif not _regular(path):
                # A FIFO would block the reader forever; devices and sockets are no images.
                skipped.append((rel, "not a regular file (FIFO, socket or device)"))
            else:
                found.append(rel)
    return found


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let the reader report why it cannot be read


def _subdirs(path: str) -> list[str]:
    return sorted(
        d
        for d in os.listdir(path)
        if not d.startswith(".") and os.path.isdir(os.path.join(path, d))
    )


def names_from_lines(lines, classes) -> list[str]:
    """Readable names for `classes` from lines "SYNSET<TAB>name" (or "SYNSET name", as
    ImageNet's synset_words.txt has them); a class no line names keeps its id."""
    names = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    for line in lines:
        synset, _, text = line.strip().partition("\t" if "\t" in line else " ")
        if synset in index and text.strip():
            names[index[synset]] = text.strip()
    return names


def discover(
    input_dir: str,
    validation_labels: str | None = None,
    synsets_file: str | None = None,
    names_file: str | None = None,
    follow_symlinks: bool = False,
) -> tuple[Plan, list]:
    """Find the classes and images of `input_dir`. Returns (plan, files skipped already)."""
    if not os.path.isdir(input_dir):
        raise ConversionError(f"--input_dir={input_dir} does not exist or is not a directory.")
    root = os.path.realpath(input_dir)
    folder_of = _split_folders(root, input_dir)
    present = list(folder_of)
    if not present:
        entries = sorted(os.listdir(root))[:10]
        raise ConversionError(
            f"Unknown layout in --input_dir={input_dir}: expected RAW/train/<class>/<image> "
            f"and/or RAW/validation/<class>/<image> (or a flat RAW/validation/ or RAW/val/ "
            f"with --validation_labels). Found: {entries or 'an empty directory'}"
        )
    skipped: list = []
    train_dir = os.path.join(root, "train")
    if synsets_file:
        classes = _read_lines(synsets_file, "synsets_file")
    elif "train" in present:
        classes = _subdirs(train_dir)
    else:
        classes = _subdirs(os.path.join(root, folder_of["validation"]))
    if not classes:
        raise ConversionError(
            f"No class folders found in {train_dir if 'train' in present else root}: "
            "expected one sub-folder per class."
        )
    if len(set(classes)) != len(classes):
        raise ConversionError("--synsets_file lists a class more than once.")
    index = {c: i for i, c in enumerate(classes)}
    names = (
        names_from_lines(_read_lines(names_file, "names_file"), classes)
        if names_file
        else list(classes)
    )

    items: dict = {}
    for split in present:
        split_dir = os.path.join(root, folder_of[split])
        folders = _subdirs(split_dir)
        if split == "validation" and validation_labels:
            items[split] = _flat_validation(
                root, split_dir, validation_labels, index, skipped, follow_symlinks
            )
            continue
        loose = [
            f
            for f in os.listdir(split_dir)
            if not f.startswith(".") and os.path.isfile(os.path.join(split_dir, f))
        ]
        if loose and not folders:
            raise ConversionError(
                f"{split_dir} holds image files but no class folders: for ImageNet's flat "
                "validation folder pass --validation_labels=FILE (one 'FILENAME SYNSET' per "
                "line, or one synset per line in sorted file-name order)."
            )
        unknown = [f for f in folders if f not in index]
        if unknown:
            raise ConversionError(
                f"{split_dir} has class folders not in the class list: {unknown[:5]}"
                f"{' ...' if len(unknown) > 5 else ''} (classes: {len(classes)}, from "
                f"{'--synsets_file' if synsets_file else 'the train folders'})."
            )
        pairs = []
        for folder in folders:
            for rel in _list_files(os.path.join(split_dir, folder), root, follow_symlinks, skipped):
                pairs.append((rel, index[folder]))
        items[split] = pairs
    if not any(items.values()):
        raise ConversionError(f"No image files found under --input_dir={input_dir}.")
    return Plan(input_dir=root, classes=tuple(classes), names=tuple(names), items=items), skipped


def _split_folders(root: str, input_dir: str) -> dict:
    """split -> the folder holding it: `validation`, or `val` as Kaggle's copy names it."""
    found = {}
    for split in constants.SPLITS:
        names = [f for f in constants.SPLIT_FOLDERS[split] if os.path.isdir(os.path.join(root, f))]
        if len(names) > 1:
            raise ConversionError(
                f"--input_dir={input_dir} holds both {' and '.join(names)}/: both would be "
                f"the {split} split. Keep one."
            )
        if names:
            found[split] = names[0]
    return found


def _label_lines(lines: list[str], path: str) -> dict | None:
    """{file name or id: synset} from 'FILENAME SYNSET' lines, or from Kaggle's
    LOC_val_solution.csv (header `ImageId,PredictionString`; the string starts with the
    WNID). None for single-column lines (one synset per file)."""
    if lines and lines[0].replace(" ", "").lower().startswith("imageid,predictionstring"):
        mapping = {}
        for n, line in enumerate(lines[1:], start=2):
            image_id, _, prediction = line.partition(",")
            if not prediction.split():
                raise ConversionError(
                    f"--validation_labels={path} line {n}: {line!r} has no WNID after the "
                    "comma (expected 'ImageId,WNID x y x y ...')."
                )
            mapping[image_id.strip()] = prediction.split()[0]
        return mapping
    if all(len(line.split()) >= 2 for line in lines):
        return dict(line.split()[:2] for line in lines)
    return None


def _flat_validation(root, split_dir, labels_file, index, skipped, follow_symlinks):
    found = _list_files(split_dir, root, follow_symlinks, skipped)
    files = [os.path.relpath(os.path.join(root, rel), split_dir) for rel in found]
    lines = _read_lines(labels_file, "validation_labels")
    mapping = _label_lines(lines, labels_file)
    if mapping is None and len(lines) == len(files):
        mapping = dict(zip(sorted(files), lines, strict=True))
    elif mapping is None:
        raise ConversionError(
            f"--validation_labels={labels_file} has {len(lines)} single-column lines but "
            f"{split_dir} holds {len(files)} files; give one synset per file (sorted file-name "
            "order) or 'FILENAME SYNSET' lines."
        )
    pairs = []
    for name in files:
        synset = mapping.get(name, mapping.get(os.path.splitext(name)[0]))
        rel = os.path.relpath(os.path.join(split_dir, name), root)
        if synset is None:
            skipped.append((rel, "not listed in --validation_labels"))
        elif synset not in index:
            skipped.append((rel, f"label {synset!r} is not a known class"))
        else:
            pairs.append((rel, index[synset]))
    return pairs


# ---------------------------------------------------------------------------- one image


@dataclass
class Loaded:
    jpeg: bytes  # what the record stores
    image: Image.Image  # the RGB pixels it decodes to
    note: str | None  # what was converted, if anything


def load_image(data: bytes, resize: int, quality: int = JPEG_QUALITY) -> Loaded:
    """Encoded image bytes -> the RGB JPEG to store.

    Raises SkipImage with the reason when the bytes cannot become a training image.
    The note says what was converted (CMYK, PNG, palette, EXIF rotation...).
    """
    if not data:
        raise SkipImage("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            if img.width * img.height > MAX_PIXELS:
                raise SkipImage(
                    f"{img.width}x{img.height} pixels is over the {MAX_PIXELS:,} limit "
                    "(decompression bomb?)"
                )
            if resize and fmt == "JPEG":
                img.draft("RGB", (resize, resize))  # decode at a reduced DCT scale: faster
            notes = []
            if img.getexif().get(EXIF_ORIENTATION, 1) != 1:
                img = ImageOps.exif_transpose(img)  # loads the pixels
                notes.append("EXIF orientation applied")
            img.load()
    except SkipImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise SkipImage(f"decompression bomb: {e}") from None
    except Exception as e:  # noqa: BLE001 - PIL raises many types for bad files
        raise SkipImage(f"not a readable image ({type(e).__name__}: {e})") from None
    if min(img.size) < 1:
        raise SkipImage(f"empty image ({img.width}x{img.height})")
    if fmt != "JPEG":
        notes.append(f"{fmt or 'unknown format'} stored as JPEG")
    if img.mode != "RGB":
        notes.append(f"{img.mode} converted to RGB")
        if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, (255, 255, 255))
            img.paste(rgba, mask=rgba.getchannel("A"))
        else:
            img = img.convert("RGB")
    if resize:
        img = _resize_center_crop(img, resize)
    elif not notes:
        return Loaded(data, img, None)  # an RGB JPEG kept as it was
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Loaded(buf.getvalue(), img, "; ".join(notes) or None)


def _resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    """Shorter side to `size`, then the central size x size square (section 2). Only the
    central square of the source is resampled, so memory stays at size x size whatever
    the aspect ratio (a 20000x2 image resized whole would be 2.5 G pixels)."""
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    left, top = (nw - size) // 2, (nh - size) // 2
    box = (left / scale, top / scale, (left + size) / scale, (top + size) / scale)
    return img.resize((size, size), Image.Resampling.BICUBIC, box=box)


# ---------------------------------------------------------------------------- shards


@dataclass(frozen=True)
class ShardTask:
    split: str
    index: int
    count: int
    items: tuple  # ((relpath, label), ...)
    input_dir: str
    output_dir: str
    resize: int
    quality: int
    classes: tuple
    names: tuple

    @property
    def name(self) -> str:
        return constants.shard_name(self.split, self.index, self.count)

    @property
    def info_path(self) -> str:
        return os.path.join(self.output_dir, constants.SHARD_INFO_DIR, self.name + ".json")


@dataclass
class EncodedShard:
    """One shard's images, ready to write: what a worker sends back."""

    records: list  # (jpeg, height, width, filename, label), in the shard's order
    info: dict  # the sidecar: counts, notes and pixel sums


def encode_shard(task: ShardTask) -> EncodedShard:
    """Read, convert and re-encode one shard's images, and sum their pixel statistics.
    The CPU-bound part of a shard, run in the converter's workers: it needs no
    TensorFlow, so a worker starts in a fraction of a second."""
    records, converted, skipped = [], [], []
    pixel_sum, outer_sum, pixel_count = np.zeros(3), np.zeros((3, 3)), 0
    handles: dict = {}  # archive name -> open file, for archived images
    try:
        for item in task.items:
            rel, label = item[0], item[1]
            try:
                loaded = load_image(_read_item(task, item, handles), task.resize, task.quality)
            except SkipImage as e:
                skipped.append((rel, str(e)))
                continue
            img = loaded.image
            records.append((loaded.jpeg, img.height, img.width, os.path.basename(rel), label))
            if loaded.note:
                converted.append((rel, loaded.note))
            if task.split == "train":  # section 4.1: statistics of the training set
                # Sums in 0-255 units, exact in float64 (under 2^53); scaling each pixel
                # to [0, 1] first took a third of the conversion's time.
                px = np.asarray(img, np.uint8).reshape(-1, 3).astype(np.float64)
                pixel_sum += np.ones(len(px)) @ px
                outer_sum += px.T @ px
                pixel_count += len(px)
    finally:
        for f in handles.values():
            f.close()
    info = {
        "shard": task.name,
        "written": len(records),
        "converted": converted,
        "skipped": skipped,
        "pixel_sum": (pixel_sum / 255.0).tolist(),
        "outer_sum": (outer_sum / 255.0**2).tolist(),
        "pixel_count": pixel_count,
    }
    return EncodedShard(records, info)


def _read_item(task: ShardTask, item: tuple, handles: dict) -> bytes:
    """An item's encoded bytes: a file under the input directory, or (items of five) an
    image read by offset from an archive (`ilsvrc.read_member`)."""
    if len(item) > 2:
        return ilsvrc.read_member(task.input_dir, item, handles)
    try:
        with open(os.path.join(task.input_dir, item[0]), "rb") as f:
            return f.read()
    except OSError as e:
        raise SkipImage(f"cannot read file ({e.strerror})") from None


def write_shard(task: ShardTask, shard: EncodedShard) -> dict:
    """Write an encoded shard (temporary name, then rename), then its sidecar, which
    marks it finished; return the sidecar."""
    import tensorflow as tf

    from alexnet_tf.data import schema

    final = os.path.join(task.output_dir, task.name)
    with replacing(final) as tmp, tf.io.TFRecordWriter(tmp) as writer:
        for jpeg, height, width, filename, label in shard.records:
            writer.write(
                schema.make_example(
                    jpeg, height, width, filename, label, task.classes[label], task.names[label]
                )
            )
    atomic_write_json(task.info_path, shard.info)
    return shard.info


def convert_shard(task: ShardTask) -> dict:
    """Encode and write one shard in this process; return its sidecar."""
    return write_shard(task, encode_shard(task))


def pixel_statistics(infos: list[dict]) -> dict:
    """Mean (0-255) and RGB covariance eigen-decomposition ([0, 1] scale, eigenvectors as
    columns, largest eigenvalue first) from per-shard sums; what PCA lighting needs."""
    n = sum(i["pixel_count"] for i in infos)
    if not n:
        return {}
    mean = sum(np.array(i["pixel_sum"]) for i in infos) / n
    cov = sum(np.array(i["outer_sum"]) for i in infos) / n - np.outer(mean, mean)
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1]
    return {
        "mean_rgb": (mean * 255.0).round(4).tolist(),
        "eigval": np.clip(eigval[order], 0, None).round(8).tolist(),
        "eigvec": eigvec[:, order].round(6).tolist(),
    }


# ---------------------------------------------------------------------------- the run


def plan_shards(
    plan: Plan, output_dir: str, shards: dict, resize: int, quality: int, seed: int
) -> list[ShardTask]:
    """Split each split's items into shards; train order is shuffled with `seed`."""
    tasks = []
    for split, items in plan.items.items():
        count = shards[split]
        if count < 1:
            raise ConversionError(f"--{split}_shards must be >= 1. Received: {count}")
        if count > len(items):
            raise ConversionError(
                f"--{split}_shards={count} is more than the {len(items)} {split} images "
                f"found; use at most {len(items)}."
            )
        items = list(items)
        if split == "train":
            random.Random(seed).shuffle(items)
        for index, chunk in enumerate(np.array_split(np.arange(len(items)), count)):
            tasks.append(
                ShardTask(
                    split,
                    index,
                    count,
                    tuple(items[i] for i in chunk),
                    plan.input_dir,
                    output_dir,
                    resize,
                    quality,
                    plan.classes,
                    plan.names,
                )
            )
    return tasks


def _check_config(output_dir: str, config: dict) -> None:
    path = os.path.join(output_dir, constants.CONVERSION_CONFIG_FILE)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
        diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
        if diff:
            shown = ", ".join(
                f"{k}: {old.get(k)!r} -> {config.get(k)!r}" for k in diff if k != "plan_digest"
            )
            if "plan_digest" in diff:
                shown = (shown + ", " if shown else "") + "the input files differ"
            raise ConversionError(
                f"--output_dir={output_dir} holds shards of a different configuration "
                f"({shown}). Use a new output directory, or delete that one to start over."
            )
    else:
        stale = [f for f in os.listdir(output_dir) if f.startswith(constants.SPLITS)]
        if stale:
            raise ConversionError(
                f"--output_dir={output_dir} already holds shards ({stale[0]}, ...) but no "
                f"{constants.CONVERSION_CONFIG_FILE}: refusing to mix runs. Use an empty directory."
            )
        atomic_write_json(path, config)


def convert(
    input_dir: str | None,
    output_dir: str,
    train_shards: int = 1024,
    validation_shards: int = 128,
    num_workers: int | None = None,
    resize: int = RESIZE,
    quality: int = JPEG_QUALITY,
    seed: int = 0,
    validation_labels: str | None = None,
    synsets_file: str | None = None,
    names_file: str | None = None,
    follow_symlinks: bool = False,
    progress: bool = True,
    ilsvrc_dir: str | None = None,
    verify_archives: bool = False,
) -> dict:
    """Convert `input_dir` (image folders) or `ilsvrc_dir` (ILSVRC-2012's three archives,
    `data/ilsvrc.py`) into shards in `output_dir`; returns the metadata written.

    All argument and layout errors raise ConversionError before any image is read.
    Rerunning with the same arguments after an interruption keeps finished shards.
    """
    if bool(input_dir) == bool(ilsvrc_dir):
        raise ConversionError(
            "Give exactly one of --input_dir (image folders) and --ilsvrc_dir (the three "
            f"ILSVRC-2012 archives). Received: --input_dir={input_dir} "
            f"--ilsvrc_dir={ilsvrc_dir}"
        )
    if ilsvrc_dir:
        given = {
            "validation_labels": validation_labels,
            "synsets_file": synsets_file,
            "names_file": names_file,
        }
        clash = [f"--{k}={v}" for k, v in given.items() if v]
        if clash:
            raise ConversionError(
                f"{', '.join(clash)}: with --ilsvrc_dir the devkit's meta.mat and ground "
                "truth give the classes, names and validation labels; drop the flag."
            )
    elif verify_archives:
        raise ConversionError("--verify_archives checks the files of --ilsvrc_dir; give it.")
    if resize < 0:
        raise ConversionError(f"--resize must be 0 (keep originals) or > 0. Received: {resize}")
    if not 1 <= quality <= 100:
        raise ConversionError(f"JPEG quality must be in 1..100. Received: {quality}")
    num_workers = num_workers or os.cpu_count() or 1
    if num_workers < 1:
        raise ConversionError(f"--num_workers must be >= 1. Received: {num_workers}")
    if ilsvrc_dir:
        plan, skipped_early = ilsvrc.plan(ilsvrc_dir, output_dir, verify_archives)
    else:
        plan, skipped_early = discover(
            input_dir, validation_labels, synsets_file, names_file, follow_symlinks
        )
    shards = {"train": train_shards, "validation": validation_shards}
    tasks = plan_shards(plan, output_dir, shards, resize, quality, seed)
    os.makedirs(os.path.join(output_dir, constants.SHARD_INFO_DIR), exist_ok=True)
    config = {
        "resize": resize,
        "jpeg_quality": quality,
        "seed": seed,
        "shards": {s: shards[s] for s in plan.items},
        "classes": len(plan.classes),
        "plan_digest": plan.digest(),
    }
    _check_config(output_dir, config)
    remove_stale_temporaries(output_dir)  # shards half-written by an interrupted run

    done, todo = [], []
    for task in tasks:
        info = _read_info(task)
        (done if info is not None else todo).append(info if info is not None else task)
    total = sum(len(t.items) for t in tasks)
    remaining = sum(len(t.items) for t in todo)
    logging.info(
        "%d images in %d shards; %d shards already done, %d to write with %d worker(s)",
        total,
        len(tasks),
        len(done),
        len(todo),
        num_workers,
    )
    done.extend(_run(todo, num_workers, remaining, progress))
    return _write_results(output_dir, plan, tasks, done, skipped_early, config)


def _write_results(output_dir, plan: Plan, tasks, infos: list, skipped_early, config) -> dict:
    """conversion_report.json and metadata.json from the shards' sidecars; returns the
    metadata."""
    infos = {i["shard"]: i for i in infos}
    by_split = {s: [infos[t.name] for t in tasks if t.split == s] for s in plan.items}
    report = {
        "written": sum(i["written"] for i in infos.values()),
        "converted": [c for i in infos.values() for c in i["converted"]],
        "skipped": [list(s) for s in skipped_early]
        + [s for i in infos.values() for s in i["skipped"]],
    }
    if plan.source:
        report["source"] = plan.source
    stats = pixel_statistics(by_split.get("train", []))
    metadata = {
        "classes": list(plan.classes),
        "names": list(plan.names),
        "num_examples": {s: sum(i["written"] for i in v) for s, v in by_split.items()},
        "shards": {s: len(v) for s, v in by_split.items()},
        **stats,
        "resize": config["resize"],
        "jpeg_quality": config["jpeg_quality"],
        "seed": config["seed"],
        "converted": len(report["converted"]),
        "skipped": len(report["skipped"]),
    }
    if plan.source and plan.source["notes"]:
        metadata["notes"] = plan.source["notes"]  # e.g. a partial download
    atomic_write_json(os.path.join(output_dir, constants.CONVERSION_REPORT_FILE), report)
    atomic_write_json(os.path.join(output_dir, constants.METADATA_FILE), metadata)
    return metadata


def _read_info(task: ShardTask) -> dict | None:
    """The sidecar of a finished shard, or None when the shard must be (re)written."""
    if not os.path.exists(os.path.join(task.output_dir, task.name)):
        return None
    try:
        with open(task.info_path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _run(tasks: list[ShardTask], num_workers: int, images: int, progress: bool) -> list[dict]:
    """Convert `tasks`: in this process, or with `num_workers` worker processes encoding
    shards while this one writes them (workers hold no TensorFlow; see `encode_shard`)."""
    from tqdm import tqdm

    bar = tqdm(total=images, unit="img", disable=not progress, smoothing=0.1)
    results = []
    start = time.perf_counter()
    try:
        if num_workers == 1 or len(tasks) <= 1:
            for task in tasks:
                results.append(convert_shard(task))
                bar.update(len(task.items))
        else:
            import multiprocessing

            # spawn: a forked child would inherit TensorFlow's threads and locks.
            ctx = multiprocessing.get_context("spawn")
            by_name = {t.name: t for t in tasks}
            with ctx.Pool(num_workers) as pool:
                for shard in pool.imap_unordered(encode_shard, tasks):
                    task = by_name[shard.info["shard"]]
                    results.append(write_shard(task, shard))
                    bar.update(len(task.items))
    finally:
        bar.close()
    if results:
        seconds = time.perf_counter() - start
        logging.info(
            "wrote %d shards, %d images in %.1f s (%.1f images/s)",
            len(results),
            images,
            seconds,
            images / max(seconds, 1e-9),
        )
    return results
