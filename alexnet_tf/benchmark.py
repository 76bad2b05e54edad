"""Measured speed of every stage. Each run prints a summary, the command that reproduces
it, and one JSON line (images_per_sec, gflops_per_sec where it applies, configuration, TF
version, CPU count). Timings follow --warmup_steps untimed steps.

    python -m alexnet_tf.benchmark train --batch_size=64        # the model's own speed
    python -m alexnet_tf.benchmark train --baseline=grouped_conv  # Keras Conv2D(groups=2)
    python -m alexnet_tf.benchmark input [--data_dir=DIR]       # pipeline vs decode-only
    python -m alexnet_tf.benchmark end_to_end [--data_dir=DIR]  # model.fit on TFRecords
    python -m alexnet_tf.benchmark serve                        # the SavedModel's latency
    python -m alexnet_tf.benchmark convert --num_images=2000    # make_tfrecords by workers
    python -m alexnet_tf.benchmark layout                       # NHWC vs NCHW convolutions

Without --data_dir, `input` and `end_to_end` use the built-in demo data (made on first use
in data/demo). --profile writes a TensorBoard profiler trace of the timed steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS
MODES = ("train", "input", "end_to_end", "serve", "convert", "layout")

# PAPER.md: 724 M multiply-adds forward = 1.45 GFLOP per image; a training step is ~3x.
FORWARD_GFLOP_PER_IMAGE = 1.45
TRAIN_GFLOP_PER_IMAGE = 4.35

flags.DEFINE_integer("batch_size", 64, "Images per step.")
flags.DEFINE_integer("steps", 10, "Timed steps (after warm-up).")
flags.DEFINE_integer("warmup_steps", 3, "Untimed steps first (tracing, allocation).")
flags.DEFINE_integer("num_classes", 1000, "Classes of fc8.")
flags.DEFINE_enum(
    "architecture", "two_tower", ["two_tower", "one_tower", "one_tower_half"], "Model variant."
)
flags.DEFINE_enum(
    "baseline",
    None,
    ["grouped_conv"],
    "train: time this naive formulation instead (Keras Conv2D(groups=2) towers, same parameters).",
)
flags.DEFINE_boolean("jit_compile", False, "Compile the train step with XLA.")
flags.DEFINE_enum(
    "mixed_precision",
    "float32",
    ["float32", "mixed_bfloat16", "mixed_float16"],
    "Keras dtype policy.",
)
flags.DEFINE_integer("intra_op_threads", 0, "TF intra-op threads (0: TF's default).")
flags.DEFINE_integer("inter_op_threads", 0, "TF inter-op threads (0: TF's default).")
flags.DEFINE_integer(
    "matmul_size", 4096, "train: n of the n x n float32 matmul timed for scale (0 skips it)."
)
flags.DEFINE_string("data_dir", None, "input, end_to_end: TFRecords (default: demo data).")
flags.DEFINE_integer("private_threads", 0, "input: tf.data private thread pool (0: shared).")
flags.DEFINE_integer("num_images", 400, "convert: JPEGs to generate and convert.")
flags.DEFINE_integer("num_workers", 0, "convert: largest worker count (0: all cores).")
flags.DEFINE_boolean("profile", False, "Write a TensorBoard profiler trace of timed steps.")
flags.DEFINE_string("profile_dir", os.path.join("runs", "profile"), "Where --profile writes.")


def _timed(fn, steps):
    """Seconds per call of fn over `steps` calls (profiled with --profile)."""
    import tensorflow as tf

    profiling = contextlib.nullcontext()
    if FLAGS.profile:
        profiling = tf.profiler.experimental.Profile(FLAGS.profile_dir)
    with profiling:
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps


def matmul_gflops(n: int, repeats: int = 10) -> float:
    """GFLOP/s of an n x n float32 matmul: what these cores reach on dense math."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    step = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
    step().numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        step().numpy()
    return 2 * n**3 / ((time.perf_counter() - start) / repeats) / 1e9


