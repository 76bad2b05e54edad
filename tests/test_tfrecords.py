"""make_tfrecords: awkward files, exact counts, schema, resume, determinism, errors."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from shards import examples, feature
from trainer import ROOT

from alexnet_tf.core import constants
from alexnet_tf.data import schema, tfrecords


def _save(path, img, fmt, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, fmt, **kw)


def _jpeg_bytes(w=120, h=90, colour=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def raw(tmp_path):
    """A raw tree: 2 classes, plain and awkward files; returns (dir, expectations)."""
    r = tmp_path / "raw"
    t = r / "train"
    rgb = Image.new("RGB", (300, 200), (10, 200, 10))
    for i in range(4):
        _save(str(t / "cat" / f"plain{i}.JPEG"), rgb, "JPEG")
        _save(str(t / "dog" / f"plain{i}.JPEG"), Image.new("RGB", (200, 300), (0, 0, 250)), "JPEG")
    _save(str(t / "cat" / "cmyk.JPEG"), Image.new("CMYK", (260, 260), (0, 255, 255, 0)), "JPEG")
    _save(str(t / "cat" / "png_named.JPEG"), rgb, "PNG")
    _save(str(t / "cat" / "gray.JPEG"), Image.new("L", (280, 300), 128), "JPEG")
    _save(str(t / "dog" / "rgba.png"), Image.new("RGBA", (270, 260), (5, 5, 5, 128)), "PNG")
    _save(str(t / "dog" / "palette.png"), rgb.convert("P"), "PNG")
    exif = Image.Exif()
    exif[tfrecords.EXIF_ORIENTATION] = 6  # rotate 90: 300x200 stored, 200x300 shown
    _save(str(t / "dog" / "rotated.JPEG"), rgb, "JPEG", exif=exif)
    (t / "dog" / "truncated.JPEG").write_bytes(_jpeg_bytes(400, 400)[:300])
    (t / "dog" / "empty.JPEG").write_bytes(b"")
    (t / "cat" / "notes.txt").write_text("not an image")
    outside = tmp_path / "outside.JPEG"
    _save(str(outside), rgb, "JPEG")
    os.symlink(outside, t / "cat" / "link.JPEG")
    v = r / "validation"
    for cls in ("cat", "dog"):
        for i in range(2):
            _save(str(v / cls / f"v{i}.JPEG"), rgb, "JPEG")
    expect = {
        "train_written": 8 + 6,  # 8 plain + cmyk, png, gray, rgba, palette, rotated
        "converted": {
            "cmyk.JPEG",
            "png_named.JPEG",
            "gray.JPEG",
            "rgba.png",
            "palette.png",
            "rotated.JPEG",
        },
        "skipped": {"truncated.JPEG", "empty.JPEG", "notes.txt", "link.JPEG"},
    }
    return str(r), expect


def test_awkward_files_are_converted_or_reported(raw, tmp_path):
    raw_dir, expect = raw
    out = str(tmp_path / "out")
    meta = tfrecords.convert(raw_dir, out, train_shards=3, validation_shards=2, num_workers=1)
    assert meta["num_examples"] == {"train": expect["train_written"], "validation": 4}
    assert meta["classes"] == ["cat", "dog"]
    report = json.load(open(os.path.join(out, constants.CONVERSION_REPORT_FILE)))
    assert {os.path.basename(p) for p, _ in report["converted"]} == expect["converted"]
    skipped = {os.path.basename(p): why for p, why in report["skipped"]}
    assert set(skipped) == expect["skipped"]
    assert "0 bytes" in skipped["empty.JPEG"]
    assert "outside the input directory" in skipped["link.JPEG"]
    assert "not a readable image" in skipped["truncated.JPEG"]
    assert meta["skipped"] == 4 and meta["converted"] == 6

    records = examples(out, "train")
    assert len(records) == expect["train_written"]
    for ex in records:
        assert set(ex.features.feature) == {
            schema.ENCODED,
            schema.HEIGHT,
            schema.WIDTH,
            schema.COLORSPACE,
            schema.CHANNELS,
            schema.FORMAT,
            schema.FILENAME,
            schema.LABEL,
            schema.SYNSET,
            schema.TEXT,
        }
        image = tf.io.decode_jpeg(feature(ex, schema.ENCODED)).numpy()
        assert image.shape == (256, 256, 3)
        assert (feature(ex, schema.HEIGHT), feature(ex, schema.WIDTH)) == (256, 256)
        name = feature(ex, schema.FILENAME).decode()
        synset = feature(ex, schema.SYNSET).decode()
        label = feature(ex, schema.LABEL)
        assert label == {"cat": 1, "dog": 2}[synset]  # 1-based, sorted folder order
        is_cat = name in ("cmyk.JPEG", "png_named.JPEG", "gray.JPEG")
        if name.startswith("plain"):
            assert synset in ("cat", "dog")
        else:
            assert synset == ("cat" if is_cat else "dog"), name
    # Mean of the training pixels, against the decoded records (JPEG loses a little).
    pixels = np.concatenate(
        [tf.io.decode_jpeg(feature(ex, schema.ENCODED)).numpy().reshape(-1, 3) for ex in records]
    )
    np.testing.assert_allclose(meta["mean_rgb"], pixels.mean(0), atol=1.5)
    vecs = np.array(meta["eigvec"])
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(3), atol=1e-5)
    assert meta["eigval"] == sorted(meta["eigval"], reverse=True)


# The features tensorflow/models' build_imagenet_data.py writes, as its readers parse them;
# written out here rather than taken from data/schema.py, so a drift of ours shows.
BUILD_IMAGENET_DATA_FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/height": tf.io.FixedLenFeature([], tf.int64),
    "image/width": tf.io.FixedLenFeature([], tf.int64),
    "image/colorspace": tf.io.FixedLenFeature([], tf.string),
    "image/channels": tf.io.FixedLenFeature([], tf.int64),
    "image/format": tf.io.FixedLenFeature([], tf.string),
    "image/filename": tf.io.FixedLenFeature([], tf.string),
    "image/class/label": tf.io.FixedLenFeature([], tf.int64),
    "image/class/synset": tf.io.FixedLenFeature([], tf.string),
    "image/class/text": tf.io.FixedLenFeature([], tf.string),
}


def test_records_parse_with_the_official_converters_features(raw, tmp_path):
    """Every record read by tf.io.parse_single_example with build_imagenet_data.py's keys
    and types: a JPEG of the stated size, RGB, 3 channels, the 1-based label of its synset
    in sorted order (0 is background), and its synset's text."""
    raw_dir, expect = raw
    out = str(tmp_path / "out")
    names = tmp_path / "names.txt"
    names.write_text("cat\tdomestic cat\ndog\tdomestic dog\n")
    tfrecords.convert(raw_dir, out, train_shards=2, validation_shards=1, num_workers=1,
                      names_file=str(names))  # fmt: skip
    counts = {}
    for split in ("train", "validation"):
        files = sorted(tf.io.gfile.glob(os.path.join(out, f"{split}-*-of-*")))
        for serialized in tf.data.TFRecordDataset(files):
            ex = tf.io.parse_single_example(serialized, BUILD_IMAGENET_DATA_FEATURES)
            ex = {k: v.numpy() for k, v in ex.items()}
            assert tf.io.is_jpeg(ex["image/encoded"]).numpy()
            pixels = tf.io.decode_jpeg(ex["image/encoded"]).numpy()
            assert pixels.shape == (ex["image/height"], ex["image/width"], 3)
            assert (ex["image/colorspace"], ex["image/channels"], ex["image/format"]) == (
                b"RGB",
                3,
                b"JPEG",
            )
            synset = ex["image/class/synset"].decode()
            assert ex["image/class/label"] == 1 + ["cat", "dog"].index(synset)
            assert ex["image/class/text"].decode() == f"domestic {synset}"
            assert ex["image/filename"]
            counts[split] = counts.get(split, 0) + 1
    assert counts == {"train": expect["train_written"], "validation": 4}


