"""Caffe's bvlc_alexnet in the paper's two-tower network: its structure checked against
the paper's, its options derived, its weights mapped onto the towers, and a model
directory written that evaluate, export, predict and `train --init_from` read.

bvlc_alexnet has the paper's structure and parameter count (60,965,224), with these
differences, each an option of the model here: a 227 input (or 224 with pooling that
rounds up) without conv1 padding; LRN with k=1 and Caffe's alpha/n; conv1 as one group,
so both LRNs normalize across the towers' channels; BGR input, which is folded into
conv1's kernels so the model still takes RGB. The mean stays in the model's `mean_rgb`.

Mapping (Caffe's group g = tower g): conv1's 96 kernels split 48/48; conv2, conv4 and
conv5 by group; conv3 reads both towers and its 384 kernels split 192/192; fc6's 9216
inputs reordered from pool5's (C, H, W) flattening to the towers' (H, W, C) each, and its
4096 units split 2048/2048 as fc7's; fc8 reads both.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np

from alexnet_tf.core.files import file_digest
from alexnet_tf.pretrained import caffe_npy, onnx_reader
from alexnet_tf.pretrained.source import (
    CONV_PADS,
    CONV_SHAPES,
    CONVS,
    DENSE_INPUTS,
    Source,
    SourceError,
)

# Caffe's ilsvrc_2012_mean.npy, averaged per channel (BGR 104.007, 116.669, 122.679),
# here in RGB as the model takes it.
BVLC_MEAN_RGB = (122.67891434, 116.66876762, 104.00698793)
# The ONNX model zoo's published LFS checksums, by file name.
ZOO_SHA256 = {
    "bvlcalexnet-12.onnx": "6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945",
}


def _pool_size(n: int, pool, ceil: bool) -> int:
    span = n + pool.pads[0] + pool.pads[2] - pool.kernel
    return (-(-span // pool.stride) if ceil else span // pool.stride) + 1


def _check_structure(source: Source) -> None:
    for name, conv in zip(CONVS, source.convs, strict=True):
        out, cin, k, stride, groups = CONV_SHAPES[name]
        want = (out, cin, k, k)
        if tuple(conv.weight.shape) != want or tuple(conv.bias.shape) != (out,):
            raise SourceError(
                f"{name}'s weights have shape {tuple(conv.weight.shape)} (bias "
                f"{tuple(conv.bias.shape)}); bvlc_alexnet's are {want} ({out},)."
            )
        if conv.stride != stride or conv.groups != groups:
            raise SourceError(
                f"{name} has stride {conv.stride} and {conv.groups} group(s); bvlc_alexnet's "
                f"has stride {stride} and {groups}."
            )
        if name in CONV_PADS and conv.pads != (CONV_PADS[name],) * 4:
            raise SourceError(f"{name} pads {conv.pads}; bvlc_alexnet pads {CONV_PADS[name]}.")
    pads1 = source.convs[0].pads
    if len(set(pads1)) != 1 or pads1[0] not in range(6):
        raise SourceError(f"conv1 pads {pads1}; the model takes an even padding of 0 to 5.")
    for i, lrn in enumerate(source.lrns, 1):
        if lrn.size != 5:
            raise SourceError(f"norm{i} spans {lrn.size} channels; bvlc_alexnet's span 5.")
    for i, pool in zip((1, 2, 5), source.pools, strict=True):
        if (pool.kernel, pool.stride) != (3, 2) or pool.pads[:2] != (0, 0):
            raise SourceError(
                f"pool{i} is {pool.kernel}x{pool.kernel} stride {pool.stride} padded "
                f"{pool.pads}; bvlc_alexnet's is 3x3 stride 2, padded at most at its end."
            )
    classes = source.num_classes
    units_of = (4096, 4096, classes)
    for name, layer, units in zip(("fc6", "fc7", "fc8"), source.dense, units_of, strict=True):
        want = (units, DENSE_INPUTS[name])
        if tuple(layer.weight.shape) != want or tuple(layer.bias.shape) != (units,):
            raise SourceError(
                f"{name}'s weights have shape {tuple(layer.weight.shape)}; bvlc_alexnet's are "
                f"{want}."
            )


def model_options(source: Source) -> dict:
    """The model's options that compute what `source` computes; SourceError where no
    options can."""
    _check_structure(source)
    pad = source.convs[0].pads[0]
    ceil = any(p.ceil_mode or p.pads[2:] != (0, 0) for p in source.pools)
    size = source.input_size or (224 if ceil else 227)
    if size not in (224, 227):
        raise SourceError(f"the input is {size}x{size}; the model takes 224 or 227.")
    n = (size + 2 * pad - 11) // 4 + 1  # conv1's output
    sizes = []
    for pool, ours_before in zip(source.pools, (n, None, None), strict=True):
        before = ours_before if ours_before is not None else sizes[-1]
        theirs = _pool_size(before, pool, pool.ceil_mode)
        ours = _pool_size(before, dataclasses.replace(pool, pads=(0, 0, 0, 0)), ceil)
        if theirs != ours:
            raise SourceError(
                f"pooling of a {before}x{before} map gives {theirs} in the file and {ours} with "
                f"{'ceil' if ceil else 'floor'} rounding: the model cannot follow it."
            )
        sizes.append(ours)
    if sizes[-1] != 6:
        raise SourceError(f"pool5 gives {sizes[-1]}x{sizes[-1]}; fc6 needs 6x6 (9216 inputs).")
    (lrn1, lrn2) = source.lrns
    if (lrn1.alpha, lrn1.beta, lrn1.bias) != (lrn2.alpha, lrn2.beta, lrn2.bias):
        raise SourceError("norm1 and norm2 differ; the model gives both LRNs the same constants.")
    if lrn1.beta != 0.75:
        raise SourceError(f"the LRNs' beta is {lrn1.beta}; the paper's and bvlc's is 0.75.")
    return {
        "image_size": size,
        "conv1_pad": pad,
        "ceil_pool": ceil,
        "lrn_bias": float(lrn1.bias),
        # Caffe's alpha/n convention; the file's float32 alpha read as the decimal it was.
        "lrn_alpha": float(f"{float(str(np.float32(lrn1.alpha))) / lrn1.size:.12g}"),
        "lrn_across_towers": True,  # conv1 is one group: its LRN spans all 96 channels
    }


def tower_weights(source: Source) -> dict:
    """{layer name: [kernel, bias]} for the two-tower network, in Keras layouts."""
    out = {}
    for name, conv in zip(CONVS, source.convs, strict=True):
        kernel = conv.weight.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)
        if name == "conv1" and not source.rgb:
            kernel = kernel[:, :, ::-1, :]  # BGR inputs -> RGB: the model takes RGB
        half = kernel.shape[-1] // 2
        if conv.groups == 2:  # group g reads tower g's channels and makes tower g's
            halves = [
                conv.weight[:half].transpose(2, 3, 1, 0),
                conv.weight[half:].transpose(2, 3, 1, 0),
            ]
        else:  # one group: each tower's kernels read every input channel
            halves = [kernel[..., :half], kernel[..., half:]]
        for tower, k, b in zip("ab", halves, (conv.bias[:half], conv.bias[half:]), strict=True):
            out[name + tower] = [np.ascontiguousarray(k), b]
    fc6, fc7, fc8 = source.dense
    if source.fc6_inputs == "CHW":  # pool5 flattened as (C=256, H, W)
        w = fc6.weight.reshape(4096, 2, 128, 6, 6).transpose(1, 3, 4, 2, 0)
    else:  # (H, W, C=256), as caffe-tensorflow stores it
        w = fc6.weight.reshape(4096, 6, 6, 2, 128).transpose(3, 1, 2, 4, 0)
    w = w.reshape(9216, 4096)  # rows: tower a's (H, W, C), then tower b's, as fc6 reads them
    for name, kernel, bias in (("fc6", w, fc6.bias), ("fc7", fc7.weight.T, fc7.bias)):
        out[name + "a"] = [np.ascontiguousarray(kernel[:, :2048]), bias[:2048]]
        out[name + "b"] = [np.ascontiguousarray(kernel[:, 2048:]), bias[2048:]]
    out["fc8"] = [np.ascontiguousarray(fc8.weight.T), fc8.bias]
    return out


def build(source: Source, mean_rgb=BVLC_MEAN_RGB):
    """The paper's two-tower model computing what `source` computes (logits out)."""
    from alexnet_tf.model import build_alexnet

    options = model_options(source)
    model = build_alexnet(
        source.num_classes,
        tower_devices=None,
        init="caffe",  # biases start at 0.1 in bvlc_alexnet (for fine-tuning's fc8)
        mean_rgb=mean_rgb,
        std_rgb=None,
        pca_std=0.0,  # bvlc_alexnet trained without PCA lighting
        **options,
    )
    for name, (kernel, bias) in tower_weights(source).items():
        layer = model.get_layer(name)
        if layer.kernel.shape != kernel.shape:  # the mapping above is wrong, not the file
            raise AssertionError(f"{name}: {kernel.shape} for a {layer.kernel.shape} kernel")
        layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return model


