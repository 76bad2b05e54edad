"""Where the training step's time goes, layer by layer (`python benchmarks/step.py layers`).

Each layer of the built model runs alone on random inputs of its own shapes and dtypes
(the step's precision), once forward and once forward and backward, the backward giving
what the real step needs: the weights' gradients, and the input's gradient only where
a layer upstream has weights (conv1's input, the image, gets none). The two towers' twin
layers are summed into one row ("conv2" is conv2a + conv2b). Beside each convolution or
dense layer runs its bare kernel: `tf.nn.conv2d` (NHWC) or `tf.matmul` on the same
shapes and dtype with the same gradients, no bias, activation or Keras around it: what
oneDNN reaches on that shape, the layer's practical bound. The optimizer's update and the
whole step are timed in the same run, so the rows add up against the step.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import tensorflow as tf

from alexnet_tf.core.precision import policy_scope
from alexnet_tf.studies import speed


@dataclasses.dataclass
class LayerCost:
    """One row: a layer, or a pair of twin layers, over one batch (seconds, GFLOP)."""

    name: str
    kind: str
    forward: float = 0.0
    backward: float = 0.0
    bare: float | None = None  # fwd + bwd of the bare kernel (conv, dense only)
    gflop: float = 0.0  # per step: forward and the backward this layer needs

    @property
    def total(self) -> float:
        return self.forward + self.backward


def alternated_seconds(calls: dict, steps: int, warmup: int) -> dict:
    """{name: median seconds of calls[name]()}: `warmup` untimed calls of each, then
    `steps` rounds of one call of each in turn, so that the machine's drift falls on
    all of them alike (a median: a single slow call, a page fault or the other core's
    work, does not move a row)."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in calls}
    for _ in range(steps):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def _seconds(fn, steps: int, warmup: int) -> float:
    """Median seconds of fn() over `steps` calls after `warmup`."""
    return alternated_seconds({"": fn}, steps, warmup)[""]


def _parents(layer):
    return [p.operation for p in layer._inbound_nodes[0].parent_nodes]


def needs_input_gradient(model) -> set[str]:
    """Names of the layers whose input gradient the step computes: those downstream of a
    layer with trainable weights (model.layers is in topological order)."""
    downstream, needs = set(), set()  # downstream: at or after a trainable layer
    for layer in model.layers:
        parents = _parents(layer) if layer._inbound_nodes else []
        if any(p.name in downstream for p in parents):
            needs.add(layer.name)
        if layer.name in needs or layer.trainable_weights:
            downstream.add(layer.name)
    return needs


def _kind(layer) -> str:
    import keras

    for cls, kind in (
        (keras.layers.Conv2D, "conv"),
        (keras.layers.Dense, "dense"),
        (keras.layers.MaxPooling2D, "pool"),
        (keras.layers.Dropout, "dropout"),
    ):
        if isinstance(layer, cls):
            return kind
    return type(layer).__name__


def _random_inputs(layer, batch: int, rng):
    """Random tensors of the layer's inputs' shapes and dtypes at `batch` (a list where it
    reads both towers)."""
    tensors = layer._inbound_nodes[0].input_tensors
    xs = [
        tf.cast(rng.uniform((batch, *t.shape[1:]), 0.0, 1.0), t.dtype)
        for t in tensors  # fmt: skip
    ]
    return xs if len(xs) > 1 else xs[0]


def _time_layer(layer, xs, input_grad: bool, steps: int, warmup: int, seed: int):
    """(forward, forward + backward) seconds of one layer on inputs xs."""
    inputs = xs if isinstance(xs, list) else [xs]
    out = layer(xs, training=True)
    dy = tf.random.stateless_uniform(out.shape, (seed, 0), dtype=tf.float32)
    dy = tf.cast(dy, out.dtype)
    weights = layer.trainable_weights
    if not weights and not input_grad:
        return _seconds(tf.function(lambda: layer(xs, training=True)), steps, warmup), None

    @tf.function
    def forward():
        return layer(xs, training=True)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            if input_grad:
                tape.watch(inputs)
            y = layer(xs, training=True)
        sources = list(weights) + (inputs if input_grad else [])
        return [y, *tape.gradient(y, sources, output_gradients=dy)]  # y: the forward runs

    return (
        _seconds(lambda: forward().numpy(), steps, warmup),
        _seconds(lambda: [g.numpy() for g in forward_backward()], steps, warmup),
    )


def _time_bare(layer, xs, input_grad: bool, steps: int, warmup: int) -> float:
    """Forward + backward seconds of the layer's bare kernel: tf.nn.conv2d or tf.matmul on
    the same (joined) input and kernel shapes and dtype, with the same gradients."""
    x = tf.concat(xs, axis=-1) if isinstance(xs, list) else xs
    kernel = tf.Variable(tf.cast(layer.kernel, x.dtype))
    if _kind(layer) == "conv":
        stride = layer.strides[0]
        padding = layer.padding.upper()
        op = lambda x: tf.nn.conv2d(x, kernel, stride, padding)  # noqa: E731
    else:
        op = lambda x: tf.matmul(x, kernel)  # noqa: E731
    dy = tf.cast(tf.random.stateless_uniform(op(x).shape, (1, 0)), x.dtype)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x)
        sources = [kernel, x] if input_grad else [kernel]
        return [y, *tape.gradient(y, sources, output_gradients=dy)]  # y: the forward runs

    return _seconds(lambda: [g.numpy() for g in step()], steps, warmup)


