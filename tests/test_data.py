"""The input pipeline: shapes, dtypes, labels, crop bounds, flips, ten views, schemas."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from alexnet_tf import data
from alexnet_tf.core import constants
from alexnet_tf.data import augment, pipeline, schema


def _jpeg(image):
    """JPEG without chroma subsampling: then a fused crop equals a slice of the full decode
    exactly (with subsampling, chroma upsampling at the window's edge differs by a level
    or two, which would hide the geometry these tests check)."""
    return tf.io.encode_jpeg(image, quality=95, chroma_downsampling=False)


def _smooth(h, w, seed):
    """A smooth RGB image (JPEG keeps it well), distinct per seed."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (4, 4, 3)).astype(np.float32)
    return tf.cast(tf.image.resize(small[None], (h, w))[0], tf.uint8).numpy()


def _write(out, split, images, labels, shards=2, extra_official=False, metadata=None):
    """Write records in the converters' schema; labels given 0-based."""
    os.makedirs(out, exist_ok=True)
    per = np.array_split(np.arange(len(images)), shards)
    for s, idx in enumerate(per):
        with tf.io.TFRecordWriter(os.path.join(out, constants.shard_name(split, s, shards))) as w:
            for i in idx:
                jpeg = _jpeg(images[i]).numpy()
                ex = tf.train.Example.FromString(
                    schema.make_example(
                        jpeg,
                        *images[i].shape[:2],
                        f"{i}.JPEG",
                        int(labels[i]),
                        f"n{labels[i]:08d}",
                        "x",
                    )
                )
                if extra_official:  # build_imagenet_data.py also writes bounding boxes
                    ex.features.feature["image/object/bbox/xmin"].float_list.value[:] = [0.1]
                    ex.features.feature["image/class/label"].int64_list.value[:] = [
                        int(labels[i]) + 1
                    ]
                w.write(ex.SerializeToString())
    if metadata is not None:
        with open(os.path.join(out, constants.METADATA_FILE), "w") as f:
            json.dump(metadata, f)


@pytest.fixture(scope="module")
def square_dir(tmp_path_factory):
    """12 train and 7 validation 256x256 records, as make_tfrecords writes them."""
    out = str(tmp_path_factory.mktemp("square"))
    train = [_smooth(256, 256, i) for i in range(12)]
    val = [_smooth(256, 256, 100 + i) for i in range(7)]
    _write(out, "train", train, np.arange(12) % 3, metadata={"resize": 256})
    _write(out, "validation", val, np.arange(7) % 3, metadata={"resize": 256})
    return out, train, val


def _decoded(image):
    return tf.io.decode_jpeg(_jpeg(image)).numpy()


@pytest.mark.quick
def test_train_batches_shapes_dtypes_labels(square_dir):
    out, _, _ = square_dir
    ds = data.train_dataset(out, batch_size=5, seed=0)
    batches = list(ds)
    assert len(batches) == 2  # 12 examples, drop_remainder
    for x, y in batches:
        assert x.shape == (5, 224, 224, 3) and x.dtype == tf.uint8
        assert y.dtype == tf.int32 and set(y.numpy()) <= {0, 1, 2}


def _find_view(patch, image):
    """(y, x, flipped) such that patch is that 224 view of image, else None."""
    for flipped in (False, True):
        p = patch[:, ::-1] if flipped else patch
        # Candidates by the 4x4 corner (vectorised over all 33x33 offsets), then verified.
        corners = np.lib.stride_tricks.sliding_window_view(image[:36, :36], (4, 4, 3))
        for y, x in np.argwhere((corners[:33, :33, 0] == p[:4, :4]).all(axis=(2, 3, 4))):
            if np.array_equal(image[y : y + 224, x : x + 224], p):
                return y, x, flipped
    return None


def _match(centre, images):
    """Index of the image whose decoded centre view is `centre`."""
    hits = [
        i for i, im in enumerate(images) if np.array_equal(_decoded(im)[16:240, 16:240], centre)
    ]
    assert len(hits) == 1
    return hits[0]


@pytest.mark.quick
def test_train_crops_are_in_bounds_and_flips_happen(square_dir):
    out, train, _ = square_dir
    decoded = {i: _decoded(img) for i, img in enumerate(train)}
    names = tf.data.TFRecordDataset(data.list_shards(out, "train")).map(
        lambda r: schema.parse_example(r)[0]
    )
    by_bytes = {b.numpy(): i for i, b in enumerate(names)}
    assert len(by_bytes) == 12
    ds = data.train_dataset(out, batch_size=12, seed=3).unbatch()
    found = []
    for patch, _ in ds:
        hits = [_find_view(patch.numpy(), d) for d in decoded.values()]
        hits = [h for h in hits if h]
        assert len(hits) == 1, "every patch is a 224 view of one image"
        found.append(hits[0])
    assert any(f[2] for f in found) and not all(f[2] for f in found)
    assert len({(f[0], f[1]) for f in found}) > 1  # offsets vary