def checksum_note(path: str, digest: str) -> str:
    """Whether the file is the zoo's, where its name says it should be."""
    name = os.path.basename(path)
    if name not in ZOO_SHA256:
        return f"sha256 {digest} (no published checksum for a file named {name})"
    if digest == ZOO_SHA256[name]:
        return f"sha256 {digest}: matches the ONNX model zoo's {name}"
    return f"sha256 {digest}: DIFFERS from the ONNX model zoo's {name} ({ZOO_SHA256[name]})"


def imagenet_classes() -> list[str]:
    """The 1,000 ILSVRC-2012 synsets in Caffe's order (sorted), from tensorflow_datasets."""
    import tensorflow_datasets as tfds

    path = os.path.join(os.path.dirname(tfds.__file__), "datasets", "imagenet2012", "labels.txt")
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def read_source(path: str) -> Source:
    """An ONNX file, or caffe-tensorflow's .npy, by its first bytes (not its name)."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY":
        return caffe_npy.read(path)
    return onnx_reader.read(path)


def import_file(path: str, model_dir: str, names_file: str | None = None, mean_rgb=None) -> dict:
    """Read `path`, check and map it, write MODEL_DIR (best.keras, classes.json,
    import_record.json); returns the record. SourceError for a file of another
    structure, before anything is written."""
    from alexnet_tf.core.files import atomic_write_json
    from alexnet_tf.core.rundir import RunDir
    from alexnet_tf.model.saving import save_model_atomically

    if not os.path.isfile(path):
        raise SourceError(f"{path} is not a file.")
    digest = file_digest(path, "sha256")
    note = checksum_note(path, digest)
    logging.info("%s: %s", path, note)
    source = read_source(path)
    options = model_options(source)
    classes = (
        imagenet_classes()
        if source.num_classes == 1000
        else [f"class_{i}" for i in range(source.num_classes)]
    )
    names = list(classes)
    if names_file:
        from alexnet_tf.data.tfrecords import names_from_lines

        with open(names_file, encoding="utf-8") as f:
            names = names_from_lines(f, classes)
    model = build(source, mean_rgb or BVLC_MEAN_RGB)
    run = RunDir(model_dir)
    os.makedirs(model_dir, exist_ok=True)
    save_model_atomically(model, run.best)
    atomic_write_json(run.classes, {"classes": classes, "names": names})
    record = {
        "source": os.path.abspath(path),
        "format": source.format,
        "sha256": digest,
        "checksum": note,
        "num_classes": source.num_classes,
        "options": options,
        "mean_rgb": list(mean_rgb or BVLC_MEAN_RGB),
        "parameters": int(model.count_params()),
    }
    atomic_write_json(run.import_record, record)
    return record