def grouped_conv_alexnet(num_classes: int):
    """The naive baseline: one tower with Keras Conv2D(groups=2) for conv2, conv4 and
    conv5 (the same 60,965,224 parameters at 1000 classes). Not part of the library."""
    import keras

    from alexnet_tf.layers import LocalResponseNorm

    x = inputs = keras.Input((224, 224, 3))
    x = keras.layers.ZeroPadding2D(2)(x)
    x = keras.layers.Conv2D(96, 11, strides=4, activation="relu")(x)
    x = keras.layers.MaxPooling2D(3, 2)(LocalResponseNorm()(x))
    x = keras.layers.Conv2D(256, 5, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.MaxPooling2D(3, 2)(LocalResponseNorm()(x))
    x = keras.layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(384, 3, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.Conv2D(256, 3, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(3, 2)(x))
    for _ in range(2):
        x = keras.layers.Dropout(0.5)(keras.layers.Dense(4096, activation="relu")(x))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def _compiled_model():
    import keras

    from alexnet_tf.model import build_alexnet

    keras.mixed_precision.set_global_policy(FLAGS.mixed_precision)
    if FLAGS.baseline == "grouped_conv":
        model = grouped_conv_alexnet(FLAGS.num_classes)
    else:
        model = build_alexnet(
            FLAGS.num_classes, tower_devices="auto", architecture=FLAGS.architecture
        )
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=FLAGS.jit_compile,
    )
    return model


def _synthetic_train_rate(model) -> float:
    """Training images/s on one in-memory batch, repeated."""
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(0)
    images = rng.uniform((FLAGS.batch_size, 224, 224, 3), 0, 255)
    labels = rng.uniform((FLAGS.batch_size,), 0, FLAGS.num_classes, dtype=tf.int32)
    it = iter(tf.data.Dataset.from_tensors((images, labels)).repeat())
    model.make_train_function()

    def step():
        float(model.train_function(it)["loss"])  # waits for the step to finish

    for _ in range(FLAGS.warmup_steps):
        step()
    return FLAGS.batch_size / _timed(step, FLAGS.steps)


def bench_train():
    model = _compiled_model()
    ips = _synthetic_train_rate(model)
    result = {
        "images_per_sec": round(ips, 2),
        "gflops_per_sec": round(ips * TRAIN_GFLOP_PER_IMAGE, 1),
        "parameters": model.count_params(),
    }
    summary = f"{ips:.1f} images/s, {result['gflops_per_sec']} GFLOP/s"
    if FLAGS.matmul_size:
        peak = matmul_gflops(FLAGS.matmul_size)
        result["matmul_gflops_per_sec"] = round(peak, 1)
        result["fraction_of_matmul"] = round(result["gflops_per_sec"] / peak, 3)
        summary += (
            f" ({result['fraction_of_matmul']:.0%} of a {FLAGS.matmul_size}^2 float32 "
            f"matmul's {peak:.1f} GFLOP/s)"
        )
    return result, summary


def _data_dir():
    from alexnet_tf import demo_data

    return FLAGS.data_dir or demo_data.prepare_demo(os.path.join("data", "demo"))["dir"]


def naive_dataset(data_dir, batch_size):
    """The naive baseline: decode whole images, go to float per image, crop, flip, light
    and normalise each one, then batch."""
    import tensorflow as tf

    from alexnet_tf import augment, data, schema

    def prepare(record):
        image_bytes, label = schema.parse_example(record)[:2]
        image = tf.cast(tf.io.decode_jpeg(image_bytes, channels=3), tf.float32)
        image = tf.image.random_flip_left_right(tf.image.random_crop(image, (224, 224, 3)))
        image = augment.pca_lighting(image, tf.random.normal((3,), stddev=0.1))
        return augment.normalize(image), label

    files = data.list_shards(data_dir, "train")
    ds = tf.data.TFRecordDataset(files).repeat().map(prepare, num_parallel_calls=-1)
    return ds.batch(batch_size, drop_remainder=True).prefetch(-1)


def bench_input():
    from alexnet_tf import data

    data_dir = _data_dir()
    bs, steps, warmup = FLAGS.batch_size, FLAGS.steps, FLAGS.warmup_steps

    def rate(dataset):
        it = iter(dataset)
        for _ in range(warmup):
            next(it)
        return bs / _timed(lambda: next(it), steps)

    pipelines = {
        "decode_only": data.decode_only_dataset(data_dir, bs).repeat(),
        "pipeline": data.train_dataset(
            data_dir, bs, repeat=True, seed=0, private_threads=FLAGS.private_threads or None
        ),
        "naive_float_per_image": naive_dataset(data_dir, bs),
    }
    # Alternate and keep each one's best, so none gets the warmer machine.
    best = {name: 0.0 for name in pipelines}
    for _ in range(3):
        for name, ds in pipelines.items():
            best[name] = max(best[name], rate(ds))
    base = best["decode_only"]
    result = {
        "images_per_sec": round(best["pipeline"], 1),
        "decode_only_images_per_sec": round(base, 1),
        "ratio_to_decode_only": round(best["pipeline"] / base, 3),
        "naive_images_per_sec": round(best["naive_float_per_image"], 1),
        "naive_ratio_to_decode_only": round(best["naive_float_per_image"] / base, 3),
        "data_dir": data_dir,
    }
    summary = (
        f"{best['pipeline']:.0f} images/s, {result['ratio_to_decode_only']}x the "
        f"decode-only {base:.0f} (a naive float-per-image pipeline: "
        f"{result['naive_ratio_to_decode_only']}x)"
    )
    return result, summary


def bench_end_to_end():
    from alexnet_tf import data

    data_dir = _data_dir()
    model = _compiled_model()
    synthetic = _synthetic_train_rate(model)
    dataset = data.train_dataset(data_dir, FLAGS.batch_size, repeat=True, seed=0)
    model.fit(dataset, steps_per_epoch=FLAGS.warmup_steps, epochs=1, verbose=0)
    seconds = {}
    for steps in (FLAGS.steps, 2 * FLAGS.steps):  # an epoch twice as long: linear?
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        seconds[steps] = time.perf_counter() - start
    ips = FLAGS.batch_size * 3 * FLAGS.steps / sum(seconds.values())
    result = {
        "images_per_sec": round(ips, 2),
        "gflops_per_sec": round(ips * TRAIN_GFLOP_PER_IMAGE, 1),
        "synthetic_images_per_sec": round(synthetic, 2),
        "ratio_to_synthetic": round(ips / synthetic, 3),
        "epoch_seconds_by_steps": {str(k): round(v, 2) for k, v in seconds.items()},
        "data_dir": data_dir,
    }
    summary = (
        f"{ips:.1f} images/s through model.fit from TFRecords, {result['ratio_to_synthetic']}x"
        f" the {synthetic:.1f} of in-memory batches; epochs of {FLAGS.steps} and "
        f"{2 * FLAGS.steps} steps took {seconds[FLAGS.steps]:.1f} and "
        f"{seconds[2 * FLAGS.steps]:.1f} s"
    )
    return result, summary


def bench_serve():
    import io
    import tempfile

    import numpy as np
    import tensorflow as tf
    from PIL import Image

    from alexnet_tf import augment
    from alexnet_tf.model import build_alexnet
    from alexnet_tf.serving import ServingModule

    model = build_alexnet(FLAGS.num_classes, tower_devices=None)
    names = [f"class_{i}" for i in range(FLAGS.num_classes)]
    rng = np.random.default_rng(0)
    jpegs = []
    for _ in range(FLAGS.batch_size):  # ImageNet-sized photos
        base = Image.fromarray(rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8))
        buf = io.BytesIO()
        base.resize((500, 375), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
        jpegs.append(buf.getvalue())
    with tempfile.TemporaryDirectory() as tmp:
        module = ServingModule(model, names, names)
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        serve = tf.saved_model.load(tmp).signatures["serving_default"]
        crops = tf.stack([augment.decode_crop(b, augment.CENTRE_OFFSET) for b in jpegs])
        bare = tf.function(lambda x: tf.nn.softmax(model(x, training=False)))
        calls = {
            "serve": lambda n: serve(image_bytes=tf.constant(jpegs[:n]))["probabilities"],
            "bare": lambda n: bare(tf.cast(crops[:n], tf.float32)),
        }
        latency, throughput = {}, {}
        for name, fn in calls.items():
            for _ in range(FLAGS.warmup_steps):
                fn(1).numpy()
                fn(FLAGS.batch_size).numpy()
            times = []
            for _ in range(max(FLAGS.steps, 30)):
                start = time.perf_counter()
                fn(1).numpy()
                times.append(time.perf_counter() - start)
            latency[name] = (float(np.median(times)), float(np.percentile(times, 99)))
            throughput[name] = FLAGS.batch_size / _timed(
                lambda fn=fn: fn(FLAGS.batch_size).numpy(), max(2, FLAGS.steps // 3)
            )
    overhead = latency["serve"][0] / latency["bare"][0] - 1
    result = {
        "images_per_sec": round(throughput["serve"], 1),
        "gflops_per_sec": round(throughput["serve"] * FORWARD_GFLOP_PER_IMAGE, 1),
        "bare_images_per_sec": round(throughput["bare"], 1),
        "latency_ms_batch1": {
            "median": round(latency["serve"][0] * 1e3, 2),
            "p99": round(latency["serve"][1] * 1e3, 2),
        },
        "bare_latency_ms_batch1": {
            "median": round(latency["bare"][0] * 1e3, 2),
            "p99": round(latency["bare"][1] * 1e3, 2),
        },
        "preprocessing_overhead_batch1": round(overhead, 3),
        "image_size": "500x375 JPEG",
    }
    summary = (
        f"serving_default: batch 1 median {latency['serve'][0] * 1e3:.1f} ms (p99 "
        f"{latency['serve'][1] * 1e3:.1f}) vs the bare model's "
        f"{latency['bare'][0] * 1e3:.1f} ms: {overhead:+.0%} for decoding and "
        f"preprocessing; batch {FLAGS.batch_size}: {throughput['serve']:.1f} images/s vs "
        f"{throughput['bare']:.1f}"
    )
    return result, summary


def bench_convert():
    import tempfile

    import numpy as np
    from PIL import Image

    from alexnet_tf import tfrecords

    rng = np.random.default_rng(0)
    max_workers = FLAGS.num_workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(FLAGS.num_images):
            # Smooth structure plus noise: JPEGs of a photo's size and roughly its entropy.
            base = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
            img = Image.fromarray(base).resize((500, 375), Image.Resampling.BICUBIC)
            noisy = np.asarray(img, np.float32) + rng.normal(0, 8, (375, 500, 3))
            path = os.path.join(tmp, "raw", "train", f"c{i % 10}", f"{i}.JPEG")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=90)
        rates = {}
        for workers in range(1, max_workers + 1):
            start = time.perf_counter()
            tfrecords.convert(
                os.path.join(tmp, "raw"),
                os.path.join(tmp, f"out{workers}"),
                train_shards=8 * max_workers,
                num_workers=workers,
                progress=False,
            )
            rates[workers] = FLAGS.num_images / (time.perf_counter() - start)
    result = {
        "images_per_sec": round(max(rates.values()), 1),
        "images_per_sec_by_workers": {str(k): round(v, 1) for k, v in rates.items()},
        "scaling": round(rates[max_workers] / rates[1], 2),
        "image_size": "500x375",
    }
    by_workers = result["images_per_sec_by_workers"]
    summary = f"make_tfrecords, 500x375 JPEGs resized: {by_workers} images/s by worker count"
    return result, summary


def bench_layout():
    """Forward + backward of each of AlexNet's conv layers (per-tower shapes) in
    channels-last (NHWC, the default) and channels-first (NCHW) layout."""
    import tensorflow as tf

    # (input H=W, input channels, kernel, filters, stride) per tower, PAPER.md's table.
    layers = {
        "conv1": (228, 3, 11, 48, 4),
        "conv2": (27, 48, 5, 128, 1),
        "conv3": (13, 256, 3, 192, 1),
        "conv4": (13, 192, 3, 192, 1),
        "conv5": (13, 192, 3, 128, 1),
    }
    bs = FLAGS.batch_size
    seconds = {}
    for fmt in ("NHWC", "NCHW"):
        total = 0.0
        for size, cin, k, cout, stride in layers.values():
            shape = (bs, size, size, cin) if fmt == "NHWC" else (bs, cin, size, size)
            x = tf.random.normal(shape)
            w = tf.Variable(tf.random.normal((k, k, cin, cout)) * 0.01)
            padding = "VALID" if k == 11 else "SAME"

            @tf.function
            def step(x=x, w=w, padding=padding, stride=stride, fmt=fmt):
                with tf.GradientTape() as tape:
                    y = tf.nn.conv2d(x, w, stride, padding, data_format=fmt)
                    loss = tf.reduce_sum(y * y)
                return tape.gradient(loss, w)

            for _ in range(FLAGS.warmup_steps):
                step().numpy()
            total += _timed(lambda step=step: step().numpy(), FLAGS.steps)
        seconds[fmt] = total
    result = {
        "images_per_sec": round(bs / seconds["NHWC"], 1),
        "nchw_images_per_sec": round(bs / seconds["NCHW"], 1),
        "nchw_relative_time": round(seconds["NCHW"] / seconds["NHWC"], 3),
    }
    summary = (
        f"the five conv layers, forward + backward, batch {bs}: NHWC "
        f"{seconds['NHWC'] * 1e3:.0f} ms, NCHW {seconds['NCHW'] * 1e3:.0f} ms "
        f"({result['nchw_relative_time']}x)"
    )
    return result, summary


BENCHMARKS = {
    "train": bench_train,
    "input": bench_input,
    "end_to_end": bench_end_to_end,
    "serve": bench_serve,
    "convert": bench_convert,
    "layout": bench_layout,
}
CONFIG_FLAGS = (
    "batch_size",
    "steps",
    "warmup_steps",
    "num_classes",
    "architecture",
    "baseline",
    "jit_compile",
    "mixed_precision",
    "intra_op_threads",
    "inter_op_threads",
    "data_dir",
    "private_threads",
    "num_images",
    "num_workers",
)


def _validate(argv):
    if len(argv) != 2 or argv[1] not in MODES:
        raise app.UsageError(
            f"Give one mode, one of {', '.join(MODES)}. Received: {' '.join(argv[1:]) or 'none'}"
        )
    for name in ("batch_size", "steps", "num_images"):
        if getattr(FLAGS, name) < 1:
            raise app.UsageError(f"--{name} must be >= 1. Received: {getattr(FLAGS, name)}")
    return argv[1]


def main(argv):
    mode = _validate(argv)
    import tensorflow as tf

    if FLAGS.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    result, summary = BENCHMARKS[mode]()
    result = {
        "benchmark": mode,
        **result,
        "config": {name: getattr(FLAGS, name) for name in CONFIG_FLAGS},
        "tf_version": tf.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }
    print(f"\n{mode}: {summary}")
    if FLAGS.profile:
        print(f"profiler trace: {FLAGS.profile_dir} (tensorboard --logdir={FLAGS.profile_dir})")
    print("reproduce with: python -m alexnet_tf.benchmark " + " ".join(sys.argv[1:]))
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