def test_exif_rotation_and_originals_kept_without_resize(raw, tmp_path):
    raw_dir, _ = raw
    out = str(tmp_path / "out")
    tfrecords.convert(raw_dir, out, train_shards=1, validation_shards=1, num_workers=1, resize=0)
    by_name = {
        (feature(ex, schema.SYNSET).decode(), feature(ex, schema.FILENAME).decode()): ex
        for ex in examples(out, "train")
    }
    rotated = by_name["dog", "rotated.JPEG"]
    assert (feature(rotated, schema.HEIGHT), feature(rotated, schema.WIDTH)) == (300, 200)
    assert tf.io.decode_jpeg(feature(rotated, schema.ENCODED)).shape == (300, 200, 3)
    plain = by_name["cat", "plain0.JPEG"]
    original = open(os.path.join(raw_dir, "train", "cat", "plain0.JPEG"), "rb").read()
    assert feature(plain, schema.ENCODED) == original  # an RGB JPEG is stored untouched
    gray = tf.io.decode_jpeg(feature(by_name["cat", "gray.JPEG"], schema.ENCODED))
    assert gray.shape == (300, 280, 3)


def _shard_bytes(out):
    return {
        f: open(os.path.join(out, f), "rb").read()
        for f in sorted(os.listdir(out))
        if f.startswith(constants.SPLITS)
    }


