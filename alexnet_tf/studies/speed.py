"""Measured speed of every stage (the library behind `python -m alexnet_tf.benchmark`).

Each `bench_*` function takes a `Bench` (plain settings) and returns (result dict,
one-line summary). Timings follow `warmup_steps` untimed steps. Ratios are taken in one
process, against a baseline measured beside them, so they hold when the machine's speed
drifts: the train step against a matmul in the precision it runs, the input pipeline
against a decode-only read, model.fit against in-memory batches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

from alexnet_tf.core import constants
from alexnet_tf.core.precision import policy_scope
from alexnet_tf.core.rundir import exported_source
from alexnet_tf.model import CONV_SPECS
from alexnet_tf.model.optimizer import PaperSGD

# A training step costs about 3x the forward pass: the forward, and each layer's two
# gradients (its input's and its weights'). The paper's network: 1.45 GFLOP forward
# (724 M multiply-adds, docs/paper.md), 4.35 a training image.
TRAIN_PASSES = 3


@dataclasses.dataclass(frozen=True)
class Bench:
    """What one benchmark run measures, and how."""

    batch_size: int = 64
    steps: int = 10
    warmup_steps: int = 3
    num_classes: int = 1000
    architecture: str = "two_tower"
    baseline: str | None = None  # "grouped_conv": the naive formulation instead
    jit_compile: bool = False
    mixed_precision: str = "float32"  # a Keras policy, already resolved
    matmul_size: int = 4096  # 0 skips the ceiling
    data_dir: str | None = None
    private_threads: int = 0
    num_images: int = 400
    num_workers: int = 0
    data_service: str | None = None  # HOST:PORT: end_to_end reads through the service
    profile_dir: str | None = None  # set: a TensorBoard profiler trace of timed steps
    tflite: str | None = None  # serve: this .tflite file beside the run's other formats
    onnx: str | None = None  # serve: this .onnx file beside the run's other formats
    deterministic: bool = False  # end_to_end: op determinism, the replayable pipeline

    @property
    def compute_dtype(self) -> tf.DType:
        return {"mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}.get(
            self.mixed_precision, tf.float32
        )


def _timed(bench: Bench, fn, steps, warm_up: bool = True):
    """Seconds per call of fn over `steps` calls (profiled when bench.profile_dir), after
    `bench.warmup_steps` untimed calls unless warm_up=False (warmed up already)."""
    for _ in range(bench.warmup_steps if warm_up else 0):
        fn()
    with _profiling(bench.profile_dir):
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps


def _profiling(profile_dir: str | None):
    """A TensorBoard profiler trace into `profile_dir` while in the block (None: none)."""
    if not profile_dir:
        return contextlib.nullcontext()
    return tf.profiler.experimental.Profile(profile_dir)


def _input_rate(bench: Bench, dataset) -> float:
    """Batches of `dataset` per second, as images/s, over `bench.steps` after warm-up."""
    it = iter(dataset)
    return bench.batch_size / _timed(bench, lambda: next(it), bench.steps)


def matmul_gflops(n: int, dtype=tf.float32, repeats: int = 10) -> float:
    """GFLOP/s of an n x n matmul in `dtype`: what these cores reach on dense math."""
    a = tf.cast(tf.random.normal((n, n)), dtype)
    step = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, a), tf.float32)))
    step().numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        step().numpy()
    return 2 * n**3 / ((time.perf_counter() - start) / repeats) / 1e9


def grouped_conv_alexnet(num_classes: int):
    """The naive baseline: one tower with Keras Conv2D(groups=2) for conv2, conv4 and
    conv5 (the same 60,965,224 parameters at 1000 classes). Not part of the library."""
    import keras

    from alexnet_tf.model.layers import LocalResponseNorm

    width = {name: 2 * spec[0] for name, spec in CONV_SPECS.items()}  # both towers
    x = inputs = keras.Input((constants.CROP, constants.CROP, 3))
    x = keras.layers.ZeroPadding2D(2)(x)
    x = keras.layers.Conv2D(width["conv1"], 11, strides=4, activation="relu")(x)
    x = keras.layers.MaxPooling2D(3, 2)(LocalResponseNorm()(x))
    x = keras.layers.Conv2D(width["conv2"], 5, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.MaxPooling2D(3, 2)(LocalResponseNorm()(x))
    x = keras.layers.Conv2D(width["conv3"], 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(width["conv4"], 3, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.Conv2D(width["conv5"], 3, padding="same", groups=2, activation="relu")(x)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(3, 2)(x))
    for _ in range(2):
        x = keras.layers.Dropout(0.5)(keras.layers.Dense(4096, activation="relu")(x))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def compiled_model(bench: Bench):
    import keras

    from alexnet_tf.model import build_alexnet

    with policy_scope(bench.mixed_precision):
        if bench.baseline == "grouped_conv":
            model = grouped_conv_alexnet(bench.num_classes)
        else:
            model = build_alexnet(
                bench.num_classes, tower_devices="auto", architecture=bench.architecture
            )
    model.compile(
        optimizer=PaperSGD(0.01, momentum=0.9, kernel_decay=5e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=bench.jit_compile,
    )
    return model


def forward_flop(layer) -> int:
    """Multiply-adds x 2 of one image through a conv or dense layer (0 for the others),
    from the layer's own kernel and output shape."""
    import keras

    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, _ = layer.output.shape
        return 2 * int(np.prod(layer.kernel.shape)) * height * width
    if isinstance(layer, keras.layers.Dense):
        return 2 * int(np.prod(layer.kernel.shape))
    return 0


