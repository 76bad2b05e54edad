"""make_tfrecords --ilsvrc_dir: ILSVRC-2012's three archives read in place, labelled by
WNID through the devkit; bad archives refused; Kaggle's copy; TFDS's label order."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import ilsvrc_archives as arch
import numpy as np
import pytest
from PIL import Image
from shards import examples, feature
from trainer import ROOT

from alexnet_tf.core import constants
from alexnet_tf.data import ilsvrc, schema, tfrecords
from alexnet_tf.studies import archives as packing

TOOL = os.path.join(ROOT, "tools", "make_tfrecords.py")


def _tree(folder):
    """Every file under `folder` with its size and modification time."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            st = os.stat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), folder)] = (st.st_size, st.st_mtime)
    return out


def _cli(*args, **kw):
    return subprocess.run(
        [sys.executable, TOOL, "--noprogress", *args], capture_output=True, text=True, **kw
    )


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("downloads"))
    arch.write(folder)
    return folder


@pytest.fixture(scope="module")
def converted(archives, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("imagenet"))
    before = _tree(archives)
    r = _cli(
        f"--ilsvrc_dir={archives}",
        f"--output_dir={out}",
        "--train_shards=3",
        "--validation_shards=2",
        "--num_workers=2",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert _tree(archives) == before  # the downloads are only read
    return out, r


def test_every_label_is_its_wnids_place_in_sorted_order(converted):
    out, _ = converted
    train = examples(out, "train")
    assert len(train) == 4 * arch.TRAIN_PER_CLASS + 2  # with the PNG and the CMYK file
    for ex in train:
        name = feature(ex, schema.FILENAME).decode()
        wnid = name.split("_")[0]
        assert feature(ex, schema.LABEL) == 1 + arch.label_of_wnid(wnid), name
        assert feature(ex, schema.SYNSET).decode() == wnid
    validation = sorted(examples(out, "validation"), key=lambda e: feature(e, schema.FILENAME))
    names = [feature(e, schema.FILENAME).decode() for e in validation]
    assert names == [f"ILSVRC2012_val_{n + 1:08d}.JPEG" for n in range(len(arch.VALIDATION_IDS))]
    got = [feature(e, schema.LABEL) - 1 for e in validation]
    assert got == arch.validation_labels()
    # The trap these archives set: the IDs taken as indices would label most images wrong.
    assert sum(g != i - 1 for g, i in zip(got, arch.VALIDATION_IDS, strict=True)) >= 6


def test_names_come_from_the_devkits_words(converted):
    out, _ = converted
    meta = json.load(open(os.path.join(out, constants.METADATA_FILE)))
    assert meta["classes"] == arch.SORTED_WNIDS
    words = {w: text for w, text in arch.LEAVES.values()}
    assert meta["names"] == [words[w] for w in arch.SORTED_WNIDS]
    assert meta["names"][0] == "tench, Tinca tinca"
    ex = examples(out, "train")[0]
    wnid = feature(ex, schema.SYNSET).decode()
    assert feature(ex, schema.TEXT).decode() == words[wnid]


def test_images_convert_as_the_folder_path_converts_them(converted, archives, tmp_path):
    """The PNG named .JPEG and the CMYK JPEG are converted and reported as image folders
    holding the same bytes are; the records are byte for byte the same JPEGs."""
    out, _ = converted
    report = json.load(open(os.path.join(out, constants.CONVERSION_REPORT_FILE)))
    notes = {os.path.basename(rel): why for rel, why in report["converted"]}
    assert notes == {arch.PNG_NAMED_JPEG: "PNG stored as JPEG", arch.CMYK: "CMYK converted to RGB"}
    assert report["skipped"] == []
    # the same images unpacked into folders, converted by the folder path
    import tarfile

    raw = tmp_path / "raw"
    with tarfile.open(os.path.join(archives, ilsvrc.TRAIN_TAR)) as outer:
        for m in outer:
            with tarfile.open(fileobj=outer.extractfile(m)) as inner:
                inner.extractall(raw / "train" / m.name[:-4], filter="data")
    folder_out = str(tmp_path / "folders")
    tfrecords.convert(str(raw), folder_out, train_shards=3, validation_shards=1, progress=False)
    by_name = lambda d: {  # noqa: E731
        feature(e, schema.FILENAME): (feature(e, schema.ENCODED), feature(e, schema.LABEL))
        for e in examples(d, "train")
    }
    assert by_name(out) == by_name(folder_out)
    meta = json.load(open(os.path.join(out, constants.METADATA_FILE)))
    folder_meta = json.load(open(os.path.join(folder_out, constants.METADATA_FILE)))
    assert meta["mean_rgb"] == folder_meta["mean_rgb"]


def test_nothing_is_extracted_and_the_report_names_a_partial_download(converted):
    out, r = converted
    assert sorted(os.listdir(out)) == sorted(
        [constants.shard_name("train", i, 3) for i in range(3)]
        + [constants.shard_name("validation", i, 2) for i in range(2)]
        + [
            constants.METADATA_FILE,
            constants.CONVERSION_REPORT_FILE,
            constants.CONVERSION_CONFIG_FILE,
            constants.SHARD_INFO_DIR,
            ilsvrc.INDEX_FILE,
        ]
    )
    assert all(f.endswith(".json") for f in os.listdir(os.path.join(out, constants.SHARD_INFO_DIR)))
    assert "note: ILSVRC2012_img_train.tar holds 14 images, not ILSVRC-2012's 1,281,167" in r.stdout
    assert "note: ILSVRC2012_img_val.tar holds 8 images" in r.stdout
    report = json.load(open(os.path.join(out, constants.CONVERSION_REPORT_FILE)))
    assert report["source"]["images"] == {"train": 14, "validation": 8}
    assert report["source"]["inner_tars"] == 4


def test_same_seed_same_shards_with_any_worker_count(archives, converted, tmp_path):
    out, _ = converted
    one = str(tmp_path / "one")
    tfrecords.convert(
        None, one, train_shards=3, validation_shards=2, num_workers=1, ilsvrc_dir=archives,
        progress=False,
    )  # fmt: skip
    for name in os.listdir(out):
        if name.startswith(constants.SPLITS):
            assert (
                open(os.path.join(out, name), "rb").read()
                == open(os.path.join(one, name), "rb").read()
            ), name


def test_a_killed_run_resumes_shard_by_shard_to_the_same_bytes(tmp_path):
    """kill -9 in the middle of a conversion, then the same command: the finished shards
    and the index are kept, and every shard ends as an uninterrupted run writes it."""
    downloads = str(tmp_path / "downloads")
    arch.write(downloads, train_per_class=12, size=(1400, 1100))
    args = ["--train_shards=16", "--validation_shards=2", "--num_workers=1"]
    whole = str(tmp_path / "whole")
    assert _cli(f"--ilsvrc_dir={downloads}", f"--output_dir={whole}", *args).returncode == 0
    out = str(tmp_path / "out")
    cmd = [sys.executable, TOOL, "--noprogress", f"--ilsvrc_dir={downloads}",
           f"--output_dir={out}", *args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sidecars = os.path.join(out, constants.SHARD_INFO_DIR)

    def finished():
        """Shards whose sidecar is written: it comes after the shard's rename, so a shard
        killed between the two is unfinished and rewritten. Sidecars being written (under
        their temporary names) do not count."""
        names = os.listdir(sidecars) if os.path.isdir(sidecars) else []
        return [f[: -len(".json")] for f in names if ".tmp-" not in f]

    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(finished()) < 2:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = finished()
    assert 2 <= len(done) < 18, f"the kill came after {len(done)} of 18 shards"
    assert not os.path.exists(os.path.join(out, constants.METADATA_FILE))
    index = os.path.join(out, ilsvrc.INDEX_FILE)
    kept = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in done}
    index_mtime = os.stat(index).st_mtime_ns
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert os.stat(index).st_mtime_ns == index_mtime  # the index was reused, not rebuilt
    for f, mtime in kept.items():
        assert os.stat(os.path.join(out, f)).st_mtime_ns == mtime, f  # not rewritten
    names = sorted(f for f in os.listdir(whole) if f.startswith(constants.SPLITS))
    assert sorted(f for f in os.listdir(out) if f.startswith(constants.SPLITS)) == names
    for f in names:
        assert (
            open(os.path.join(out, f), "rb").read() == open(os.path.join(whole, f), "rb").read()
        ), f
    assert json.load(open(os.path.join(out, "metadata.json"))) == json.load(
        open(os.path.join(whole, "metadata.json"))
    )


def _copy(archives, tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    for name in os.listdir(archives):
        (folder / name).write_bytes(open(os.path.join(archives, name), "rb").read())
    return folder


def test_a_truncated_validation_tar_is_named_and_leaves_no_shard(archives, tmp_path):
    folder = _copy(archives, tmp_path)
    val = folder / ilsvrc.VALIDATION_TAR
    data = val.read_bytes()
    val.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    r = _cli(f"--ilsvrc_dir={folder}", f"--output_dir={out}", "--train_shards=2",
             "--validation_shards=1")  # fmt: skip
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "ILSVRC2012_img_val.tar is truncated" in r.stderr
    assert "ILSVRC2012_val_0000000" in r.stderr  # the member it ends in
    assert not [f for f in os.listdir(out) if f.startswith(constants.SPLITS)]


def test_a_truncated_or_corrupt_train_tar_is_named(archives, tmp_path):
    folder = _copy(archives, tmp_path)
    train = folder / ilsvrc.TRAIN_TAR
    good = train.read_bytes()
    # cut after the last member's data: tarfile alone would take this for the end
    with open(os.path.join(archives, ilsvrc.TRAIN_TAR), "rb") as f:
        members = ilsvrc._members(f, 0, len(good), "x")
    end = members[-1][1] + members[-1][2]
    end += -end % 512
    train.write_bytes(good[:end])
    with pytest.raises(ilsvrc.ArchiveError, match=r"ILSVRC2012_img_train.tar is truncated: it "
                       r"ends after n02119789.tar without the end-of-archive marker"):  # fmt: skip
        ilsvrc.plan(str(folder), str(tmp_path / "a"))
    # a damaged header inside an inner tar: the inner tar is named, with the last member
    second_header = members[0][1] + 512 + -(-len(arch._jpeg(0)) // 512) * 512
    broken = bytearray(good)
    broken[second_header : second_header + 100] = b"\x7f" * 100
    train.write_bytes(bytes(broken))
    with pytest.raises(ilsvrc.ArchiveError, match=r"ILSVRC2012_img_train.tar/n01440764.tar is "
                       r"corrupt: the header after n01440764_0.JPEG"):  # fmt: skip
        ilsvrc.plan(str(folder), str(tmp_path / "b"))


def test_a_missing_devkit_exits_2_before_any_work(archives, tmp_path):
    folder = _copy(archives, tmp_path)
    os.remove(folder / ilsvrc.DEVKIT)
    out = tmp_path / "out"
    r = _cli(f"--ilsvrc_dir={folder}", f"--output_dir={out}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "lacks ILSVRC2012_devkit_t12.tar.gz" in r.stderr
    assert not out.exists()


def test_devkit_and_images_that_do_not_fit_are_refused(tmp_path):
    short = tmp_path / "short"
    arch.write(str(short), ground_truth=arch.VALIDATION_IDS[:-1])  # 8 images, 7 labels
    os.remove(short / ilsvrc.VALIDATION_TAR)
    arch.write(str(tmp_path / "full"))
    os.replace(tmp_path / "full" / ilsvrc.VALIDATION_TAR, short / ilsvrc.VALIDATION_TAR)
    with pytest.raises(ilsvrc.ArchiveError, match="holds 8 images but the devkit.* labels 7"):
        ilsvrc.plan(str(short), str(tmp_path / "o1"))
    bad_ids = tmp_path / "bad_ids"
    arch.write(str(bad_ids), ground_truth=(1, 2, 9))
    with pytest.raises(ilsvrc.ArchiveError, match=r"no leaf of meta.mat \(\[9\]\)"):
        ilsvrc.plan(str(bad_ids), str(tmp_path / "o2"))
    with pytest.raises(tfrecords.ConversionError, match="exactly one of --input_dir"):
        tfrecords.convert(str(tmp_path), str(tmp_path / "o3"), ilsvrc_dir=str(short))
    with pytest.raises(tfrecords.ConversionError, match="--names_file=x.txt: with --ilsvrc_dir"):
        tfrecords.convert(None, str(tmp_path / "o4"), ilsvrc_dir=str(short), names_file="x.txt")


def test_verify_archives_names_the_file_that_differs(archives):
    read = lambda name: open(os.path.join(archives, name), "rb").read()  # noqa: E731
    sums = {name: (hashlib.md5(read(name)).hexdigest(),) for name in ilsvrc.MD5}
    ilsvrc.verify_md5(archives, sums)  # all match
    sums[ilsvrc.VALIDATION_TAR] = ("0" * 32,)
    with pytest.raises(ilsvrc.ArchiveError) as e:
        ilsvrc.verify_md5(archives, sums)
    assert ilsvrc.VALIDATION_TAR in str(e.value)
    assert ilsvrc.TRAIN_TAR not in str(e.value) and ilsvrc.DEVKIT not in str(e.value)
    # against the published sums, these small archives all differ, and nothing is written
    r = _cli(f"--ilsvrc_dir={archives}", "--output_dir=/nonexistent/out", "--verify_archives")
    assert r.returncode == 2, r.stderr
    for name in ilsvrc.MD5:
        assert name in r.stderr
    assert "1d675b47d978889d74fa0da5fadfb00e" in r.stderr


def test_kaggles_copy_converts_with_its_own_files(tmp_path):
    """ILSVRC/Data/CLS-LOC/{train,val}, LOC_val_solution.csv and LOC_synset_mapping.txt
    as Kaggle ships them."""
    cls_loc = tmp_path / "ILSVRC" / "Data" / "CLS-LOC"
    rows = ["ImageId,PredictionString"]
    for k, wnid in enumerate(arch.SORTED_WNIDS):
        os.makedirs(cls_loc / "train" / wnid)
        for n in range(2):
            (cls_loc / "train" / wnid / f"{wnid}_{n}.JPEG").write_bytes(arch._jpeg(10 * k + n))
    os.makedirs(cls_loc / "val")
    for n, i in enumerate(arch.VALIDATION_IDS):
        image_id = f"ILSVRC2012_val_{n + 1:08d}"
        (cls_loc / "val" / f"{image_id}.JPEG").write_bytes(arch._jpeg(500 + n))
        wnid = arch.LEAVES[i][0]
        rows.append(f"{image_id},{wnid} 10 20 100 120 {wnid} 5 5 50 60 ")
    rows[1:] = rows[1:][::-1]  # Kaggle's rows are in no particular order
    solution = tmp_path / "LOC_val_solution.csv"
    solution.write_text("\r\n".join(rows) + "\r\n")
    mapping = tmp_path / "LOC_synset_mapping.txt"
    words = {w: text for w, text in arch.LEAVES.values()}
    mapping.write_text("".join(f"{w} {words[w]}\n" for w in arch.SORTED_WNIDS))
    out = str(tmp_path / "out")
    meta = tfrecords.convert(
        str(cls_loc), out, train_shards=2, validation_shards=1, num_workers=1,
        validation_labels=str(solution), names_file=str(mapping), progress=False,
    )  # fmt: skip
    assert meta["num_examples"] == {"train": 8, "validation": 8}
    assert meta["names"] == [words[w] for w in arch.SORTED_WNIDS]
    validation = sorted(examples(out, "validation"), key=lambda e: feature(e, schema.FILENAME))
    assert [feature(e, schema.LABEL) - 1 for e in validation] == arch.validation_labels()
    for ex in examples(out, "train"):
        wnid = feature(ex, schema.FILENAME).decode().split("_")[0]
        assert feature(ex, schema.LABEL) == 1 + arch.label_of_wnid(wnid)
    os.makedirs(cls_loc / "validation")
    with pytest.raises(tfrecords.ConversionError, match="holds both validation and val/"):
        tfrecords.convert(str(cls_loc), str(tmp_path / "o2"), validation_labels=str(solution))


@pytest.mark.quick
def test_tfds_numbers_each_wnid_as_the_devkit_mapping_does():
    """On TFDS's own imagenet2012 label list: a devkit holding those 1,000 WNIDs under
    IDs in another order gives each WNID the index TFDS gives it."""
    import tensorflow_datasets as tfds

    tfds_names = tfds.builder("imagenet2012", data_dir="/nonexistent").info.features["label"].names
    assert len(tfds_names) == 1000
    ids = np.random.default_rng(0).permutation(1000) + 1  # IDs not in WNID order
    leaves = {int(i): (w, f"words of {w}") for i, w in zip(ids, tfds_names, strict=True)}
    id_to_wnid, words = ilsvrc.read_meta(packing.meta_mat(leaves, {1001: ("n0", "root", [1])}))
    devkit = ilsvrc.Devkit(tuple(sorted(id_to_wnid.values())), (), id_to_wnid, ())
    for i, wnid in id_to_wnid.items():
        assert devkit.label_of_id(i) == tfds_names.index(wnid)
    assert words[tfds_names[0]] == f"words of {tfds_names[0]}"


def test_archived_images_decode_to_the_pixels_of_the_source(converted, archives):
    """One validation record decodes to its source image resized as the paper did."""
    out, _ = converted
    ex = sorted(examples(out, "validation"), key=lambda e: feature(e, schema.FILENAME))[0]
    got = np.asarray(Image.open(io.BytesIO(feature(ex, schema.ENCODED))))
    source = Image.open(io.BytesIO(arch._jpeg(1000)))
    want = np.asarray(tfrecords._resize_center_crop(source.convert("RGB"), 256))
    assert got.shape == (256, 256, 3)
    assert np.abs(got.astype(int) - want).mean() < 12  # JPEG re-encoding of noise