@pytest.mark.quick
def test_switching_augmentations_off_gives_the_centre_view(square_dir):
    out, train, _ = square_dir
    ds = data.train_dataset(out, batch_size=12, crop=False, flip=False, seed=0).unbatch()
    centres = [_decoded(t)[16:240, 16:240] for t in train]
    for patch, _ in ds:
        assert any(np.array_equal(patch.numpy(), c) for c in centres)


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_flip_mirrors_eagerly_and_in_tf_data():
    image = _smooth(8, 8, 0)
    np.testing.assert_array_equal(augment.flip(image, tf.constant(True)), image[:, ::-1])
    np.testing.assert_array_equal(augment.flip(image, tf.constant(False)), image)
    ds = tf.data.Dataset.from_tensors(image).map(lambda i: augment.flip(i, tf.constant(True)))
    np.testing.assert_array_equal(next(iter(ds)), image[:, ::-1])


@pytest.mark.quick
def test_decode_crop_equals_slices_for_square_jpegs_and_any_size():
    image = _smooth(256, 256, 1)
    jpeg = _jpeg(image)
    full = tf.io.decode_jpeg(jpeg).numpy()
    for off in [(0, 0), (32, 32), (5, 27)]:
        want = full[off[0] : off[0] + 224, off[1] : off[1] + 224]
        np.testing.assert_array_equal(augment.decode_crop(jpeg, off), want)
        np.testing.assert_array_equal(augment.decode_crop_square(jpeg, off), want)
    png = tf.io.encode_png(image)
    np.testing.assert_array_equal(augment.decode_crop(png, (7, 3)), image[7:231, 3:227])
    # A 300x500 original: the window of its 256 version, resized (smooth: small error).
    big = _smooth(300, 500, 2)
    square = tf.image.resize(big[:, 100:400][None], (256, 256), antialias=True)[0].numpy()
    got = augment.decode_crop(tf.io.encode_png(big), (16, 16)).numpy().astype(float)
    assert np.abs(got - square[16:240, 16:240]).mean() < 2.0


@pytest.mark.quick
def test_ten_views_equal_independent_slices(square_dir):
    out, _, val = square_dir
    ds = data.eval_dataset(out, batch_size=3, crops=10)
    views = np.concatenate([x.numpy() for x, _ in ds])
    assert views.shape == (7, 10, 224, 224, 3)
    assert sorted(_match(v[4], val) for v in views) == list(range(7))
    for got in views:
        d = _decoded(val[_match(got[4], val)])
        want = [
            d[y : y + 224, x : x + 224] for y, x in [(0, 0), (0, 32), (32, 0), (32, 32), (16, 16)]
        ]
        want += [w[:, ::-1] for w in want]
        np.testing.assert_array_equal(got, np.stack(want))
    # The other view sets are the same slices: the centre and its reflection; the five
    # unreflected patches for a model trained without reflections.
    two = np.concatenate([x.numpy() for x, _ in data.eval_dataset(out, 3, crops=2)])
    np.testing.assert_array_equal(two, views[:, [4, 9]])
    five = data.eval_dataset(out, 3, crops=10, reflections=False)
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x, _ in five]), views[:, :5])


@pytest.mark.quick
def test_eval_counts_every_example_once_deterministically(square_dir):
    out, _, val = square_dir
    ds = data.eval_dataset(out, batch_size=3, crops=1)
    assert [len(y) for _, y in ds] == [3, 3, 1]
    images = np.concatenate([x.numpy() for x, _ in ds])
    labels = np.concatenate([y.numpy() for _, y in ds])
    order = [_match(im, val) for im in images]
    assert sorted(order) == list(range(7))  # every example exactly once
    np.testing.assert_array_equal(labels, np.array(order) % 3)  # with its own label
    again = np.concatenate([x.numpy() for x, _ in data.eval_dataset(out, batch_size=4)])
    np.testing.assert_array_equal(again, images)  # same order every time