def forward_gflop(model) -> float:
    """GFLOP of one image's forward pass through `model`'s convolutions and dense layers,
    so it follows the architecture being timed."""
    return sum(forward_flop(layer) for layer in model.layers) / 1e9


def synthetic_train_step(bench: Bench, model):
    """A callable running one training step of `model` on one in-memory batch, repeated,
    and returning when the step has finished."""
    rng = tf.random.Generator.from_seed(0)
    size = constants.CROP
    images = rng.uniform((bench.batch_size, size, size, 3), 0, 255)
    labels = rng.uniform((bench.batch_size,), 0, bench.num_classes, dtype=tf.int32)
    it = iter(tf.data.Dataset.from_tensors((images, labels)).repeat())
    model.make_train_function()

    def step():
        float(model.train_function(it)["loss"])  # waits for the step to finish

    return step


def synthetic_train_rate(bench: Bench, model) -> float:
    """Training images/s on one in-memory batch, repeated."""
    return bench.batch_size / _timed(bench, synthetic_train_step(bench, model), bench.steps)


def bench_train(bench: Bench):
    model = compiled_model(bench)
    ips = synthetic_train_rate(bench, model)
    result = {
        "images_per_sec": round(ips, 2),
        "gflops_per_sec": round(ips * TRAIN_PASSES * forward_gflop(model), 1),
        "train_gflop_per_image": round(TRAIN_PASSES * forward_gflop(model), 3),
        "parameters": model.count_params(),
    }
    summary = f"{ips:.1f} images/s, {result['gflops_per_sec']} GFLOP/s"
    if bench.matmul_size:
        dtype = bench.compute_dtype
        peak = matmul_gflops(bench.matmul_size, dtype)
        result["matmul_dtype"] = dtype.name
        result["matmul_gflops_per_sec"] = round(peak, 1)
        result["fraction_of_matmul"] = round(result["gflops_per_sec"] / peak, 3)
        summary += (
            f" ({result['fraction_of_matmul']:.0%} of a {bench.matmul_size}^2 {dtype.name} "
            f"matmul's {peak:.1f} GFLOP/s, measured in this run)"
        )
    return result, summary


def demo_data_dir(bench: Bench) -> str:
    from alexnet_tf.data import demo

    return bench.data_dir or demo.prepare_demo(os.path.join("data", "demo"))["dir"]