def test_deterministic_across_runs_and_worker_counts(raw, tmp_path):
    raw_dir, _ = raw
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    tfrecords.convert(raw_dir, a, train_shards=3, validation_shards=2, num_workers=1, seed=5)
    tfrecords.convert(raw_dir, b, train_shards=3, validation_shards=2, num_workers=2, seed=5)
    assert _shard_bytes(a) == _shard_bytes(b)
    assert (
        open(os.path.join(a, "metadata.json")).read()
        == open(os.path.join(b, "metadata.json")).read()
    )
    c = str(tmp_path / "c")
    tfrecords.convert(raw_dir, c, train_shards=3, validation_shards=2, num_workers=1, seed=6)
    order = lambda d: [feature(e, schema.FILENAME) for e in examples(d, "train")]  # noqa: E731
    assert order(a) != order(c) and sorted(order(a)) == sorted(order(c))


def test_resume_keeps_finished_shards_and_never_exposes_partial_ones(raw, tmp_path):
    raw_dir, _ = raw
    out = str(tmp_path / "out")
    kw = dict(train_shards=3, validation_shards=2, num_workers=1)
    tfrecords.convert(raw_dir, out, **kw)
    complete = _shard_bytes(out)
    # An interruption: one shard never renamed (only its temporary file exists), another
    # renamed but without its sidecar, metadata not yet written.
    lost = constants.shard_name("train", 1, 3)
    writer = subprocess.Popen(["true"])  # the writer that was killed: its pid is free now
    writer.wait()
    os.replace(os.path.join(out, lost), os.path.join(out, f"{lost}.tmp-{writer.pid}"))
    os.remove(
        os.path.join(out, constants.SHARD_INFO_DIR, constants.shard_name("train", 2, 3) + ".json")
    )
    os.remove(os.path.join(out, "metadata.json"))
    kept = os.path.join(out, constants.shard_name("train", 0, 3))
    os.utime(kept, (1, 1))
    tfrecords.convert(raw_dir, out, **kw)
    assert os.stat(kept).st_mtime == 1  # finished shard not rewritten
    assert _shard_bytes(out) == complete
    assert not [f for f in os.listdir(out) if ".tmp-" in f]
    assert json.load(open(os.path.join(out, "metadata.json")))["num_examples"]["train"] == 14


def test_output_of_another_configuration_is_refused(raw, tmp_path):
    raw_dir, _ = raw
    out = str(tmp_path / "out")
    tfrecords.convert(raw_dir, out, train_shards=3, validation_shards=2, num_workers=1)
    with pytest.raises(tfrecords.ConversionError, match=r"different configuration.*resize"):
        tfrecords.convert(raw_dir, out, train_shards=3, validation_shards=2, resize=128)
    os.makedirs(os.path.join(raw_dir, "train", "cat", "more"))
    _save(os.path.join(raw_dir, "train", "cat", "new.JPEG"), Image.new("RGB", (9, 9)), "JPEG")
    with pytest.raises(tfrecords.ConversionError, match="input files differ"):
        tfrecords.convert(raw_dir, out, train_shards=3, validation_shards=2)


