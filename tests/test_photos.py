"""The photo corpus, and the converter's workers on it: TensorFlow-free, and the same
shards whatever their number."""

import os
import subprocess
import sys

import pytest
from PIL import Image

from alexnet_tf.data import tfrecords
from alexnet_tf.studies import photos


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("photos") / "raw")
    return out, photos.write_corpus(out, 33)


def test_the_corpus_is_crops_of_every_photograph_at_imagenet_size(corpus):
    out, counts = corpus
    assert counts == {"train": 22, "validation": 11}  # each photograph's 1st crop validates
    names = sorted(photos.source_photographs())
    for split in ("train", "validation"):
        assert sorted(os.listdir(os.path.join(out, split))) == names
    files = [os.path.join(r, f) for r, _, fs in os.walk(out) for f in fs]
    assert len(files) == 33
    sizes = set()
    for path in files:
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            sizes.add(im.size)
    assert sizes == {photos.SIZE}
    contents = {open(p, "rb").read() for p in files}
    assert len(contents) == 33  # random crops: no two alike


def test_an_existing_output_dir_is_refused_untouched(corpus, tmp_path):
    out, _ = corpus
    before = sorted(os.listdir(os.path.join(out, "train", "cat")))
    with pytest.raises(FileExistsError, match="exists"):
        photos.write_corpus(out, 5)
    assert sorted(os.listdir(os.path.join(out, "train", "cat"))) == before
    r = subprocess.run(
        [sys.executable, "tools/make_photo_corpus.py", f"--output_dir={out}"],
        capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)),
    )  # fmt: skip
    assert r.returncode == 2 and f"output_dir={out} exists" in r.stderr


def test_two_workers_write_the_shards_one_writes(corpus, tmp_path):
    out, _ = corpus
    kw = dict(train_shards=4, validation_shards=2, progress=False)
    one = tfrecords.convert(out, str(tmp_path / "one"), num_workers=1, **kw)
    two = tfrecords.convert(out, str(tmp_path / "two"), num_workers=2, **kw)
    assert one == two and one["num_examples"] == {"train": 22, "validation": 11}
    for name in sorted(os.listdir(tmp_path / "one")):
        path = tmp_path / "one" / name
        if path.is_file() and name.startswith(("train-", "validation-")):
            assert path.read_bytes() == (tmp_path / "two" / name).read_bytes(), name


@pytest.mark.quick
def test_a_converter_worker_imports_no_tensorflow():
    """Workers encode (PIL, NumPy); only the parent writes records. A worker holding
    TensorFlow took seconds to start and hundreds of MB each, and two were slower than
    one (docs/performance.md)."""
    code = (
        "import sys\n"
        "from alexnet_tf.data import tfrecords\n"
        "from alexnet_tf.studies import photos\n"
        "print('tensorflow' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr[-2000:]