def _row_name(name: str, names: set[str]) -> str:
    """Twin layers share a row: "conv2a" and "conv2b" -> "conv2"."""
    stem = name[:-1]
    if name[-1] in "ab" and {stem + "a", stem + "b"} <= names:
        return stem
    return name


def layer_costs(model, batch: int, steps: int, warmup: int) -> list[LayerCost]:
    """One LayerCost per layer (twin layers summed), in the model's order."""
    with_input_grad = needs_input_gradient(model)
    names = {layer.name for layer in model.layers}
    rows: dict[str, LayerCost] = {}
    rng = tf.random.Generator.from_seed(0)
    for index, layer in enumerate(model.layers):
        if not layer._inbound_nodes or not _parents(layer):
            continue  # the Input
        input_grad = layer.name in with_input_grad
        xs = _random_inputs(layer, batch, rng)
        forward, both = _time_layer(layer, xs, input_grad, steps, warmup, seed=index)
        name = _row_name(layer.name, names)
        row = rows.setdefault(name, LayerCost(name, _kind(layer)))
        row.forward += forward
        row.backward += 0.0 if both is None else max(both - forward, 0.0)
        flop = speed.forward_flop(layer)
        if flop:
            passes = 3 if input_grad else 2
            row.gflop += flop * batch * passes / 1e9
            bare = _time_bare(layer, xs, input_grad, steps, warmup)
            row.bare = (row.bare or 0.0) + bare
    return list(rows.values())


def update_seconds(model, steps: int, warmup: int) -> float:
    """One optimizer update of every trainable variable, with fixed gradients."""
    grads = [tf.ones_like(v) * 1e-6 for v in model.trainable_variables]
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    apply = tf.function(
        lambda: optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    )
    return _seconds(lambda: (apply(), optimizer.iterations.numpy()), steps, warmup)


def table(rows: list[LayerCost], peak_gflops: float, step: float, update: float) -> str:
    """The per-layer table (milliseconds per batch), as Markdown."""
    layers = sum(r.total for r in rows)
    lines = [
        "| layer | forward ms | backward ms | share of step | GFLOP | GFLOP/s | of matmul "
        "| bare kernel ms | layer / bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.name, f"{r.forward * 1e3:.1f}", f"{r.backward * 1e3:.1f}"]
        cells.append(f"{r.total / step:.1%}")
        if r.gflop:
            rate = r.gflop / r.total
            cells += [f"{r.gflop:.1f}", f"{rate:.0f}", f"{rate / peak_gflops:.2f}"]
            cells += [f"{r.bare * 1e3:.1f}", f"{r.total / r.bare:.2f}"]
        else:
            cells += [""] * 5
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"| the update (every variable) | | {update * 1e3:.1f} | {update / step:.1%} |")
    rest = step - layers - update
    lines.append(f"| the step's rest (loss, Keras) | | {rest * 1e3:.1f} | {rest / step:.1%} |")
    lines.append(f"| **the whole step** | | {step * 1e3:.1f} | 100% |")
    return "\n".join(lines)


def bench_layers(bench):
    """`step.py layers`: the per-layer table of the step in bench's precision."""
    model = speed.compiled_model(bench)
    step = bench.batch_size / speed.synthetic_train_rate(bench, model)
    with policy_scope(bench.mixed_precision):
        rows = layer_costs(model, bench.batch_size, bench.steps, bench.warmup_steps)
    update = update_seconds(model, bench.steps, bench.warmup_steps)
    peak = speed.matmul_gflops(bench.matmul_size or 4096, bench.compute_dtype)
    conv_dense = [r for r in rows if r.gflop]
    gflop = sum(r.gflop for r in conv_dense)
    result = {
        "images_per_sec": round(bench.batch_size / step, 2),
        "step_ms": round(step * 1e3, 1),
        "matmul_gflops_per_sec": round(peak, 1),
        "step_fraction_of_matmul": round(gflop / step / peak, 3),
        "layers_ms": round(sum(r.total for r in rows) * 1e3, 1),
        "update_ms": round(update * 1e3, 1),
        "bare_kernels_ms": round(sum(r.bare for r in conv_dense) * 1e3, 1),
        "bare_fraction_of_matmul": round(gflop / sum(r.bare for r in conv_dense) / peak, 3),
        "layers": [
            {
                "name": r.name,
                "kind": r.kind,
                "forward_ms": round(r.forward * 1e3, 2),
                "backward_ms": round(r.backward * 1e3, 2),
                "gflop": round(r.gflop, 2),
                "bare_ms": None if r.bare is None else round(r.bare * 1e3, 2),
            }
            for r in rows
        ],
    }
    summary = (
        f"batch {bench.batch_size}, step {step * 1e3:.0f} ms "
        f"({result['step_fraction_of_matmul']:.0%} of a {bench.compute_dtype.name} matmul's "
        f"{peak:.0f} GFLOP/s; the bare kernels alone would reach "
        f"{result['bare_fraction_of_matmul']:.0%})\n\n" + table(rows, peak, step, update) + "\n"
    )
    return result, summary
