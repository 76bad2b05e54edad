"""The training step's parts, timed for performance work on the package (not installed
with it). The flags and the printed record are `python -m alexnet_tf.benchmark`'s.

    python benchmarks/step.py layers --batch_size=64   # the step layer by layer (per_layer.py)
    python benchmarks/step.py forms                    # what each faster form gains (forms.py)
    python benchmarks/step.py layout                   # the conv layers in NHWC and NCHW
    python benchmarks/step.py lrn                      # the banded LRN against TF's op

Every figure is a median of alternated rounds (`per_layer.alternated_seconds`), and every
shape is the built model's own.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import forms  # noqa: E402
import per_layer  # noqa: E402
from per_layer import alternated_seconds  # noqa: E402


def tower_a_layers(bench, cls):
    """The layers of class `cls` in tower a of the network `bench` builds (one tower:
    all of them), in the model's order."""
    from alexnet_tf.studies import speed

    model = speed.compiled_model(bench)
    return [
        layer for layer in model.layers if isinstance(layer, cls) and not layer.name.endswith("b")
    ]


def _compared(bench, calls: dict, what: str, keys: tuple):
    """(result, summary) for two forms of the same work timed in alternation: `calls`
    {form: fn}, the model's form first; `keys` name the other form's images/s and its
    time over the model's form's in the JSON."""
    seconds = alternated_seconds(calls, bench.steps, bench.warmup_steps)
    ours, other = calls
    ratio = seconds[other] / seconds[ours]
    result = {
        "images_per_sec": round(bench.batch_size / seconds[ours], 1),
        keys[0]: round(bench.batch_size / seconds[other], 1),
        keys[1]: round(ratio, 3),
    }
    summary = (
        f"{what}: {ours} {seconds[ours] * 1e3:.0f} ms, {other} {seconds[other] * 1e3:.0f} ms "
        f"({ratio:.3f}x)"
    )
    return result, summary


def bench_layout(bench):
    """Forward + backward of tower a's conv layers, on the shapes the model gives them, in
    channels-last (NHWC, the model's) and channels-first (NCHW) layout."""
    import tensorflow as tf

    from alexnet_tf.model.layers import TowerConv2D

    steps = {"NHWC": [], "NCHW": []}
    for layer in tower_a_layers(bench, TowerConv2D):
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]  # conv3: both
        _, height, width, _ = inputs[0].shape
        channels = sum(x.shape[-1] for x in inputs)
        kernel = tf.Variable(tf.random.normal(layer.kernel.shape) * 0.01)
        for fmt in steps:
            shape = (bench.batch_size, height, width, channels)
            if fmt == "NCHW":
                shape = (bench.batch_size, channels, height, width)
            x = tf.random.normal(shape)

            @tf.function
            def step(x=x, kernel=kernel, fmt=fmt, layer=layer):
                with tf.GradientTape() as tape:
                    y = tf.nn.conv2d(x, kernel, layer.strides[0], layer.padding.upper(),
                                     data_format=fmt)  # fmt: skip
                    loss = tf.reduce_sum(y * y)
                return tape.gradient(loss, kernel)

            steps[fmt].append(step)
    calls = {fmt: lambda fns=fns: [fn().numpy() for fn in fns] for fmt, fns in steps.items()}
    what = f"tower a's conv layers, forward + backward, batch {bench.batch_size}"
    return _compared(bench, calls, what, ("nchw_images_per_sec", "nchw_relative_time"))


def bench_lrn(bench):
    """Forward + backward of tower a's LRN layers, on the shapes the model gives them, in
    the run's precision: the model's banded implementation against TF's LRN op."""
    import tensorflow as tf

    from alexnet_tf.model.layers import LocalResponseNorm

    calls = {}
    shapes = [layer.input.shape for layer in tower_a_layers(bench, LocalResponseNorm)]
    for implementation in ("banded", "op"):
        layer = LocalResponseNorm(implementation=implementation, dtype=bench.mixed_precision)
        fns = []
        for shape in shapes:
            x = tf.Variable(tf.cast(tf.random.uniform((bench.batch_size, *shape[1:]), 0, 60),
                                    bench.compute_dtype))  # fmt: skip

            @tf.function
            def step(x=x, layer=layer):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(tf.cast(layer(x), tf.float32))
                return tape.gradient(loss, x)

            fns.append(step)
        calls[implementation] = lambda fns=fns: [fn().numpy() for fn in fns]
    what = f"LRN forward + backward, tower a's {len(shapes)} layers, batch {bench.batch_size}"
    return _compared(bench, calls, what, ("op_images_per_sec", "speedup_over_op"))


MODES = {
    "layers": per_layer.bench_layers,
    "forms": forms.bench_forms,
    "layout": bench_layout,
    "lrn": bench_lrn,
}


if __name__ == "__main__":
    from alexnet_tf import benchmark
    from alexnet_tf.core import cli

    cli.run(
        lambda argv: benchmark.main(argv, MODES, "python benchmarks/step.py"),
        "step",
        benchmark.define_flags,
    )
