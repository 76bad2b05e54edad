"""Measured speed of every stage. Each run prints a summary, the command that reproduces
it, and, as its last line, one JSON document (images_per_sec, gflops_per_sec where it
applies, the configuration, TF version, CPU).

    python -m alexnet_tf.benchmark train --batch_size=64        # the model's own speed
    python -m alexnet_tf.benchmark train --baseline=grouped_conv  # Keras Conv2D(groups=2)
    python -m alexnet_tf.benchmark input [--data_dir=DIR]       # pipeline vs decode-only
    python -m alexnet_tf.benchmark end_to_end [--data_dir=DIR]  # model.fit from TFRecords
    python -m alexnet_tf.benchmark serve                        # the SavedModel's latency
    python -m alexnet_tf.benchmark serve --tflite=E/1/model.tflite --onnx=O/1/model.onnx
                                          # a run's SavedModel, TFLite, ONNX and Keras model
    python -m alexnet_tf.benchmark convert --num_images=2000    # make_tfrecords by workers
    python -m alexnet_tf.benchmark service --num_workers=2      # input via tf.data service
    python -m alexnet_tf.benchmark end_to_end --data_service=HOST:PORT  # fit fed by it

Without --data_dir, `input` and `end_to_end` use the built-in demo data (made on first use
in data/demo). --profile writes a TensorBoard profiler trace of the timed steps. The
library is `alexnet_tf.studies.speed`. The step's parts (layer by layer, its forms, the
tensor layout, the LRN's forms) are timed outside the package, by `benchmarks/step.py`
with the same flags.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys

from absl import flags

from alexnet_tf.core import cli, options

FLAGS = flags.FLAGS
MODES = ("train", "input", "end_to_end", "serve", "convert", "service")


def define_flags() -> None:
    """The benchmark command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_integer("batch_size", 64, "Images per step.")
    flags.DEFINE_integer("steps", 10, "Timed steps (after warm-up).")
    flags.DEFINE_integer("warmup_steps", 3, "Untimed steps first (tracing, allocation).")
    flags.DEFINE_integer("num_classes", 1000, "Classes of fc8.")
    flags.DEFINE_enum("architecture", "two_tower", options.ARCHITECTURES, "Model variant.")
    flags.DEFINE_enum(
        "baseline",
        None,
        ["grouped_conv"],
        "train: time this naive formulation instead (Keras Conv2D(groups=2) towers, same "
        "parameters).",
    )
    flags.DEFINE_boolean("jit_compile", False, "Compile the train step with XLA.")
    cli.define_precision_flag()  # one invocation measures one precision
    flags.DEFINE_integer("intra_op_threads", 0, "TF intra-op threads (0: TF's default).")
    flags.DEFINE_integer("inter_op_threads", 0, "TF inter-op threads (0: TF's default).")
    flags.DEFINE_integer(
        "matmul_size", 4096, "train: n of the n x n matmul timed for scale (0 skips it)."
    )
    flags.DEFINE_string("data_dir", None, "input, end_to_end: TFRecords (default: demo data).")
    flags.DEFINE_integer("private_threads", 0, "input: tf.data private thread pool (0: shared).")
    cli.define_data_service_flag()  # end_to_end: the TFRecords side through the service
    flags.DEFINE_integer("num_images", 400, "convert: photographs to crop and convert.")
    flags.DEFINE_integer("num_workers", 0, "convert, service: largest worker count (0: all cores).")
    flags.DEFINE_boolean(
        "deterministic",
        False,
        "end_to_end: as train --deterministic: TensorFlow's op determinism on, and the "
        "TFRecords read through the replayable pipeline.",
    )
    flags.DEFINE_boolean(
        "profile",
        False,
        "Write a TensorBoard profiler trace of the timed steps (end_to_end: of "
        "model.fit from TFRecords, tf.data's own events included).",
    )
    flags.DEFINE_string("profile_dir", os.path.join("runs", "profile"), "Where --profile writes.")
    flags.DEFINE_string(
        "tflite",
        None,
        "serve: time this .tflite file (export --format=tflite) beside the SavedModel and "
        "Keras model of the run it came from (and --onnx's file).",
    )
    flags.DEFINE_string(
        "onnx",
        None,
        "serve: time this .onnx file (export --format=onnx) beside the SavedModel and Keras "
        "model of the run it came from (and --tflite's file).",
    )


