"""bvlc_alexnet from an ONNX file (the ONNX model zoo's bvlcalexnet-N.onnx, or any
converter's), read by its sequence of operations and tensor shapes, not its names.

The file is parsed as a protobuf (the `onnx` package, an optional extra:
`pip install -e ".[onnx]"`); nothing in it is executed. Accepted variants: pooling padded
or with ceil_mode, Gemm with transB 0 or 1 or MatMul + Add, Flatten or Reshape, Dropout,
Identity and Softmax present or absent, weights as initializers or Constant nodes, any
names.
"""

from __future__ import annotations

import numpy as np

from alexnet_tf.pretrained.source import LRN, Conv, Dense, Pool, Source, SourceError

# bvlc_alexnet's layers in order (Dropout, Softmax and Identity set aside).
TEMPLATE = (
    ("conv1", "Conv"), ("relu1", "Relu"), ("norm1", "LRN"), ("pool1", "MaxPool"),
    ("conv2", "Conv"), ("relu2", "Relu"), ("norm2", "LRN"), ("pool2", "MaxPool"),
    ("conv3", "Conv"), ("relu3", "Relu"), ("conv4", "Conv"), ("relu4", "Relu"),
    ("conv5", "Conv"), ("relu5", "Relu"), ("pool5", "MaxPool"), ("flatten", "Flatten"),
    ("fc6", "FC"), ("relu6", "Relu"), ("fc7", "FC"), ("relu7", "Relu"), ("fc8", "FC"),
)  # fmt: skip
PASS_THROUGH = ("Dropout", "Identity")
FINAL = ("Softmax",)


def _attributes(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _describe(node) -> str:
    return f"{node.op_type} (node {node.name or node.output[0]!r})"


def _ops(graph):
    """The graph as a chain of (kind, node, attributes, constant inputs); refuses a node
    that does not read its predecessor's output."""
    from onnx import numpy_helper

    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(_attributes(node)["value"])
    inputs = [i for i in graph.input if i.name not in values]
    if len(inputs) != 1:
        raise SourceError(f"the graph has {len(inputs)} data inputs; bvlc_alexnet has 1.")
    current = inputs[0].name
    chain = []
    for node in graph.node:
        kind = node.op_type
        if kind == "Constant":
            continue
        if not node.input or node.input[0] != current:
            raise SourceError(
                f"{_describe(node)} does not read the previous layer's output "
                f"({current!r}): bvlc_alexnet is one chain of layers."
            )
        current = node.output[0]
        if kind in PASS_THROUGH:
            continue
        consts = [values.get(name) for name in node.input[1:]]
        last = chain[-1] if chain else None
        if kind == "Add" and last and last[1].op_type == "MatMul" and len(last[3]) == 1:
            chain[-1] = (*last[:3], last[3] + consts)  # MatMul + Add: one fully connected
            continue
        kind = {"Gemm": "FC", "MatMul": "FC", "Reshape": "Flatten"}.get(kind, kind)
        chain.append((kind, node, _attributes(node), consts))
    return inputs[0], chain


def _conv(node, attrs, consts) -> Conv:
    weight, bias = consts[0], consts[1] if len(consts) > 1 else None
    if weight is None:
        raise SourceError(f"{_describe(node)} takes its weights from the graph, not the file.")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise SourceError(f"{_describe(node)} uses auto_pad={attrs['auto_pad']!r}.")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise SourceError(f"{_describe(node)} is dilated; bvlc_alexnet's convolutions are not.")
    strides = attrs.get("strides", [1, 1])
    if strides[0] != strides[1]:
        raise SourceError(f"{_describe(node)} has strides {strides}; bvlc_alexnet's are square.")
    pads = tuple(attrs.get("pads", [0, 0, 0, 0]))
    if bias is None:
        bias = np.zeros(weight.shape[0], weight.dtype)
    return Conv(
        weight, bias, strides[0], (pads[0], pads[1], pads[2], pads[3]), attrs.get("group", 1)
    )


def _pool(node, attrs) -> Pool:
    kernel, strides = attrs.get("kernel_shape", [0, 0]), attrs.get("strides", [1, 1])
    if kernel[0] != kernel[1] or strides[0] != strides[1]:
        raise SourceError(f"{_describe(node)} is not square ({kernel}, strides {strides}).")
    pads = tuple(attrs.get("pads", [0, 0, 0, 0]))
    return Pool(
        kernel[0], strides[0], (pads[0], pads[1], pads[2], pads[3]), bool(attrs.get("ceil_mode", 0))
    )


def _dense(node, attrs, consts) -> Dense:
    weight, bias = consts[0], consts[1] if len(consts) > 1 else None
    if weight is None or weight.ndim != 2:
        raise SourceError(f"{_describe(node)} has no 2-D weight in the file.")
    if node.op_type == "Gemm":
        if (
            attrs.get("transA", 0)
            or attrs.get("alpha", 1.0) != 1.0
            or attrs.get("beta", 1.0) != 1.0
        ):
            raise SourceError(f"{_describe(node)} scales or transposes its input.")
        weight = weight if attrs.get("transB", 0) else weight.T  # -> (out, in)
    else:
        weight = weight.T  # MatMul(x, W): W is (in, out)
    if bias is None:
        bias = np.zeros(weight.shape[0], weight.dtype)
    return Dense(weight, np.asarray(bias).reshape(-1))


def read(path: str) -> Source:
    """The network in an ONNX file, or SourceError naming the first mismatch."""
    try:
        import onnx
    except ImportError:
        raise SourceError(
            'reading ONNX files needs the onnx package: pip install -e ".[onnx]"'
        ) from None
    try:
        model = onnx.load(path)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types
        raise SourceError(f"{path} is not an ONNX model ({type(e).__name__}: {e}).") from None
    graph_input, chain = _ops(model.graph)
    while chain and chain[-1][0] in FINAL:
        chain.pop()
    for i, (want_name, want_kind) in enumerate(TEMPLATE):
        if i >= len(chain):
            raise SourceError(
                f"the graph ends after {len(chain)} layers where bvlc_alexnet continues with "
                f"{want_name} ({want_kind})."
            )
        kind, node = chain[i][0], chain[i][1]
        if kind != want_kind:
            raise SourceError(
                f"layer {i + 1} of the graph is {_describe(node)} where bvlc_alexnet has "
                f"{want_name} ({want_kind})."
            )
    if len(chain) > len(TEMPLATE):
        raise SourceError(
            f"the graph goes on after fc8 with {_describe(chain[len(TEMPLATE)][1])}; "
            "bvlc_alexnet ends there (a Softmax may follow)."
        )
    convs, lrns, pools, dense = [], [], [], []
    for kind, node, attrs, consts in chain:
        if kind == "Conv":
            convs.append(_conv(node, attrs, consts))
        elif kind == "LRN":
            lrns.append(
                LRN(
                    attrs["size"],
                    attrs.get("alpha", 1e-4),
                    attrs.get("beta", 0.75),
                    attrs.get("bias", 1.0),
                )
            )
        elif kind == "MaxPool":
            pools.append(_pool(node, attrs))
        elif kind == "FC":
            dense.append(_dense(node, attrs, consts))
    dims = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    size = dims[2] if len(dims) == 4 and dims[2] and dims[2] == dims[3] else None
    if len(dims) == 4 and dims[1] not in (0, 3):
        raise SourceError(f"the graph's input has {dims[1]} channels; bvlc_alexnet takes 3 (BGR).")
    return Source(size, convs, lrns, pools, dense, rgb=False, fc6_inputs="CHW", format="onnx")
