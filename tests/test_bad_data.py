"""Damaged training data: a flipped byte, a truncated shard, a file that is not a TFRecord,
an image that does not decode and a label out of range. Without --skip_bad_records the
run stops naming the shard and record; with it, the run leaves them out and counts them."""

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from trainer import ENV, run, train_cmd

from alexnet_tf.core import constants
from alexnet_tf.core.rundir import RunDir
from alexnet_tf.data import check as check_data
from alexnet_tf.data import schema


def _records(path):
    return list(tf.data.TFRecordDataset(path).as_numpy_iterator())


def _write(path, records):
    with tf.io.TFRecordWriter(path) as w:
        for r in records:
            w.write(r)


def _flip_byte_in_record(path, k):
    """Flip one byte in the middle of record k's data: its checksum no longer matches."""
    raw = bytearray(open(path, "rb").read())
    offset = 0
    for r in _records(path)[:k]:
        offset += 8 + 4 + len(r) + 4
    length = int.from_bytes(raw[offset : offset + 8], "little")
    raw[offset + 12 + length // 2] ^= 0xFF
    open(path, "wb").write(bytes(raw))


def _example(image_bytes, label):
    return schema.make_example(image_bytes, 8, 8, "x.jpg", label, "syn", "text")


@pytest.fixture(scope="module")
def damaged(demo_records, tmp_path_factory):
    """Six classes, 6 train and 2 validation images each, in 3 + 1 shards, then:
    train shard 0, record 2: a flipped byte (the shard is unreadable from there);
    train shard 1, record 1: bytes that are no image; record 3: label 99;
    train shard 2: replaced by text; validation shard: cut short inside its last record.
    Returns (data dir, {shard: [expected bad record positions]})."""
    clean = demo_records(6, 2, train_shards=3, validation_shards=1)
    out = str(tmp_path_factory.mktemp("damaged") / "tfr")
    shutil.copytree(clean, out)
    train = [os.path.join(out, constants.shard_name("train", i, 3)) for i in range(3)]
    val = os.path.join(out, constants.shard_name("validation", 0, 1))
    _flip_byte_in_record(train[0], 2)
    records = _records(train[1])
    good = io.BytesIO()
    Image.new("RGB", (300, 300), (9, 9, 9)).save(good, "JPEG")
    records[1] = _example(b"\x00" * 64 + b"this is not an image", 0)
    records[3] = _example(good.getvalue(), 99)
    _write(train[1], records)
    with open(train[2], "wb") as f:
        f.write(b"plain text, not a TFRecord file\n" * 40)
    raw = open(val, "rb").read()
    with open(val, "wb") as f:
        f.write(raw[: len(raw) - 100])
    n_val = len(_records(clean + "/" + constants.shard_name("validation", 0, 1)))
    expected = {train[0]: [2], train[1]: [1, 3], train[2]: [0], val: [n_val - 1]}
    return out, expected


def test_scan_names_every_bad_record(damaged):
    data_dir, expected = damaged
    result = check_data.scan(data_dir)
    found = {}
    for b in check_data.all_bad(result):
        found.setdefault(b.shard, []).append(b.record)
    assert {k: sorted(v) for k, v in found.items()} == expected
    reasons = {(os.path.basename(b.shard), b.record): b for b in check_data.all_bad(result)}
    assert "corrupted record" in reasons["train-00000-of-00003", 2].reason
    assert reasons["train-00000-of-00003", 2].rest_of_shard
    assert "Is this even a TFRecord file?" in reasons["train-00002-of-00003", 0].reason
    assert (
        "truncated record" in reasons["validation-00000-of-00001", expected_last(expected)].reason
    )
    assert not reasons["train-00001-of-00003", 1].rest_of_shard
    assert "6 classes" in reasons["train-00001-of-00003", 3].reason
    # The exclusions the pipeline gets, and the pipeline then reads without an error.
    exclude = check_data.exclusions(result)
    assert exclude[[p for p in expected if "00001-of" in p][0]][1] == [1, 3]
    from alexnet_tf import data

    n = sum(int(tf.shape(y)[0]) for _, y in data.eval_dataset(data_dir, 4, exclude=exclude))
    assert n == expected_last(expected)  # the validation records before the cut


def expected_last(expected):
    return next(v[0] for k, v in expected.items() if "validation" in k)


def test_check_data_cli_lists_them_and_fails(damaged):
    data_dir, expected = damaged
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.check_data", f"--data_dir={data_dir}"],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert r.returncode == 1, r.stderr[-2000:]
    assert "5 bad" in r.stdout
    for shard in expected:
        assert shard in r.stdout


def _train(data_dir, model_dir, *extra):
    flags = ("--epochs=1", "--steps_per_epoch=6", "--shuffle_buffer=1", *extra)
    return run(train_cmd(data_dir, model_dir, *flags))


def test_training_stops_naming_the_shard(damaged, tmp_path):
    data_dir, _ = damaged
    r = _train(data_dir, str(tmp_path / "run"))
    assert r.returncode == 1, r.stderr[-3000:]
    message = r.stderr[r.stderr.index("train: data error:") :]
    assert "train-00000-of-00003, record 2: corrupted record" in message, message
    assert "--skip_bad_records" in message


@pytest.mark.slow  # 27 s on 2 cores: the default run stays within 12 min
def test_skip_bad_records_trains_and_counts_them(damaged, tmp_path):
    data_dir, expected = damaged
    model_dir = tmp_path / "run"
    r = _train(data_dir, str(model_dir), "--skip_bad_records")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "--skip_bad_records: 5 of" in r.stderr and "records are left out" in r.stderr
    with open(RunDir(str(model_dir)).data_check) as f:
        saved = json.load(f)
    assert saved["num_bad"] == 5
    listed = {(b["shard"], b["record"]) for s in saved["shards"].values() for b in s["bad"]}
    assert listed == {(k, i) for k, v in expected.items() for i in v}
    with open(model_dir / "history.json") as f:
        assert [h["epoch"] for h in json.load(f)] == [0]
    # A rerun reuses the scan while the shards are unchanged.
    r = _train(data_dir, str(model_dir), "--skip_bad_records", "--epochs=2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "checking every record" not in r.stderr


def _fit_error(dataset, model_check=False):
    """The error model.fit raises on `dataset` (model_check: the model's own check of its
    batch fails instead, an error that comes from no record)."""
    import keras

    class Checked(keras.layers.Layer):
        def call(self, x):
            with tf.control_dependencies([tf.debugging.assert_equal(tf.shape(x)[0], 999)]):
                return tf.identity(x)

    inputs = keras.Input((4,))
    x = Checked()(inputs) if model_check else inputs
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(tf.errors.OpError) as caught:
        model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    return caught.value


def test_only_errors_from_a_record_start_a_scan(tmp_path):
    from alexnet_tf.training.run import from_a_record

    garbage = tmp_path / "not_a_tfrecord"
    garbage.write_bytes(b"garbage" * 100)
    features = np.ones((8, 4), np.float32)
    ones = tf.ones([4])
    from_records = {
        "unreadable record": tf.data.TFRecordDataset(str(garbage)).map(lambda r: (ones, 0)),
        "undecodable image": tf.data.Dataset.from_tensor_slices([b"no image"] * 8).map(
            lambda b: (tf.cast(tf.reduce_sum(tf.io.decode_jpeg(b)), tf.float32) * ones, 0)
        ),
        "label out of range": tf.data.Dataset.from_tensor_slices((features, np.full(8, 99))),
    }
    for what, ds in from_records.items():
        assert from_a_record(_fit_error(ds.batch(2).repeat())), what
    good = tf.data.Dataset.from_tensor_slices((features, np.zeros(8, np.int64)))
    assert not from_a_record(_fit_error(good.batch(2).repeat(), model_check=True))