def bench_from_flags(policy: str):
    from alexnet_tf.studies.speed import Bench

    names = [
        f.name
        for f in dataclasses.fields(Bench)
        if f.name not in ("profile_dir", "mixed_precision")
    ]
    values = {name: FLAGS[name].value for name in names}
    profile_dir = FLAGS.profile_dir if FLAGS.profile else None
    return Bench(**values, mixed_precision=policy, profile_dir=profile_dir)


def main(argv, modes=None, command="python -m alexnet_tf.benchmark"):
    """Run the mode argv[1] names: one of `modes` ({name: bench function}; default the
    package's own, `studies.speed.BENCHMARKS`), and print its result as JSON last."""
    names = tuple(modes) if modes else MODES
    if len(argv) != 2 or argv[1] not in names:
        cli.usage_error(
            f"give one mode, one of {', '.join(names)}. Received: {' '.join(argv[1:]) or 'none'}"
        )
    mode = argv[1]
    for name in ("batch_size", "steps", "num_images"):
        if getattr(FLAGS, name) < 1:
            cli.usage_error(f"--{name} must be >= 1. Received: {getattr(FLAGS, name)}")
    if FLAGS.data_service:
        from alexnet_tf.data.service import ServiceError, check_reachable

        if mode != "end_to_end":
            cli.usage_error(f"--data_service applies to end_to_end only. Received mode {mode}")
        try:
            check_reachable(FLAGS.data_service)
        except ServiceError as e:
            cli.usage_error(str(e))
    if FLAGS.deterministic and (mode != "end_to_end" or FLAGS.data_service):
        cli.usage_error(
            "--deterministic applies to end_to_end, without --data_service. Received mode "
            f"{mode}{' with --data_service' if FLAGS.data_service else ''}"
        )
    for kind in ("tflite", "onnx"):
        path = FLAGS[kind].value
        if not path:
            continue
        if mode != "serve":
            cli.usage_error(f"--{kind} applies to serve only. Received mode {mode}")
        source = os.path.join(os.path.dirname(path), "classes.json")
        if not os.path.isfile(path) or not os.path.isfile(source):
            cli.usage_error(
                f"--{kind}={path} is not a file written by export --format={kind} "
                f"(model.{kind} with classes.json beside it)."
            )
    if FLAGS.tflite and FLAGS.onnx:
        from alexnet_tf.core.rundir import exported_source

        sources = {exported_source(FLAGS.tflite), exported_source(FLAGS.onnx)}
        if len(sources) != 1:
            cli.usage_error(
                f"--tflite and --onnx are timed beside the model they came from, so they must "
                f"come from one; their classes.json name {' and '.join(sorted(sources))}."
            )
    import tensorflow as tf

    from alexnet_tf.core import precision
    from alexnet_tf.studies import speed

    if FLAGS.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    choice = cli.resolve_precision()
    bench = bench_from_flags(choice.policy)
    result, summary = (modes or speed.BENCHMARKS)[mode](bench)
    config = dataclasses.asdict(bench)  # mixed_precision: the policy used, never "auto"
    config.update(
        intra_op_threads=FLAGS.intra_op_threads,
        inter_op_threads=FLAGS.inter_op_threads,
        mixed_precision_asked=choice.asked,
        mixed_precision_reason=choice.reason,
    )
    machine = precision.this_machine()
    result = {
        "benchmark": mode,
        **result,
        "config": config,
        "cpu_model": machine.cpu_model,
        "cpu_bf16_flags": machine.cpu_bf16_flags,
        "tf_version": tf.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }
    print(f"\n{mode} ({choice.policy}, {machine.cpu_model}): {summary}")
    if bench.profile_dir:
        print(f"profiler trace: {bench.profile_dir} (tensorboard --logdir={bench.profile_dir})")
    print(f"reproduce with: {command} " + " ".join(sys.argv[1:]))
    print(json.dumps(result))


def run() -> None:
    """The `alexnet-benchmark` command."""
    cli.run(main, "benchmark", define_flags)


if __name__ == "__main__":
    run()
