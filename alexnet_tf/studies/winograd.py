"""Winograd's minimal filtering for conv3-5, against oneDNN's direct convolution
(`python -m alexnet_tf.benchmark winograd`).

F(m, r) (Winograd 1980; for convolutional networks, Lavin and Gray, "Fast Algorithms
for Convolutional Neural Networks", CVPR 2016) computes m outputs of an r-tap filter
from m + r - 1 inputs with m + r - 1 multiplications, where the direct form takes
m * r. In two dimensions, each m x m tile of a 3x3 convolution's output takes
(m + 2)^2 products per input and output channel pair instead of 9 m^2: 2.25x fewer at
F(2, 3), 4x at F(4, 3). The products become (m + 2)^2 independent matmuls of
(tiles x C_in) by (C_in x C_out), between an input transform (B^T d B of each tile), a
kernel transform (G g G^T) and an output transform (A^T M A). It is the same function,
rounded differently: its error grows with m.

This is a measurement, not a form the model takes. On the 2-core AMD EPYC measured
(docs/performance.md), every whole form was slower than the direct convolution: each
transform, and its gradient, is a pass over (m + 2)^2 / m^2 times the input's or
output's size, and TF's batched matmul runs these shapes (C_in of 192-256) below the
direct convolution's rate. In bfloat16 the rounding error reaches 0.8-15%. The table
gives each form whole and its matmuls alone, the most faster transforms could gain,
for a rerun on other CPUs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import tensorflow as tf

from alexnet_tf.studies.per_layer import alternated_seconds

# F(m, 3) and its interpolation points (the last point, infinity, is implicit).
FORMS = {2: (0, 1, -1), 3: (0, 1, -1, 2), 4: (0, 1, -1, 2, -2)}
LAYERS = ("conv3", "conv4", "conv5")


def _vandermonde(points, columns: int) -> list[list[Fraction]]:
    """Rows [1, p, ..., p^(columns-1)] for each point, and [0, ..., 0, 1] for infinity."""
    rows = [[Fraction(p) ** j for j in range(columns)] for p in points]
    return rows + [[Fraction(0)] * (columns - 1) + [Fraction(1)]]


def _inverse(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact inverse by Gauss-Jordan elimination (the matrices here are 6 x 6 at most)."""
    n = len(matrix)
    rows = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(i for i in range(col, n) if rows[i][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for i in range(n):
            if i != col and rows[i][col] != 0:
                rows[i] = [a - rows[i][col] * b for a, b in zip(rows[i], rows[col], strict=True)]
    return [row[n:] for row in rows]


def transforms(m: int, r: int, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T (m x n), G (n x r), B^T (n x n)), n = m + r - 1, of F(m, r) at `points`.

    The linear convolution s = g * x of an r-tap g and an m-tap x is s = C (G g . X x),
    with G and X the Vandermonde matrices of the n points and C the inverse of the n x n
    one. Filtering, y_i = sum_k d_(i+k) g_k, is its transpose in x:
    y = X^T (G g . C^T d); so A^T = X^T and B^T = C^T. Exact in rationals, then float64."""
    n = m + r - 1
    if len(points) != n - 1:
        raise ValueError(f"F({m}, {r}) takes {n - 1} finite points. Received: {points}")
    c = _inverse(_vandermonde(points, n))
    as_array = lambda rows: np.array([[float(v) for v in row] for row in rows])  # noqa: E731
    return as_array(_vandermonde(points, m)).T, as_array(_vandermonde(points, r)), as_array(c).T


def _tiles(x, m: int, tiles: int):
    """(n*n, B*tiles*tiles*C): the n x n input tiles of x, m apart (n = m + 2), padded
    for SAME: x cut into m x m blocks (one transpose), each tile being its block with
    two rows and columns of the next ones."""
    batch, height, width, channels = x.shape
    side = (tiles + 1) * m
    x = tf.pad(x, [[0, 0], [1, side - height - 1], [1, side - width - 1], [0, 0]])
    x = tf.reshape(x, (batch, tiles + 1, m, tiles + 1, m, channels))
    blocks = tf.transpose(x, (2, 4, 0, 1, 3, 5))  # (m, m, B, tiles + 1, tiles + 1, C)
    top = tf.concat([blocks[:, :, :, :tiles, :tiles], blocks[:, :2, :, :tiles, 1:]], axis=1)
    bottom = tf.concat([blocks[:2, :, :, 1:, :tiles], blocks[:2, :2, :, 1:, 1:]], axis=1)
    return tf.reshape(tf.concat([top, bottom], axis=0), ((m + 2) ** 2, -1))


def _combine(coefficients, tensors):
    """sum_i coefficients[i] * tensors[i], skipping zeros and taking +-1 as signs."""
    out = None
    for c, t in zip(coefficients, tensors, strict=True):
        if c == 0:
            continue
        term = t if c == 1 else -t if c == -1 else float(c) * t
        out = term if out is None else out + term
    return out


def _input_transform_xla(x, bt: np.ndarray, m: int, tiles: int):
    """(n*n, B*tiles*tiles*C): B^T d B of each tile, as sums of strided slices of x."""
    n = len(bt)
    side = m * tiles + n - m
    x = tf.pad(x, [[0, 0], [1, side - x.shape[1] - 1], [1, side - x.shape[2] - 1], [0, 0]])
    span = m * (tiles - 1) + 1
    rows = [_combine(bt[p], [x[:, u : u + span : m] for u in range(n)]) for p in range(n)]
    cols = [[r[:, :, v : v + span : m] for v in range(n)] for r in rows]
    return tf.reshape(tf.stack([_combine(bt[q], c) for c in cols for q in range(n)]), (n * n, -1))


def _output_transform_xla(products, at: np.ndarray, shape):
    """(m, m, B, tiles, tiles, F): A^T M A of each tile, as sums over the products."""
    m, n = at.shape
    products = tf.reshape(products, (n, n, *shape))
    rows = [_combine(at[a], [products[p] for p in range(n)]) for a in range(m)]
    return tf.stack(
        [tf.stack([_combine(at[b], [r[q] for q in range(n)]) for b in range(m)]) for r in rows]
    )


def _kronecker(a: np.ndarray, dtype):
    """The matmul applying `a`'s transform on both sides of every tile at once:
    A d A^T, with d as (n*n, everything else), is (A kron A) d."""
    matrix = tf.constant(np.kron(a, a), dtype)
    return lambda d: tf.matmul(matrix, d)


IMPLEMENTATIONS = ("matmul", "xla")


def winograd_conv(x, kernel, m: int, implementation: str = "matmul"):
    """The SAME, stride-1 convolution of x (B, H, W, C) with kernel (3, 3, C, F) by
    F(m, 3) in TF ops; gradients by TF's autodiff.

    implementation: how the input and output transforms run. "matmul": the tiles are
    cut by one transpose and four slices, each transform of all of them is one matmul
    by a Kronecker product. "xla": each transform is an XLA cluster summing strided
    slices (input) or the products (output), weighted by the transform's entries."""
    if tuple(kernel.shape[:2]) != (3, 3):
        raise ValueError(f"winograd_conv takes 3x3 kernels. Received: {kernel.shape}")
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"implementation must be one of {', '.join(IMPLEMENTATIONS)}. "
            f"Received: {implementation!r}"
        )
    at, g, bt = transforms(m, 3, FORMS[m])
    n = m + 2
    batch, height, width, channels = x.shape
    filters = kernel.shape[3]
    tiles = -(-max(height, width) // m)
    shape = (batch, tiles, tiles, filters)
    if implementation == "matmul":
        input_transform = lambda x: _kronecker(bt, x.dtype)(_tiles(x, m, tiles))  # noqa: E731
        output_transform = lambda p: tf.reshape(_kronecker(at, p.dtype)(p), (m, m, *shape))  # noqa: E731
    else:
        input_transform = tf.function(
            lambda x: _input_transform_xla(x, bt, m, tiles), jit_compile=True
        )
        output_transform = tf.function(
            lambda p: _output_transform_xla(p, at, shape), jit_compile=True
        )
    v = tf.reshape(input_transform(x), (n * n, -1, channels))
    g = tf.constant(g, tf.float32)
    u = tf.einsum("ir,rsck,js->ijck", g, tf.cast(kernel, tf.float32), g)
    u = tf.cast(tf.reshape(u, (n * n, channels, filters)), x.dtype)
    y = output_transform(tf.reshape(tf.matmul(v, u), (n * n, -1)))
    y = tf.reshape(tf.transpose(y, (2, 3, 0, 4, 1, 5)), (batch, tiles * m, tiles * m, filters))
    return y[:, :height, :width]


def _step(conv):
    """A traced forward and backward: (y, dx, dkernel) for the loss sum(y * dy)."""

    @tf.function
    def step(x, kernel, dy):
        y = conv(x, kernel)
        dx, dk = tf.gradients(y, [x, kernel], dy)
        return y, dx, dk

    return step


def _matmuls():
    """A form's (n*n) matmuls alone, forward and backward: a function of its own for
    each shape, as each convolution's step is."""

    @tf.function
    def step(v, u, dm):
        y = tf.matmul(v, u)
        dv, du = tf.gradients(y, [v, u], dm)
        return y, dv, du

    return step


def _relative_error(a, b) -> float:
    a, b = tf.cast(a, tf.float64), tf.cast(b, tf.float64)
    return float(tf.reduce_max(tf.abs(a - b)) / tf.reduce_max(tf.abs(b)))


def _labels() -> list[tuple]:
    """The timed variants of each layer: ("direct",), (m, implementation), (m, "matmuls")."""
    forms = [(m, what) for m in FORMS for what in (*IMPLEMENTATIONS, "matmuls")]
    return [("direct",), *forms]


def _label(key: tuple) -> str:
    if key == ("direct",):
        return "direct"
    m, what = key
    if what == "matmuls":
        return f"F({m}, 3): its matmuls alone"
    return f"F({m}, 3), transforms as {'matmuls' if what == 'matmul' else 'XLA clusters'}"


def bench_winograd(bench):
    """Forward and backward of conv3-5 (one tower's shapes, the run's compute dtype):
    direct, and F(m, 3) for each m in FORMS in each implementation and its matmuls
    alone, alternated in rounds in one process; with each form's largest error (of
    the output and both gradients) against the direct one, relative to its largest
    value."""
    from alexnet_tf.studies.speed import conv_layer_shapes

    dtype = bench.compute_dtype
    rng = np.random.default_rng(0)
    shapes = conv_layer_shapes()
    calls, errors = {}, {}
    for layer in LAYERS:
        size, cin, k, cout, _ = shapes[layer]
        draw = lambda *s, scale=1.0: tf.cast(rng.standard_normal(s) * scale, dtype)  # noqa: E731
        x, dy = draw(bench.batch_size, size, size, cin), draw(bench.batch_size, size, size, cout)
        args = (x, draw(k, k, cin, cout, scale=(k * k * cin) ** -0.5), dy)
        direct = _step(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
        reference = direct(*args)
        calls[(layer, "direct")] = lambda s=direct, a=args: s(*a)
        for key in _labels()[1:]:
            m, what = key
            if what == "matmuls":
                n, tiles = m + k - 1, -(-size // m)
                rows = bench.batch_size * tiles * tiles
                ops = (draw(n * n, rows, cin), draw(n * n, cin, cout), draw(n * n, rows, cout))
                matmuls = _matmuls()
                calls[(layer, *key)] = lambda s=matmuls, a=ops: s(*a)
                continue
            step = _step(lambda x, w, m=m, what=what: winograd_conv(x, w, m, what))
            calls[(layer, *key)] = lambda s=step, a=args: s(*a)
            errors[(layer, *key)] = max(
                _relative_error(a, b) for a, b in zip(step(*args), reference, strict=True)
            )
    waited = {  # each call returns once its outputs are computed
        key: lambda c=call: tf.nest.map_structure(lambda t: t.numpy(), c())
        for key, call in calls.items()
    }
    seconds = alternated_seconds(waited, bench.steps, bench.warmup_steps)
    ms = {key: 1e3 * s for key, s in seconds.items()}
    return _report(bench, ms, errors)


def _report(bench, ms: dict, errors: dict):
    for key in _labels():  # conv3-5 together: times add up, the error is the largest
        ms[("conv3-5", *key)] = sum(ms[(layer, *key)] for layer in LAYERS)
        if key in errors or (LAYERS[0], *key) in errors:
            errors[("conv3-5", *key)] = max(errors[(layer, *key)] for layer in LAYERS)
    lines = [
        "| layers | form | forward + backward, ms | direct / this | largest error |",
        "|---|---|---|---|---|",
    ]
    for layer in (*LAYERS, "conv3-5"):
        direct = ms[(layer, "direct")]
        for key in _labels():
            t = ms[(layer, *key)]
            err = errors.get((layer, *key))
            lines.append(
                f"| {layer} | {_label(key)} | {t:.1f} | "
                f"{'' if key == ('direct',) else f'{direct / t:.2f}x'} | "
                f"{'' if err is None else f'{err:.1e}'} |"
            )
    whole = {k: ms[("conv3-5", *k)] for k in _labels()[1:] if k[1] != "matmuls"}
    floors = {k: ms[("conv3-5", *k)] for k in _labels()[1:] if k[1] == "matmuls"}
    best, floor = min(whole, key=whole.get), min(floors, key=floors.get)
    direct = ms[("conv3-5", "direct")]
    result = {
        "images_per_sec": round(bench.batch_size / direct * 1e3, 1),  # conv3-5, direct
        "direct_ms": round(direct, 1),
        "ms": {_label(k): round(ms[("conv3-5", *k)], 1) for k in _labels()[1:]},
        "largest_error": {_label(k): errors[("conv3-5", *k)] for k in whole},
    }
    summary = (
        f"conv3-5 forward + backward, one tower, batch {bench.batch_size}, {bench.steps} "
        f"rounds: direct {direct:.0f} ms; fastest Winograd, {_label(best)}: "
        f"{whole[best]:.0f} ms ({direct / whole[best]:.2f}x); {_label(floor)}: "
        f"{floors[floor]:.0f} ms ({direct / floors[floor]:.2f}x)\n\n" + "\n".join(lines) + "\n"
    )
    return result, summary
