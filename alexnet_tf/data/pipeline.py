"""The tf.data input pipeline: TFRecords (ours or the official ImageNet converters') or a
TFDS image data set -> batches of (images, labels).

    ds = train_dataset("data/imagenet", batch_size=128)
    ds = eval_dataset("data/imagenet", batch_size=128, crops=10)

Images are uint8 RGB, 0-255, 224x224 (`image_size` to change it; crops=10: (B, 10, 224,
224, 3), the views in `augment.ten_crop_offsets` order then their reflections); labels
are 0-based int32.
Mean subtraction and PCA lighting are not done here: they run in the model's first layer
(`layers.ImagePreprocess`), on the accelerator, with the statistics `read_metadata`
returns. Keeping images uint8 until they are batched is what keeps this pipeline at the
speed of JPEG decoding.
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from alexnet_tf.core import constants
from alexnet_tf.data import augment, schema, service

SHUFFLE_BUFFER = 10_000  # examples; about 1.5 GB of JPEG bytes at ImageNet sizes
CYCLE_LENGTH = 16  # shards read at once
PREFETCH_BATCHES = 2  # batches ready ahead of the step


class DataError(ValueError):
    """A data directory that cannot be read; raised before any pipeline runs."""


def list_shards(data_dir: str, split: str) -> list[str]:
    """The sorted shard files of `split`; a clear error when there are none."""
    if split not in constants.SPLITS:
        raise DataError(f"split must be one of {constants.SPLITS}. Received: split={split!r}")
    if not tf.io.gfile.isdir(data_dir):
        raise DataError(f"data_dir={data_dir} does not exist or is not a directory.")
    files = sorted(tf.io.gfile.glob(os.path.join(data_dir, constants.shard_pattern(split))))
    if not files:
        raise DataError(
            f"No {split} shards in data_dir={data_dir}: expected files named "
            f"{constants.shard_name(split, 0, 1024)} ... (write them with "
            "tools/make_tfrecords.py)."
        )
    return files


def metadata_file(data_dir: str) -> dict:
    """metadata.json of `data_dir` as written, or {} when there is none."""
    path = os.path.join(data_dir, constants.METADATA_FILE)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def read_metadata(data_dir: str) -> dict:
    """metadata.json of `data_dir` (classes, counts, mean, RGB eigen-decomposition), with
    ImageNet's statistics (`constants`) filled in, and logged, for what it lacks, e.g.
    for TFRecords made by the official converters, which write no metadata."""
    meta = metadata_file(data_dir)
    path = os.path.join(data_dir, constants.METADATA_FILE)
    if "eigval" not in meta or "mean_rgb" not in meta:
        logging.info(
            "No pixel statistics in %s: using ImageNet's mean and RGB eigen-decomposition "
            "for mean subtraction and PCA lighting",
            path,
        )
        meta.setdefault("mean_rgb", list(constants.IMAGENET_MEAN_RGB))
        meta.setdefault("eigval", list(constants.IMAGENET_EIGVAL))
        meta.setdefault("eigvec", [list(r) for r in constants.IMAGENET_EIGVEC])
    return meta


def image_decoder(data_dir, tfds_name=None):
    """The crop decoder for this data: when metadata.json says every record is a
    256x256 JPEG (make_tfrecords' default), the single fused op; otherwise (originals,
    the official converters' records, TFDS) the general one that also resizes."""
    if not tfds_name and metadata_file(data_dir).get("resize") == constants.RESIZE:
        return augment.decode_crop_square
    return augment.decode_crop


def _shard_reader(exclude: dict | None):
    """shard path -> its records, leaving out those `exclude` names: {path: (records to
    read, [positions to drop])}, as `check_data.exclusions` gives."""
    if not exclude:
        return tf.data.TFRecordDataset
    paths = list(exclude)
    limits = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            paths, [int(exclude[p][0]) for p in paths], tf.string, tf.int64
        ),
        default_value=-1,
    )
    dropped = [f"{p}#{i}" for p in paths for i in exclude[p][1]] or ["#"]
    drop = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(dropped, [1] * len(dropped), tf.string, tf.int64),
        default_value=0,
    )

    def read(path):
        records = tf.data.TFRecordDataset(path).take(limits.lookup(path)).enumerate()
        keep = records.filter(
            lambda i, _: drop.lookup(tf.strings.join([path, tf.strings.as_string(i)], "#")) == 0
        )
        return keep.map(lambda _, record: record)

    return read