def naive_dataset(data_dir, batch_size):
    """The naive baseline: decode whole images, go to float per image, crop, flip, light
    and normalise each one, then batch."""
    from alexnet_tf import data
    from alexnet_tf.data import augment, schema

    def prepare(record):
        image_bytes, label = schema.parse_example(record)[:2]
        image = tf.cast(tf.io.decode_jpeg(image_bytes, channels=3), tf.float32)
        image = tf.image.random_crop(image, (constants.CROP, constants.CROP, 3))
        image = tf.image.random_flip_left_right(image)
        image = augment.pca_lighting(image, tf.random.normal((3,), stddev=0.1))
        return augment.normalize(image), label

    files = data.list_shards(data_dir, "train")
    ds = tf.data.TFRecordDataset(files).repeat().map(prepare, num_parallel_calls=-1)
    return ds.batch(batch_size, drop_remainder=True).prefetch(-1)


def bench_input(bench: Bench):
    from alexnet_tf import data

    data_dir = demo_data_dir(bench)
    bs = bench.batch_size

    def pipeline(**options):
        return data.train_dataset(
            data_dir,
            bs,
            repeat=True,
            seed=0,
            private_threads=bench.private_threads or None,
            **options,
        )

    pipelines = {
        "decode_only": data.decode_only_dataset(data_dir, bs).repeat(),
        "crop_decode_only": data.decode_only_dataset(data_dir, bs, crop=constants.CROP).repeat(),
        "pipeline": pipeline(),
        "naive_float_per_image": naive_dataset(data_dir, bs),
        "pipeline_autotuned": pipeline(autotune=True),
        # The pipeline less one of its parts at a time, and built once more: what each
        # part costs, against the spread between two builds of the same pipeline.
        "pipeline_again": pipeline(),
        "no_record_shuffle": pipeline(shuffle_buffer=1),
        "no_flip": pipeline(flip=False),
        "centre_offset": pipeline(crop=False),
    }
    # Alternate and keep each one's best, so none gets the warmer machine.
    best = {name: 0.0 for name in pipelines}
    for _ in range(3):
        for name, ds in pipelines.items():
            best[name] = max(best[name], _input_rate(bench, ds))
    base = best["decode_only"]
    result = {
        "images_per_sec": round(best["pipeline"], 1),
        "decode_only_images_per_sec": round(base, 1),
        "ratio_to_decode_only": round(best["pipeline"] / base, 3),
        "crop_decode_only_images_per_sec": round(best["crop_decode_only"], 1),
        "crop_decode_ratio_to_decode_only": round(best["crop_decode_only"] / base, 3),
        "naive_images_per_sec": round(best["naive_float_per_image"], 1),
        "naive_ratio_to_decode_only": round(best["naive_float_per_image"] / base, 3),
        "autotuned_images_per_sec": round(best["pipeline_autotuned"], 1),
        "autotuned_ratio_to_decode_only": round(best["pipeline_autotuned"] / base, 3),
        "parts_ratio_to_decode_only": {
            name: round(best[name] / base, 3)
            for name in ("pipeline_again", "no_record_shuffle", "no_flip", "centre_offset")
        },
        "data_dir": data_dir,
    }
    summary = (
        f"{best['pipeline']:.0f} images/s, {result['ratio_to_decode_only']}x the "
        f"decode-only {base:.0f} (decoding only the centre crop: "
        f"{result['crop_decode_ratio_to_decode_only']}x; a naive float-per-image pipeline: "
        f"{result['naive_ratio_to_decode_only']}x; the pipeline under tf.data's autotuner: "
        f"{result['autotuned_ratio_to_decode_only']}x; built again and less one part: "
        f"{result['parts_ratio_to_decode_only']})"
    )
    return result, summary


def step_seconds(model, dataset, steps: int, profile_dir: str | None = None) -> list[float]:
    """Wall seconds of each of `steps` training steps of model.fit on `dataset` (one
    epoch, no validation), from one batch's end to the next: what training waits for,
    input included. Profiled when `profile_dir` (TensorBoard's trace viewer, and its
    input-pipeline page, which reads tf.data's own events from the trace)."""
    import keras

    ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if not ends:
                ends.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    with _profiling(profile_dir):
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Clock()])
    return list(np.diff(ends))