def test_flat_validation_with_labels_file(tmp_path):
    r = tmp_path / "raw"
    for cls in ("n01", "n02"):
        _save(str(r / "train" / cls / "a.JPEG"), Image.new("RGB", (50, 40)), "JPEG")
    for i in range(3):
        _save(str(r / "validation" / f"ILSVRC_{i}.JPEG"), Image.new("RGB", (50, 40)), "JPEG")
    two_col = tmp_path / "labels2.txt"
    two_col.write_text("ILSVRC_0.JPEG n02\nILSVRC_1.JPEG n01\nILSVRC_2.JPEG n02\n")
    one_col = tmp_path / "labels1.txt"
    one_col.write_text("n02\nn01\nn02\n")
    for labels in (two_col, one_col):
        out = str(tmp_path / f"out_{labels.stem}")
        tfrecords.convert(
            str(r),
            out,
            train_shards=1,
            validation_shards=1,
            num_workers=1,
            validation_labels=str(labels),
        )
        got = {
            feature(e, schema.FILENAME).decode(): feature(e, schema.LABEL)
            for e in examples(out, "validation")
        }
        assert got == {"ILSVRC_0.JPEG": 2, "ILSVRC_1.JPEG": 1, "ILSVRC_2.JPEG": 2}
    with pytest.raises(tfrecords.ConversionError, match="--validation_labels"):
        tfrecords.convert(str(r), str(tmp_path / "x"), train_shards=1, validation_shards=1)


def test_synsets_and_names_files_fix_order_and_names(raw, tmp_path):
    raw_dir, _ = raw
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("dog\ncat\n")
    names = tmp_path / "names.txt"
    names.write_text("cat\tdomestic cat\ndog\tdomestic dog\n")
    out = str(tmp_path / "out")
    meta = tfrecords.convert(
        raw_dir,
        out,
        train_shards=1,
        validation_shards=1,
        num_workers=1,
        synsets_file=str(synsets),
        names_file=str(names),
    )
    assert meta["classes"] == ["dog", "cat"]
    assert meta["names"] == ["domestic dog", "domestic cat"]
    ex = next(e for e in examples(out, "train") if feature(e, schema.SYNSET) == b"cat")
    assert feature(ex, schema.LABEL) == 2 and feature(ex, schema.TEXT) == b"domestic cat"


def test_bad_arguments_fail_before_any_work(raw, tmp_path):
    raw_dir, _ = raw
    out = str(tmp_path / "out")
    err = tfrecords.ConversionError
    with pytest.raises(err, match=r"--input_dir=.*nope does not exist"):
        tfrecords.convert(str(tmp_path / "nope"), out)
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "images").mkdir()
    with pytest.raises(err, match=r"Unknown layout.*Found: \['images'\]"):
        tfrecords.convert(str(tmp_path / "odd"), out)
    (tmp_path / "empty" / "train" / "cat").mkdir(parents=True)
    with pytest.raises(err, match="No image files found"):
        tfrecords.convert(str(tmp_path / "empty"), out)
    with pytest.raises(err, match=r"--train_shards=1024 is more than the 17 train images"):
        tfrecords.convert(raw_dir, out, train_shards=1024, validation_shards=1)
    assert not os.path.exists(out)  # nothing was written