def _records(files, input_context, shuffle: bool, seed, cycle_length, exclude=None):
    """Shard files -> serialized records: this worker's files, interleaved."""
    ds = tf.data.Dataset.from_tensor_slices(files)
    pipelines = input_context.num_input_pipelines if input_context else 1
    by_record = 1 < pipelines and len(files) < pipelines
    if pipelines > 1 and not by_record:
        # Each worker reads a disjoint subset of the shards.
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        _shard_reader(exclude),
        cycle_length=min(cycle_length, len(files)),
        num_parallel_calls=min(cycle_length, len(files), input_threads()),
        deterministic=not shuffle,  # training takes records as they come
    )
    if by_record:
        # Fewer shards than workers: every worker reads them all and keeps every n-th
        # record (correct, at n times the reading).
        logging.info("%d shards for %d input pipelines: sharding by record", len(files), pipelines)
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    return ds


def input_threads(private_threads: int | None = None) -> int:
    """How many records are read and decoded at once: the private pool's size when
    there is one, else every core this process may run on."""
    if private_threads:
        return private_threads
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fixed(
    dataset: tf.data.Dataset, private_threads: int | None = None, autotune: bool = False
) -> tf.data.Dataset:
    """`dataset` with tf.data's autotuner off, for pipelines whose parallelism is set
    (input_threads, PREFETCH_BATCHES). The autotuner runs a thread per iterator that
    sleeps between its tunings for periods that grow to a minute, and destroying the
    iterator can wait for the rest of such a sleep (TensorFlow 2.21: waits of 22 and 37 s
    measured). Keras destroys an epoch's validation iterator when the next validation
    begins, so under the autotuner some validations stalled that long, nothing running:
    the bimodal epochs of docs/performance.md. autotune=True leaves it on (for
    `benchmark input`'s comparison)."""
    options = tf.data.Options()
    options.autotune.enabled = autotune
    if private_threads:
        # A pool of its own keeps decoding off the threads the model's ops run on.
        options.threading.private_threadpool_size = private_threads
    return dataset.with_options(options)


# Pixels of the training split that a TFDS set's mean and PCA lighting are taken from.
TFDS_STATS_SAMPLE = 1000


