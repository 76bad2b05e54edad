"""An export base's versions: numbered, never overwritten, and never seen half-written,
for the SavedModel and the TFLite exports alike (both write through ExportBase)."""

import os

import pytest

from alexnet_tf.core.rundir import ExportBase

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick


def test_claim_numbers_versions_and_refuses_taken_or_nonpositive_ones(tmp_path):
    base = ExportBase(str(tmp_path / "base"))
    assert base.claim(None) == (1, base.version(1))  # nothing there yet
    os.makedirs(base.version(3))
    assert base.claim(0) == (4, base.version(4))  # one above the highest, gaps kept
    assert base.claim(2) == (2, base.version(2))
    with pytest.raises(FileExistsError, match=r"3 exists already.*next free: 4"):
        base.claim(3)
    with pytest.raises(ValueError, match="--version must be >= 1. Received: -1"):
        base.claim(-1)


def test_writing_renames_when_complete_and_leaves_nothing_when_it_fails(tmp_path):
    base = ExportBase(str(tmp_path / "base"))
    with base.writing(1) as tmp:
        assert os.listdir(tmp) == [] and not os.path.exists(base.version(1))
        open(os.path.join(tmp, "model.tflite"), "wb").write(b"x")
    assert os.listdir(base.version(1)) == ["model.tflite"]

    with pytest.raises(OSError, match="disk full"):
        with base.writing(2) as tmp:
            open(os.path.join(tmp, "model.tflite"), "wb").write(b"half")
            raise OSError("disk full")
    assert sorted(os.listdir(base.root)) == ["1"]  # no version 2, no temporary left

    stale = base.temporary(5)  # left by an earlier attempt of this process
    os.makedirs(stale)
    open(os.path.join(stale, "old"), "w").write("stale")
    with base.writing(5) as tmp:
        assert os.listdir(tmp) == []
    assert os.listdir(base.version(5)) == []