ROUNDS = 4  # end_to_end: alternations of in-memory and from-disk fits


def bench_end_to_end(bench: Bench):
    """model.fit from TFRecords against model.fit on one in-memory batch, in the same
    process: the same model, train function, callbacks and input dtype (uint8), so the
    ratio is the cost of reading from disk. The two alternate, ROUNDS times, so neither
    gets the faster (or the less contended) machine; each gives its median step."""
    from alexnet_tf import data
    from alexnet_tf.data.pipeline import fixed

    data_dir = demo_data_dir(bench)
    model = compiled_model(bench)
    size, bs = constants.CROP, bench.batch_size
    rng = tf.random.Generator.from_seed(0)
    images = tf.cast(rng.uniform((bs, size, size, 3), 0, 256, dtype=tf.int32), tf.uint8)
    labels = rng.uniform((bs,), 0, bench.num_classes, dtype=tf.int32)
    service = dict(data_service=bench.data_service or None, job_name=_unique_job())
    if bench.deterministic:  # as train --deterministic
        tf.config.experimental.enable_op_determinism()
        service = dict(deterministic=True)
    sources = {
        "memory": fixed(tf.data.Dataset.from_tensors((images, labels)).repeat()),
        "disk": data.train_dataset(data_dir, bs, repeat=True, seed=0, **service),
    }
    for dataset in sources.values():  # tracing, allocation, the shuffle buffer's fill
        step_seconds(model, dataset, bench.warmup_steps)
    steps = {name: [] for name in sources}
    first = {name: [] for name in sources}
    for round_ in range(ROUNDS):
        for name, dataset in sources.items():
            profile = bench.profile_dir if (name == "disk" and round_ == ROUNDS - 1) else None
            # Each fit starts a new iterator: its first step refills the shuffle buffer,
            # which a training run does once. It is timed, and kept out of the median.
            times = step_seconds(model, dataset, bench.steps + 1, profile)
            steps[name] += times[1:]
            first[name].append(times[0])
    median = {name: float(np.median(times)) for name, times in steps.items()}
    ips = bs / median["disk"]
    result = {
        "images_per_sec": round(ips, 2),
        "gflops_per_sec": round(ips * TRAIN_PASSES * forward_gflop(model), 1),
        "in_memory_images_per_sec": round(bs / median["memory"], 2),
        "ratio_to_in_memory": round(median["memory"] / median["disk"], 3),
        "step_seconds": {name: [round(t, 4) for t in times] for name, times in steps.items()},
        "first_step_seconds": {name: [round(t, 4) for t in v] for name, v in first.items()},
        "slowest_step_ratio": round(max(steps["disk"]) / median["memory"], 2),
        "data_dir": data_dir,
        "through": f"tf.data service at {bench.data_service}" if bench.data_service else "local",
        "deterministic": bench.deterministic,
    }
    summary = (
        f"{ips:.1f} images/s through model.fit from TFRecords, "
        f"{result['ratio_to_in_memory']}x the {result['in_memory_images_per_sec']:.1f} of "
        f"model.fit on an in-memory batch (median of {ROUNDS * bench.steps} steps each, "
        f"in {ROUNDS} alternating rounds; slowest "
        f"step from disk {max(steps['disk']):.2f} s)"
    )
    return result, summary


def _unique_job() -> str:
    """A service job of this benchmark run alone (a job's name is shared by whoever uses
    it; a finished job gives nothing)."""
    import uuid

    return f"benchmark_{uuid.uuid4().hex[:12]}"