def test_cli_reports_counts_and_uses_exit_status_2(raw, tmp_path):
    raw_dir, _ = raw
    tool = os.path.join(ROOT, "tools", "make_tfrecords.py")
    out = str(tmp_path / "out")
    ok = subprocess.run(
        [
            sys.executable,
            tool,
            f"--input_dir={raw_dir}",
            f"--output_dir={out}",
            "--train_shards=2",
            "--validation_shards=1",
            "--num_workers=1",
            "--noprogress",
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "written train: 14, validation: 4; converted 6; skipped 4" in ok.stdout
    bad = subprocess.run(
        [sys.executable, tool, f"--input_dir={tmp_path / 'missing'}", f"--output_dir={out}"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "--input_dir=" in bad.stderr and "does not exist" in bad.stderr


def _hostile_tree(tmp_path):
    """Plain images beside hostile ones: a decompression bomb (a 17 KB PNG of 144 M
    pixels), 1x1, 20000x2 and 2x20000 images, a FIFO, an unreadable file, a file symlink
    cycle and a directory symlink back up the tree."""
    r = tmp_path / "hostile"
    a = r / "train" / "a"
    for i in range(3):
        _save(str(a / f"plain{i}.JPEG"), Image.new("RGB", (300, 240), (200, 10, 10)), "JPEG")
        _save(str(r / "validation" / "a" / f"v{i}.JPEG"), Image.new("RGB", (99, 99)), "JPEG")
    _save(str(a / "bomb.png"), Image.new("1", (12000, 12000)), "PNG")
    _save(str(a / "one_pixel.png"), Image.new("RGB", (1, 1), (0, 255, 0)), "PNG")
    _save(str(a / "wide.png"), Image.new("RGB", (20000, 2), (0, 0, 255)), "PNG")
    _save(str(a / "tall.png"), Image.new("RGB", (2, 20000), (255, 255, 0)), "PNG")
    os.mkfifo(a / "fifo.JPEG")
    _save(str(a / "locked.JPEG"), Image.new("RGB", (300, 240)), "JPEG")
    os.chmod(a / "locked.JPEG", 0)
    os.symlink("cycle_b.JPEG", a / "cycle_a.JPEG")
    os.symlink("cycle_a.JPEG", a / "cycle_b.JPEG")
    os.symlink("..", a / "up")  # a/up/a/up/... when links are followed
    return r


CONVERT_AND_MEASURE = """
import json, sys
from alexnet_tf.data import tfrecords
if sys.argv[3] == "locked":  # root reads any file: make this one fail as it would for a user
    real_open = open
    def open_(path, *a, **k):
        if str(path).endswith("locked.JPEG"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *a, **k)
    tfrecords.open = open_
meta = tfrecords.convert(sys.argv[1], sys.argv[2], train_shards=1, validation_shards=1,
                         num_workers=1, follow_symlinks=True, progress=False)
# VmHWM: this process's peak RSS (ru_maxrss would carry over pytest's, from before exec).
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"rss_mb": int(peak) / 1024, "meta": meta}))
"""


def test_hostile_input_is_reported_with_bounded_memory(tmp_path):
    raw = _hostile_tree(tmp_path)
    out = tmp_path / "out"
    mode = "locked" if os.geteuid() == 0 else "chmod"
    r = subprocess.run(
        [sys.executable, "-c", CONVERT_AND_MEASURE, str(raw), str(out), mode],
        capture_output=True,
        text=True,
        timeout=300,  # a followed symlink loop or an opened FIFO would hang here
    )
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    # Measured 0.76 GB, TensorFlow's share included. Resizing wide.png whole would take
    # 655 M pixels (2 GB), and decoding the bomb 144 M.
    assert result["rss_mb"] < 1200, result["rss_mb"]
    report = json.load(open(out / constants.CONVERSION_REPORT_FILE))
    skipped = {p: why for p, why in report["skipped"]}
    assert "decompression bomb" in skipped["train/a/bomb.png"]
    assert "not a regular file" in skipped["train/a/fifo.JPEG"]
    assert "cannot read file (Permission denied)" in skipped["train/a/locked.JPEG"]
    assert "broken symlink (or a symlink loop)" in skipped["train/a/cycle_a.JPEG"]
    assert "symlink loop" in skipped["train/a/up/a"]  # up is train/, and a was walked
    assert len(skipped) == 6
    written = {feature(ex, schema.FILENAME).decode(): ex for ex in examples(str(out), "train")}
    assert set(written) == {"plain0.JPEG", "plain1.JPEG", "plain2.JPEG", "one_pixel.png",
                            "wide.png", "tall.png"}  # fmt: skip
    for name, colour in (("one_pixel.png", (0, 255, 0)), ("wide.png", (0, 0, 255))):
        image = tf.io.decode_jpeg(feature(written[name], schema.ENCODED)).numpy()
        assert image.shape == (256, 256, 3)
        np.testing.assert_allclose(image.reshape(-1, 3).mean(0), colour, atol=3)
    assert result["meta"]["skipped"] == 6