def tfds_info(name: str, data_dir: str | None):
    """The DatasetInfo of a TFDS data set prepared in `data_dir` (TFDS's own data dir when
    None); DataError when it is not there. Nothing is downloaded."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # noqa: BLE001 - TFDS raises several types for "not found"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(
            f"tfds_name={name}: no such TFDS data set in data_dir={data_dir} ({first})."
        ) from None
    if not builder.info.supervised_keys or len(builder.info.supervised_keys) != 2:
        raise DataError(
            f"tfds_name={name} has no (image, label) supervised keys: an image "
            "classification set such as cifar10 or imagenet2012 is needed."
        )
    return builder.info


def tfds_split(info, split: str) -> str:
    """The TFDS split for `split`: "train" as it is; "validation" is the set's own
    validation split, or its test split where it has none (CIFAR-10, MNIST). A set whose
    info lists no splits (TFDS's mock data) is asked for `split` as it is."""
    if split == "train" or split in info.splits or not info.splits:
        return split
    if split == "validation" and "test" in info.splits:
        return "test"
    raise DataError(
        f"tfds_name={info.name} has no {split} split (it has {', '.join(info.splits)})."
    )


def tfds_metadata(name: str, data_dir: str | None, sample: int = TFDS_STATS_SAMPLE) -> dict:
    """What metadata.json says of our TFRecords, for a TFDS set: classes and their names
    and the split sizes (its DatasetInfo), and the mean pixel and RGB eigen-decomposition
    of the first `sample` training images (`tfrecords.pixel_statistics`' units)."""
    import numpy as np

    info = tfds_info(name, data_dir)
    if "train" not in info.splits:
        raise DataError(
            f"tfds_name={name} is not prepared in data_dir={data_dir} (no train split "
            "there); prepare it with TFDS first (e.g. tfds.builder(NAME, data_dir=DIR)"
            ".download_and_prepare()): nothing is downloaded here."
        )
    _, label_key = info.supervised_keys
    names = list(info.features[label_key].names)
    total, outer, count = np.zeros(3), np.zeros((3, 3)), 0
    ds, parse = _examples(data_dir, "train", None, False, None, CYCLE_LENGTH, name, None)
    for image_bytes, _ in fixed(ds.take(sample).map(parse)).as_numpy_iterator():
        px = tf.io.decode_image(image_bytes, channels=3).numpy().reshape(-1, 3) / 255.0
        total, outer, count = total + px.sum(0), outer + px.T @ px, count + len(px)
    mean = total / count
    eigval, eigvec = np.linalg.eigh(outer / count - np.outer(mean, mean))
    order = np.argsort(eigval)[::-1]
    return {
        "tfds_name": name,
        "classes": names,
        "names": names,
        "num_examples": {
            "train": info.splits["train"].num_examples,
            "validation": info.splits[tfds_split(info, "validation")].num_examples,
        },
        "mean_rgb": (mean * 255.0).round(4).tolist(),
        "eigval": np.clip(eigval[order], 0, None).round(8).tolist(),
        "eigvec": eigvec[:, order].round(6).tolist(),
        "stats_from_images": min(sample, info.splits["train"].num_examples),
    }


def _tfds_examples(name, split, data_dir, input_context, shuffle, seed):
    """A TFDS image-classification data set as (JPEG/PNG bytes, label) pairs, undecoded,
    so the same fused crop applies."""
    import tensorflow_datasets as tfds

    info = tfds_info(name, data_dir)
    image_key, _ = info.supervised_keys
    ds = tfds.load(
        name,
        split=tfds_split(info, split),
        data_dir=data_dir,
        shuffle_files=shuffle,
        as_supervised=True,
        decoders={image_key: tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(input_context=input_context, shuffle_seed=seed),
        download=False,
    )
    return ds


def _examples(data_dir, split, input_context, shuffle, seed, cycle_length, tfds_name, exclude):
    """(dataset of undecoded elements, fn element -> (image bytes, int32 label)).

    Parsing is left to the caller's one map function: a separate parse map costs a few
    percent of the pipeline's speed (measured, benchmark input)."""
    if tfds_name:
        ds = _tfds_examples(tfds_name, split, data_dir, input_context, shuffle, seed)
        return ds, lambda image, label: (image, tf.cast(label, tf.int32))
    files = list_shards(data_dir, split)
    records = _records(files, input_context, shuffle, seed, cycle_length, exclude)
    return records, lambda record: schema.parse_example(record)[:2]


def train_dataset(
    data_dir: str,
    batch_size: int,
    *,
    crop: bool = True,
    flip: bool = True,
    image_size: int = constants.CROP,
    input_context: tf.distribute.InputContext | None = None,
    shuffle_buffer: int = SHUFFLE_BUFFER,
    cycle_length: int = CYCLE_LENGTH,
    private_threads: int | None = None,
    cache: bool = False,
    repeat: bool = False,
    skip_errors: bool = False,
    exclude: dict | None = None,
    seed: int | None = None,
    tfds_name: str | None = None,
    data_service: str | None = None,
    job_name: str | None = None,
    autotune: bool = False,
    deterministic: bool = False,
    start: int = 0,
    examples_per_pass: int | None = None,
) -> tf.data.Dataset:
    """Training batches: random image_size crops of the 256x256 images (crop=False: the
    centre one) and random reflections (section 4.1), (uint8 (B, S, S, 3), int32 (B,)).
    With a seed the random draws repeat from run to run, though parallel decoding may
    pair them with other examples.

    batch_size is per input pipeline (per worker under a distribution strategy).
    cache keeps the encoded records in memory after the first epoch (small data sets).
    skip_errors drops records that fail to parse or decode, logging each.
    exclude leaves out known bad records: {shard path: (records to read, [positions to
    drop])}, from `check_data.exclusions`.
    data_service (HOST:PORT of a tf.data service dispatcher): the whole pipeline runs on
    the service's workers (`data.service`) as the service job `job_name`, whose batches
    the trainers that name it share (so input_context does not shard them again); a job
    of another name is another pass over the data. Not with cache or tfds_name.
    autotune=True: tf.data's autotuner sets the parallelism instead (`fixed` says why it
    is off).
    deterministic=True: every example and every random draw is a function of `seed`, the
    pass over the data and the example's place in it (`deterministic_examples`), and the
    stream begins at example `start` (a resumed run's step times batch_size);
    examples_per_pass: the train records (default: metadata.json's count).
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    if data_service and (cache or tfds_name):
        raise DataError(
            "data_service runs the pipeline on its workers, which read TFRecord shards "
            "afresh each pass: it takes neither cache nor tfds_name."
        )
    if deterministic:
        unordered = {"cache": cache, "skip_errors": skip_errors, "exclude": exclude,
                     "tfds_name": tfds_name, "data_service": data_service,
                     "input_context": input_context}  # fmt: skip
        named = [k for k, v in unordered.items() if v]
        if named:
            raise DataError(
                f"deterministic=True cannot be combined with {', '.join(named)}: those read "
                "the data in an order the replayable stream does not fix."
            )
        ds = deterministic_examples(
            data_dir, seed or 0, start, per_pass=examples_per_pass,
            image_size=image_size, crop=crop, flip=flip,
            shuffle_buffer=shuffle_buffer, cycle_length=cycle_length,
            threads=input_threads(private_threads),
        )  # fmt: skip
        ds = ds.batch(batch_size, drop_remainder=True).prefetch(PREFETCH_BATCHES)
        options = tf.data.Options()
        options.deterministic = True  # whatever a caller's options say
        return fixed(ds, private_threads).with_options(options)
    if data_service:
        input_context = None  # the dispatcher shares the shards out
    ds, parse = _examples(
        data_dir, "train", input_context, True, seed, cycle_length, tfds_name, exclude
    )
    if cache:
        ds = ds.cache()
    if repeat:
        ds = ds.repeat()
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    decode = image_decoder(data_dir, tfds_name)

    def crop_example(*element):
        image_bytes, label = parse(*element)
        offset = (
            augment.random_offset(crop=image_size, seed=seed)
            if crop
            else augment.centre_offset(image_size)
        )
        image = decode(image_bytes, offset, crop=image_size)
        return (augment.random_flip(image, seed=seed) if flip else image), label

    threads = tf.data.AUTOTUNE if autotune else input_threads(private_threads)
    ds = ds.map(crop_example, num_parallel_calls=threads, deterministic=False)
    if skip_errors:
        ds = ds.ignore_errors(log_warning=True)
    # drop_remainder: static batch shapes (XLA, TPUs) and equal per-replica batches.
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.prefetch(tf.data.AUTOTUNE if autotune else PREFETCH_BATCHES)
    ds = fixed(ds, private_threads, autotune)
    if data_service:
        ds = service.distribute(ds, data_service, job_name or service.JOB_NAME)
        ds = fixed(ds.prefetch(PREFETCH_BATCHES))  # the trainer's side of the service
    return ds


def deterministic_examples(
    data_dir: str,
    seed: int,
    start: int = 0,
    *,
    per_pass: int | None = None,
    image_size: int = constants.CROP,
    crop: bool = True,
    flip: bool = True,
    shuffle_buffer: int = SHUFFLE_BUFFER,
    cycle_length: int = CYCLE_LENGTH,
    threads: int = 1,
) -> tf.data.Dataset:
    """The training examples as a function of (seed, pass, place): an endless stream of
    (uint8 image, int32 label) that begins at example `start`.

    Pass p reads the shards in an order drawn from the key (seed, p), interleaved in
    order, through a shuffle buffer seeded from (seed, p); example i of the pass takes its
    crop and reflection from the key (seed, p) folded with i. Parallel reading and
    decoding keep that order (deterministic=True). So the stream is the same in every
    process, and a run resumed at step s rebuilds it at example s * batch_size: the
    passes before are not read at all, and the current one is read up to that place
    without decoding (records only). per_pass: the records in the train shards
    (default: metadata.json's count). PCA lighting and dropout draw inside the model,
    from generators the run's backups keep (`training.run`)."""
    files = list_shards(data_dir, "train")
    per_pass = per_pass or metadata_file(data_dir).get("num_examples", {}).get("train")
    if not per_pass:
        raise DataError(
            f"deterministic=True needs the number of train records: {data_dir} has no "
            f"{constants.METADATA_FILE} (make_tfrecords writes it); give the count "
            "(--num_train_examples)."
        )
    first_pass, skip = divmod(start, per_pass)
    names = tf.constant(files)
    seed = tf.constant(seed, tf.int64)

    def one_pass(p):
        key = tf.stack([seed, p])
        order = tf.argsort(tf.random.stateless_uniform([len(files)], key))
        records = tf.data.Dataset.from_tensor_slices(tf.gather(names, order)).interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(cycle_length, len(files)),
            num_parallel_calls=min(cycle_length, len(files), threads),
            deterministic=True,
        )
        records = records.shuffle(shuffle_buffer, seed=seed * 1_000_003 + p)
        return records.enumerate().map(lambda i, record: (augment.fold_key(key, i), record))

    ds = tf.data.Dataset.range(first_pass, 2**62).flat_map(one_pass).skip(skip)
    decode = image_decoder(data_dir)

    def example(key, record):
        image_bytes, label = schema.parse_example(record)[:2]
        offset = (
            augment.keyed_offset(key, crop=image_size)
            if crop
            else augment.centre_offset(image_size)
        )
        image = decode(image_bytes, offset, crop=image_size)
        return (augment.keyed_flip(image, key) if flip else image), label

    return ds.map(example, num_parallel_calls=threads, deterministic=True)


def eval_dataset(
    data_dir: str,
    batch_size: int,
    crops: int = 1,
    split: str = "validation",
    *,
    image_size: int = constants.CROP,
    input_context: tf.distribute.InputContext | None = None,
    cycle_length: int = CYCLE_LENGTH,
    private_threads: int | None = None,
    skip_errors: bool = False,
    exclude: dict | None = None,
    tfds_name: str | None = None,
    reflections: bool = True,
) -> tf.data.Dataset:
    """Evaluation batches in file order, every example exactly once (the last batch may
    be short). crops=1: the central image_size patch, (B, S, S, 3); crops=2 or 10: the
    views `augment.view_names(crops, reflections)` names, (B, V, S, S, 3): the centre and
    its reflection, or the paper's ten views (five without reflections).
    skip_errors and exclude as in `train_dataset`."""
    try:
        names = augment.view_names(crops, reflections)
    except ValueError as e:
        raise DataError(str(e)) from None
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    ds, parse = _examples(
        data_dir, split, input_context, False, None, cycle_length, tfds_name, exclude
    )

    decode = image_decoder(data_dir, tfds_name)

    def views(*element):
        image_bytes, label = parse(*element)
        if crops == 1:
            return decode(image_bytes, augment.centre_offset(image_size), crop=image_size), label
        return augment.crop_views(augment.decode_square(image_bytes), names, image_size), label

    ds = ds.map(views, num_parallel_calls=input_threads(private_threads))
    if skip_errors:
        ds = ds.ignore_errors(log_warning=True)
    ds = ds.batch(batch_size, drop_remainder=False)
    return fixed(ds.prefetch(PREFETCH_BATCHES), private_threads)


def small_images(
    data_dir: str | None,
    size: int,
    split: str = "train",
    *,
    tfds_name: str | None = None,
    limit: int = 0,
):
    """Every image of `split` (the first `limit` when > 0), its central square resized to
    size x size: (uint8 (N, size, size, 3), int32 (N,)) NumPy arrays, in file order. For
    small-image studies such as the paper's Figure 1 (CIFAR-10's 32x32)."""
    import numpy as np

    ds, parse = _examples(data_dir, split, None, False, None, CYCLE_LENGTH, tfds_name, None)
    if limit:
        ds = ds.take(limit)

    def shrink(*element):
        image_bytes, label = parse(*element)
        image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
        side = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        square = tf.image.resize_with_crop_or_pad(image, side, side)
        small = tf.image.resize(square, (size, size), antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(small), 0, 255), tf.uint8), label

    ds = fixed(ds.map(shrink, num_parallel_calls=input_threads()).batch(512))
    batches = list(ds.as_numpy_iterator())
    if not batches:
        raise DataError(f"No {split} images in data_dir={data_dir} (tfds_name={tfds_name}).")
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def decode_only_dataset(data_dir: str, batch_size: int, split: str = "train", crop: int = 0):
    """The baseline an input pipeline is measured against: read, parse and decode every
    JPEG whole, batch; no augmentation. crop > 0: decode only the central crop x crop
    window of each (256x256) image, through the fused op the training pipeline uses."""
    files = list_shards(data_dir, split)
    ds = _records(files, None, False, None, CYCLE_LENGTH)

    def decode(record):
        image_bytes = schema.parse_example(record)[0]
        if crop:
            offset = augment.centre_offset(crop)
            return (augment.decode_crop_square(image_bytes, offset, crop=crop),)
        return (tf.io.decode_jpeg(image_bytes, channels=3),)

    ds = ds.map(decode, num_parallel_calls=input_threads())
    return fixed(ds.batch(batch_size, drop_remainder=True).prefetch(PREFETCH_BATCHES))