def local_workers(n: int):
    """A dispatcher in this process and `n` worker processes (`python -m
    alexnet_tf.data_service`), each ready: (dispatcher address, worker processes)."""
    import subprocess
    import sys

    from alexnet_tf.data import service

    dispatcher = service.start_dispatcher(0)
    address = dispatcher.target.removeprefix("grpc://")
    workers = []
    for _ in range(n):
        worker = subprocess.Popen(
            [sys.executable, "-m", "alexnet_tf.data_service", f"--dispatcher={address}",
             "--port=0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        line = worker.stdout.readline()
        if "serving on port" not in line:
            raise RuntimeError(f"a tf.data service worker did not start: {line!r}")
        workers.append(worker)
    return dispatcher, address, workers


def bench_service(bench: Bench):
    """Training input (the train pipeline, no model) read here, then through the tf.data
    service with 1, 2, ... num_workers local worker processes: images/s of each, in one
    run. On one machine the workers share its cores with this process, so this measures
    the service's own cost; on other machines the workers add cores."""
    from alexnet_tf import data

    data_dir = demo_data_dir(bench)
    bs = bench.batch_size
    max_workers = bench.num_workers or os.cpu_count() or 1

    local = data.train_dataset(data_dir, bs, repeat=True, seed=0)
    rates = {"local": _input_rate(bench, local)}
    for n in range(1, max_workers + 1):
        dispatcher, address, workers = local_workers(n)
        try:
            ds = data.train_dataset(
                data_dir, bs, repeat=True, seed=0, data_service=address, job_name=_unique_job()
            )
            rates[f"{n}_workers"] = _input_rate(bench, ds)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait()
            dispatcher.stop()
    result = {
        "images_per_sec": round(rates[f"{max_workers}_workers"], 1),
        "images_per_sec_by_source": {k: round(v, 1) for k, v in rates.items()},
        "ratio_to_local": {k: round(v / rates["local"], 3) for k, v in rates.items()},
        "data_dir": data_dir,
    }
    summary = (
        "training input, images/s: "
        + ", ".join(f"{k} {v:.0f}" for k, v in rates.items())
        + " (workers on this machine, sharing its cores)"
    )
    return result, summary


def photo_jpegs(n: int, seed: int = 0) -> list[bytes]:
    """n JPEGs of ImageNet's typical size (500x375): smooth structure, cheap stand-ins for
    photos where the pixels do not matter (`studies.photos` has real ones)."""
    import io

    from PIL import Image

    rng = np.random.default_rng(seed)
    jpegs = []
    for _ in range(n):
        base = Image.fromarray(rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8))
        pixels = np.asarray(base.resize((500, 375), Image.Resampling.BICUBIC), np.float32)
        buf = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
        jpegs.append(buf.getvalue())
    return jpegs


def _latency_and_rate(bench: Bench, calls: dict) -> tuple[dict, dict]:
    """For each fn(n) in calls: (median, p99) seconds at batch 1, and images/s at
    bench.batch_size, warmed up at both sizes first."""
    latency, throughput = {}, {}
    for name, fn in calls.items():
        for _ in range(bench.warmup_steps):
            fn(1)
            fn(bench.batch_size)
        times = []
        for _ in range(max(bench.steps, 30)):
            start = time.perf_counter()
            fn(1)
            times.append(time.perf_counter() - start)
        latency[name] = (float(np.median(times)), float(np.percentile(times, 99)))
        throughput[name] = bench.batch_size / _timed(
            bench, lambda fn=fn: fn(bench.batch_size), max(2, bench.steps // 3), warm_up=False
        )
    return latency, throughput


def _ms(pair) -> dict:
    return {"median": round(pair[0] * 1e3, 2), "p99": round(pair[1] * 1e3, 2)}


@contextlib.contextmanager
def _saved_model(model):
    """(path, SessionModel): `model`'s SavedModel written by export's own code into a
    temporary directory, loaded in the session TF Serving loads it into."""
    from alexnet_tf.inference.export import write_saved_model
    from alexnet_tf.inference.session import SessionModel

    names = [f"class_{i}" for i in range(int(model.output.shape[-1]))]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "1")
        write_saved_model(model, names, names, path, "alexnet")
        with SessionModel(path) as session:
            yield path, session


def bench_serve_files(bench: Bench):
    """The exported files of one run side by side on the same centre crops of
    photographs, in one process: its SavedModel (written by export's code, run in the
    session TF Serving loads it into, `predict_images`), the .tflite and/or .onnx files
    given, and the float32 Keras model they all came from."""
    from alexnet_tf.data import augment
    from alexnet_tf.inference import onnx_export, saving, tflite

    files = {"tflite": bench.tflite, "onnx": bench.onnx}
    sources = {exported_source(p) for p in files.values() if p}
    if len(sources) != 1:
        raise ValueError(f"--tflite and --onnx come from different models: {sorted(sources)}")
    (source,) = sources
    model = saving.load_for_inference(source, "float32")
    size = int(model.input.shape[1])
    crops = np.stack(
        [augment.decode_crop(b, augment.centre_offset(size), crop=size).numpy()
         for b in photo_jpegs(bench.batch_size)]
    ).astype(np.float32)  # fmt: skip
    keras_fn = tf.function(lambda x: tf.nn.softmax(tf.cast(model(x, training=False), tf.float32)))
    calls = {"keras": lambda n: keras_fn(tf.constant(crops[:n])).numpy()}
    runners = {}
    if bench.tflite:
        runners["tflite"] = tflite.Runner(bench.tflite, num_threads=os.cpu_count())
    if bench.onnx:
        runners["onnx"] = onnx_export.Runner(bench.onnx, num_threads=os.cpu_count())
    for name, runner in runners.items():
        calls[name] = lambda n, runner=runner: runner(crops[:n])
    with _saved_model(model) as (_, session):
        calls["savedmodel"] = lambda n: session.run(
            "predict_images", {"images": crops[:n]}, ["probabilities"]
        )
        latency, throughput = _latency_and_rate(bench, calls)
    first = next(iter(runners))
    result = {
        "images_per_sec": round(throughput[first], 1),
        "latency_ms_batch1": _ms(latency[first]),
        "images_per_sec_by_format": {k: round(v, 1) for k, v in throughput.items()},
        "latency_ms_batch1_by_format": {k: _ms(v) for k, v in latency.items()},
        "over_keras_batch1": {
            k: round(latency["keras"][0] / v[0], 3) for k, v in latency.items() if k != "keras"
        },
        "quantize": runners["tflite"].quantize if "tflite" in runners else None,
        "interpreters": {k: r.interpreter_name for k, r in runners.items()},
        "bytes": {k: os.path.getsize(p) for k, p in files.items() if p},
        "source": source,
    }
    order = ["savedmodel", *runners, "keras"]
    summary = (
        "batch 1 median: "
        + ", ".join(f"{k} {latency[k][0] * 1e3:.1f} ms" for k in order)
        + f"; batch {bench.batch_size}: "
        + ", ".join(f"{k} {throughput[k]:.1f}" for k in order)
        + " images/s (the SavedModel in TF Serving's session, on crops)"
    )
    return result, summary


def bench_serve(bench: Bench):
    """serving_default of a SavedModel written by export's own code, run by both loaders
    in the field (TF2's object loader, and the session TF Serving loads it into), beside
    the bare Keras model on the same centre crops."""
    if bench.tflite or bench.onnx:
        return bench_serve_files(bench)
    from alexnet_tf.data import augment
    from alexnet_tf.model import build_alexnet

    with policy_scope(bench.mixed_precision):
        model = build_alexnet(bench.num_classes, tower_devices=None)
    jpegs = photo_jpegs(bench.batch_size)
    with _saved_model(model) as (path, session):
        serve = tf.saved_model.load(path).signatures["serving_default"]
        crops = tf.stack([augment.decode_crop(b, augment.CENTRE_OFFSET) for b in jpegs])
        bare = tf.function(lambda x: tf.nn.softmax(tf.cast(model(x, training=False), tf.float32)))
        batches = {n: np.array(jpegs[:n], dtype=object) for n in (1, bench.batch_size)}
        calls = {
            "serve": lambda n: serve(image_bytes=tf.constant(jpegs[:n]))["probabilities"].numpy(),
            "session": lambda n: session.run(
                "serving_default", {"image_bytes": batches[n]}, ["probabilities"]
            ),
            "bare": lambda n: bare(tf.cast(crops[:n], tf.float32)).numpy(),
        }
        latency, throughput = _latency_and_rate(bench, calls)
    overhead = latency["serve"][0] / latency["bare"][0] - 1
    result = {
        "images_per_sec": round(throughput["serve"], 1),
        "gflops_per_sec": round(throughput["serve"] * forward_gflop(model), 1),
        "session_images_per_sec": round(throughput["session"], 1),
        "bare_images_per_sec": round(throughput["bare"], 1),
        "latency_ms_batch1": _ms(latency["serve"]),
        "session_latency_ms_batch1": _ms(latency["session"]),
        "bare_latency_ms_batch1": _ms(latency["bare"]),
        "session_over_object_batch1": round(latency["serve"][0] / latency["session"][0], 3),
        "preprocessing_overhead_batch1": round(overhead, 3),
        "image_size": "500x375 JPEG",
    }
    summary = (
        f"serving_default: batch 1 median {latency['serve'][0] * 1e3:.1f} ms (p99 "
        f"{latency['serve'][1] * 1e3:.1f}) through tf.saved_model.load, "
        f"{latency['session'][0] * 1e3:.1f} ms (p99 {latency['session'][1] * 1e3:.1f}) in "
        f"TF Serving's session, {latency['bare'][0] * 1e3:.1f} ms for the bare model "
        f"({overhead:+.0%} for decoding and preprocessing); batch {bench.batch_size}: "
        f"{throughput['serve']:.1f}, {throughput['session']:.1f} and "
        f"{throughput['bare']:.1f} images/s"
    )
    return result, summary


def bench_convert(bench: Bench):
    """make_tfrecords on `num_images` crops of the photo corpus (`studies.photos`), with
    1, 2, ... `num_workers` worker processes, each into a fresh directory: from image
    folders (--input_dir) and from the same images packed as ILSVRC-2012's three archives
    (--ilsvrc_dir, `studies.archives`; the archives' indexing included)."""
    from alexnet_tf.data import tfrecords
    from alexnet_tf.studies import archives, photos

    max_workers = bench.num_workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw")
        photos.write_corpus(raw, bench.num_images)
        downloads = os.path.join(tmp, "downloads")
        archives.pack(raw, downloads)
        sources = {"folders": {"input_dir": raw}, "archives": {"ilsvrc_dir": downloads}}
        rates: dict = {source: {} for source in sources}
        for workers in range(1, max_workers + 1):
            for source, where in sources.items():  # alternated: drift hits both alike
                start = time.perf_counter()
                tfrecords.convert(
                    where.get("input_dir"),
                    os.path.join(tmp, f"{source}{workers}"),
                    train_shards=8 * max_workers,
                    validation_shards=max_workers,
                    num_workers=workers,
                    progress=False,
                    ilsvrc_dir=where.get("ilsvrc_dir"),
                )
                rates[source][workers] = bench.num_images / (time.perf_counter() - start)
    by_workers = {s: {str(k): round(v, 1) for k, v in r.items()} for s, r in rates.items()}
    result = {
        "images_per_sec": round(max(rates["folders"].values()), 1),
        "images_per_sec_by_workers": by_workers["folders"],
        "archives_images_per_sec_by_workers": by_workers["archives"],
        "archives_over_folders": round(
            rates["archives"][max_workers] / rates["folders"][max_workers], 2
        ),
        "scaling": round(rates["folders"][max_workers] / rates["folders"][1], 2),
        "archives_scaling": round(rates["archives"][max_workers] / rates["archives"][1], 2),
        "images": f"{bench.num_images} crops of the photo corpus, 500x375 JPEG",
    }
    summary = (
        f"make_tfrecords on 500x375 photographs, images/s by worker count: "
        f"{by_workers['folders']} from folders ({result['scaling']}x with {max_workers}), "
        f"{by_workers['archives']} from ILSVRC-layout archives ({result['archives_scaling']}x); "
        f"archives / folders {result['archives_over_folders']}"
    )
    return result, summary


BENCHMARKS = {
    "train": bench_train,
    "input": bench_input,
    "end_to_end": bench_end_to_end,
    "serve": bench_serve,
    "convert": bench_convert,
    "service": bench_service,
}
