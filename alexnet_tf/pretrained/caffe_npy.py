"""bvlc_alexnet from caffe-tensorflow's `bvlc_alexnet.npy`, the file many TF tutorials use:
a NumPy file holding a Python 2 pickle of {layer: [W, b]} or {layer: {"weights",
"biases"}}, with HWIO kernels on BGR input and fc6 already flattened in (H, W, C) order.

`np.load(allow_pickle=True)` would run any code the pickle names. This reader unpickles
with a restricted unpickler that admits only what such a file holds (dicts, lists and
NumPy arrays) and refuses any other name with an error, so nothing from the file runs.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from alexnet_tf.pretrained.source import (
    CONV1_PAD,
    CONV_PADS,
    CONV_SHAPES,
    CONVS,
    LRN,
    Conv,
    Dense,
    Pool,
    Source,
    SourceError,
)

# The only globals a pickle of NumPy arrays needs (NumPy 1 and 2 module names, and the
# codec Python 3 uses for bytes in protocol-2 pickles).
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}
LAYERS = (*CONVS, "fc6", "fc7", "fc8")


class _Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise SourceError(
                f"the pickle names {module}.{name}, which a file of weights does not need; "
                "refusing to load it (nothing from the file was run)."
            )
        return super().find_class(module, name)


def _unpickle(path: str):
    with open(path, "rb") as f:
        raw = f.read()
    stream = io.BytesIO(raw)
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
        if version not in header:
            raise ValueError(f"format version {version}")
        shape, _, dtype = header[version](stream)
    except ValueError as e:
        raise SourceError(f"{path} is not a NumPy .npy file ({e}).") from None
    if dtype != np.dtype(object) or shape != ():
        raise SourceError(
            f"{path} holds a {dtype} array of shape {shape}; caffe-tensorflow's file holds one "
            "pickled dict of layers."
        )
    try:
        return _Restricted(stream, encoding="latin1").load()
    except SourceError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged pickle raises many types
        raise SourceError(f"{path} could not be unpickled ({type(e).__name__}: {e}).") from None


def _pair(layer: str, entry):
    if isinstance(entry, dict):
        if set(entry) != {"weights", "biases"}:
            raise SourceError(f"layer {layer} has keys {sorted(entry)}; expected weights, biases.")
        entry = [entry["weights"], entry["biases"]]
    if not isinstance(entry, (list, tuple)) or len(entry) != 2:
        raise SourceError(f"layer {layer} is not a [weights, biases] pair.")
    weight, bias = entry
    for what, value in (("weights", weight), ("biases", bias)):
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise SourceError(f"layer {layer}'s {what} are not a float array.")
    return weight.astype(np.float32), bias.astype(np.float32)


def read(path: str) -> Source:
    """The network in a caffe-tensorflow .npy file, or SourceError naming what is off."""
    array = _unpickle(path)
    layers = array.item() if isinstance(array, np.ndarray) else array
    if not isinstance(layers, dict):
        raise SourceError(f"{path} holds a {type(layers).__name__}, not a dict of layers.")
    missing = [name for name in LAYERS if name not in layers]
    if missing:
        raise SourceError(f"{path} has no layer {missing[0]} (it has {sorted(layers)}).")
    extra = sorted(set(layers) - set(LAYERS))
    if extra:
        raise SourceError(f"{path} has layers bvlc_alexnet does not: {extra}.")
    pairs = {name: _pair(name, layers[name]) for name in LAYERS}
    convs = []
    for name in CONVS:
        weight, bias = pairs[name]
        if weight.ndim != 4:
            raise SourceError(f"layer {name}'s weights have shape {weight.shape}; expected HWIO.")
        # The file holds weights only: strides, pads and groups are bvlc_alexnet's, and
        # bvlc.model_options checks the weights' shapes against that same structure.
        _, _, _, stride, groups = CONV_SHAPES[name]
        pad = CONV_PADS.get(name, CONV1_PAD)
        convs.append(Conv(weight.transpose(3, 2, 0, 1), bias, stride, (pad,) * 4, groups))
    dense = []
    for name in LAYERS[5:]:
        weight, bias = pairs[name]
        if weight.ndim != 2:
            raise SourceError(f"layer {name}'s weights have shape {weight.shape}; expected 2-D.")
        dense.append(Dense(weight.T, bias))  # (in, out) -> (out, in)
    # caffe-tensorflow's network: 227x227 input, Caffe's LRN (k=1, alpha/5), pools 3/2.
    return Source(
        227,
        convs,
        [LRN(5, 1e-4, 0.75, 1.0) for _ in range(2)],
        [Pool(3, 2) for _ in range(3)],
        dense,
        rgb=False,
        fc6_inputs="HWC",
        format="caffe-tensorflow npy",
    )
