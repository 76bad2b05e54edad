"""Measured speed of AlexNet's stages.

    python -m alexnet_tf.benchmark train --batch_size=64
    python -m alexnet_tf.benchmark convert --num_images=400
    python -m alexnet_tf.benchmark input --data_dir=DIR

`train` times full training steps (forward, backward, SGD update) of the paper model on
a synthetic in-memory batch after a warm-up, and a large float32 matmul on the same
cores for scale. `convert` times make_tfrecords on ImageNet-sized JPEGs (500x375, with
the paper's resize) for each worker count up to --num_workers. `input` times the training
input pipeline alone and, on the same records in the same run, a decode-only read
(without --data_dir: the built-in demo data). Each run prints a summary
and ends with one JSON line.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS
MODES = ("train", "convert", "input")

# PAPER.md: 724 M multiply-adds forward = 1.45 GFLOP; a training step is about 3x.
TRAIN_GFLOP_PER_IMAGE = 4.35

flags.DEFINE_integer("batch_size", 64, "Images per step.")
flags.DEFINE_integer("steps", 10, "Timed steps (after warm-up).")
flags.DEFINE_integer("warmup_steps", 3, "Untimed steps first (tracing, allocation).")
flags.DEFINE_integer("num_classes", 1000, "Classes of fc8.")
flags.DEFINE_enum(
    "architecture", "two_tower", ["two_tower", "one_tower", "one_tower_half"], "Model variant."
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
flags.DEFINE_string("data_dir", None, "input: TFRecords to read (default: the demo data).")
flags.DEFINE_integer("private_threads", 0, "input: tf.data private thread pool (0: shared).")
flags.DEFINE_integer("num_images", 400, "convert: JPEGs to generate and convert.")
flags.DEFINE_integer("num_workers", 0, "convert: largest worker count (0: all cores).")
flags.DEFINE_integer(
    "matmul_size", 4096, "Size n of the n x n float32 matmul timed for scale (0 skips it)."
)


def _validate(argv):
    if len(argv) != 2 or argv[1] not in MODES:
        raise app.UsageError(
            f"Give one mode, one of {', '.join(MODES)}. Received: {' '.join(argv[1:]) or 'none'}"
        )
    for name in ("batch_size", "steps"):
        if getattr(FLAGS, name) < 1:
            raise app.UsageError(f"--{name} must be >= 1. Received: {getattr(FLAGS, name)}")
    return argv[1]


def _timed(fn, steps):
    """Seconds per call of fn over `steps` calls."""
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
    seconds = _timed(lambda: step().numpy(), repeats)
    return 2 * n**3 / seconds / 1e9


def bench_train() -> dict:
    import keras
    import tensorflow as tf

    from alexnet_tf.model import build_alexnet

    keras.mixed_precision.set_global_policy(FLAGS.mixed_precision)
    model = build_alexnet(FLAGS.num_classes, tower_devices="auto", architecture=FLAGS.architecture)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=FLAGS.jit_compile,
    )
    rng = tf.random.Generator.from_seed(0)
    images = rng.uniform((FLAGS.batch_size, 224, 224, 3), 0, 255)
    labels = rng.uniform((FLAGS.batch_size,), 0, FLAGS.num_classes, dtype=tf.int32)
    data = tf.data.Dataset.from_tensors((images, labels)).repeat()
    it = iter(data)
    model.make_train_function()

    def step():
        logs = model.train_function(it)
        float(logs["loss"])  # wait for the step to finish

    for _ in range(FLAGS.warmup_steps):
        step()
    seconds = _timed(step, FLAGS.steps)
    ips = FLAGS.batch_size / seconds
    result = {
        "images_per_sec": round(ips, 2),
        "gflops_per_sec": round(ips * TRAIN_GFLOP_PER_IMAGE, 1),
        "seconds_per_step": round(seconds, 4),
        "parameters": model.count_params(),
    }
    if FLAGS.matmul_size:
        peak = matmul_gflops(FLAGS.matmul_size)
        result["matmul_gflops_per_sec"] = round(peak, 1)
        result["fraction_of_matmul"] = round(result["gflops_per_sec"] / peak, 3)
    return result


def bench_convert() -> dict:
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
            out = os.path.join(tmp, f"out{workers}")
            start = time.perf_counter()
            tfrecords.convert(
                os.path.join(tmp, "raw"),
                out,
                train_shards=8 * max_workers,
                num_workers=workers,
                progress=False,
            )
            rates[workers] = FLAGS.num_images / (time.perf_counter() - start)
    best = max(rates.values())
    return {
        "images_per_sec": round(best, 1),
        "images_per_sec_by_workers": {str(k): round(v, 1) for k, v in rates.items()},
        "scaling": round(rates[max_workers] / rates[1], 2),
        "image_size": "500x375",
        "num_images": FLAGS.num_images,
    }


def _images_per_sec(dataset, batch_size, steps, warmup):
    it = iter(dataset)
    for _ in range(warmup):
        next(it)
    return batch_size / _timed(lambda: next(it), steps)


def bench_input() -> dict:
    from alexnet_tf import data, demo_data

    data_dir = FLAGS.data_dir or demo_data.prepare_demo(os.path.join("data", "demo"))["dir"]
    bs, steps, warmup = FLAGS.batch_size, FLAGS.steps, FLAGS.warmup_steps
    baseline = data.decode_only_dataset(data_dir, bs).repeat()
    pipeline = data.train_dataset(
        data_dir, bs, repeat=True, seed=0, private_threads=FLAGS.private_threads or None
    )
    # Alternate the two and keep each one's best, so neither gets the warmer machine.
    base_rates, pipe_rates = [], []
    for _ in range(3):
        base_rates.append(_images_per_sec(baseline, bs, steps, warmup))
        pipe_rates.append(_images_per_sec(pipeline, bs, steps, warmup))
    base, pipe = max(base_rates), max(pipe_rates)
    return {
        "images_per_sec": round(pipe, 1),
        "decode_only_images_per_sec": round(base, 1),
        "ratio_to_decode_only": round(pipe / base, 3),
        "data_dir": data_dir,
    }


def _environment() -> dict:
    import tensorflow as tf

    return {
        "tf_version": tf.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }


def main(argv):
    mode = _validate(argv)
    import tensorflow as tf

    if FLAGS.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    result = {
        "benchmark": mode,
        **{"train": bench_train, "convert": bench_convert, "input": bench_input}[mode](),
    }
    config = {
        name: getattr(FLAGS, name)
        for name in (
            "batch_size",
            "steps",
            "warmup_steps",
            "architecture",
            "jit_compile",
            "mixed_precision",
            "intra_op_threads",
            "inter_op_threads",
        )
    }
    result.update(config=config, **_environment())
    command = "python -m alexnet_tf.benchmark " + " ".join(sys.argv[1:])
    print(f"\n{mode}: {result['images_per_sec']} images/s", end="")
    if "ratio_to_decode_only" in result:
        print(
            f" ({result['ratio_to_decode_only']}x the decode-only "
            f"{result['decode_only_images_per_sec']} images/s)",
            end="",
        )
    if "images_per_sec_by_workers" in result:
        print(f" (by worker count: {result['images_per_sec_by_workers']})", end="")
    if "gflops_per_sec" in result:
        print(f", {result['gflops_per_sec']} GFLOP/s", end="")
    if "fraction_of_matmul" in result:
        print(
            f" ({result['fraction_of_matmul']:.0%} of a {FLAGS.matmul_size}^2 float32 "
            f"matmul's {result['matmul_gflops_per_sec']} GFLOP/s)",
            end="",
        )
    print(f"\nreproduce with: {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