@pytest.mark.quick
def test_official_converter_records_of_any_size_give_0_based_labels(tmp_path):
    out = str(tmp_path)
    images = [_smooth(300 + 20 * i, 400, i) for i in range(6)]
    labels = np.array([0, 999, 5, 1, 2, 3])
    _write(out, "validation", images, labels, shards=2, extra_official=True)
    ds = data.eval_dataset(out, batch_size=4)
    got = np.concatenate([y.numpy() for _, y in ds])
    assert sorted(got) == sorted(labels)
    _write(out, "train", images, labels, shards=2, extra_official=True)
    x, y = next(iter(data.train_dataset(out, batch_size=6, seed=0)))
    assert x.shape == (6, 224, 224, 3) and sorted(y.numpy()) == sorted(labels)
    meta = data.read_metadata(out)  # no metadata.json: ImageNet statistics
    assert meta["eigval"] == list(constants.IMAGENET_EIGVAL)


@pytest.mark.quick
def test_input_context_gives_each_worker_its_own_shards(square_dir):
    out, _, _ = square_dir
    seen = []
    for worker in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker)
        ds = data.eval_dataset(out, batch_size=10, split="train", input_context=ctx)
        seen.append({int(v) for v in np.concatenate([x.numpy().sum((1, 2, 3)) for x, _ in ds])})
    assert seen[0] and seen[1] and not seen[0] & seen[1]
    assert sum(len(s) for s in seen) == 12


@pytest.mark.slow  # 7-59 s on 2 cores: the default run stays within 12 min
def test_tfds_source_goes_through_the_same_augmentations():
    with tfds.testing.mock_data(num_examples=6):
        x, y = next(iter(data.train_dataset(None, 3, seed=0, tfds_name="imagenette")))
        assert x.shape == (3, 224, 224, 3) and x.dtype == tf.uint8 and y.dtype == tf.int32
        n = sum(len(y) for _, y in data.eval_dataset(None, 4, crops=10, tfds_name="imagenette"))
        assert n == 6


@pytest.mark.quick
def test_bad_data_dirs_and_arguments(tmp_path, square_dir):
    with pytest.raises(data.DataError, match=r"No train shards in data_dir=.*train-00000-of-01024"):
        data.train_dataset(str(tmp_path), 4)
    with pytest.raises(data.DataError, match="does not exist"):
        data.eval_dataset(str(tmp_path / "nope"), 4)
    out, _, _ = square_dir
    with pytest.raises(data.DataError, match="crops must be 1, 2 or 10. Received: 5"):
        data.eval_dataset(out, 4, crops=5)
    with pytest.raises(data.DataError, match="without reflections: use crops=1 or crops=10"):
        data.eval_dataset(out, 4, crops=2, reflections=False)
    with pytest.raises(data.DataError, match="split must be one of"):
        data.eval_dataset(out, 4, split="test")


@pytest.mark.quick
def test_skip_errors_drops_undecodable_images(tmp_path):
    out = str(tmp_path)
    images = [_smooth(256, 256, i) for i in range(4)]
    _write(out, "validation", images, np.arange(4), shards=1)
    # Append a record whose JPEG is cut short.
    path = os.path.join(out, constants.shard_name("validation", 0, 1))
    records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
    bad = schema.make_example(
        tf.io.encode_jpeg(images[0]).numpy()[:200], 256, 256, "cut.JPEG", 0, "n0", "x"
    )
    with tf.io.TFRecordWriter(path) as w:
        for r in records + [bad]:
            w.write(r)
    with pytest.raises(tf.errors.InvalidArgumentError):
        list(data.eval_dataset(out, 2))
    assert sum(len(y) for _, y in data.eval_dataset(out, 2, skip_errors=True)) == 4


@pytest.mark.quick
def test_every_pipeline_runs_without_the_autotuner_and_with_fixed_parallelism(square_dir):
    """Destroying an autotuned iterator can wait up to a minute for the autotuner's
    thread (TensorFlow 2.21): Keras destroys each epoch's validation iterator at the next
    validation, which then stalled. So no pipeline here starts that thread."""
    square_dir, _, _ = square_dir
    pipelines = {
        "train": data.train_dataset(square_dir, 4),
        "train, private threads": data.train_dataset(square_dir, 4, private_threads=3),
        "eval": data.eval_dataset(square_dir, 4),
        "eval, ten views": data.eval_dataset(square_dir, 4, crops=10),
        "decode only": data.decode_only_dataset(square_dir, 4),
    }
    for name, ds in pipelines.items():
        assert ds.options().autotune.enabled is False, name
        assert next(iter(ds))[0].shape[0] == 4, name  # and it still gives batches
    assert pipelines["train, private threads"].options().threading.private_threadpool_size == 3
    assert data.train_dataset(square_dir, 4, autotune=True).options().autotune.enabled is True
    assert pipeline.input_threads() == len(os.sched_getaffinity(0))
    assert pipeline.input_threads(3) == 3
