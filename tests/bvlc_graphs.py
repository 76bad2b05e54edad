"""ONNX graphs with bvlc_alexnet's structure and random weights, built with onnx.helper,
in the forms converters produce: 224 input with padded pooling (the ONNX model zoo's),
224 with ceil_mode pooling, and 227 (Caffe's own). The weights are Caffe's layouts, so
the same ones also make a caffe-tensorflow .npy."""

import pickle

import numpy as np

CONVS = {  # name: (out, in / groups, kernel, stride, pad, groups)
    "conv1": (96, 3, 11, 4, 0, 1),
    "conv2": (256, 48, 5, 1, 2, 2),
    "conv3": (384, 256, 3, 1, 1, 1),
    "conv4": (384, 192, 3, 1, 1, 2),
    "conv5": (256, 192, 3, 1, 1, 2),
}
DENSE = {"fc6": (4096, 9216), "fc7": (4096, 4096), "fc8": (1000, 4096)}
MEAN_RGB = (122.67891434, 116.66876762, 104.00698793)


# He scales, and where the activations are brought back to about 1. conv1 and conv2 keep
# He's scale on 0-255 pixels, so their outputs are in the tens to hundreds, as in the
# trained network: there LRN changes the numbers (alpha * sum of squares is about 1).
SCALE = {"conv3": 1 / 50, "fc8": 3.0}


def random_weights(seed=0):
    """Caffe-layout weights: {name: (weight, bias)}, with LRN active and the softmax not
    saturated."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, (out, cin, k, _, _, _) in CONVS.items():
        std = np.sqrt(2.0 / (cin * k * k)) * SCALE.get(name, 1.0)
        weights[name] = (
            rng.normal(0, std, (out, cin, k, k)).astype(np.float32),
            rng.normal(0, 0.05, out).astype(np.float32),
        )
    for name, (out, cin) in DENSE.items():
        std = np.sqrt(2.0 / cin) * SCALE.get(name, 1.0)
        weights[name] = (
            rng.normal(0, std, (out, cin)).astype(np.float32),
            rng.normal(0, 0.05, out).astype(np.float32),
        )
    return weights


def onnx_graph(path, weights, form, *, gemm="transB1", flatten="Flatten", dropout=True,
               softmax=True, skip=(), conv1_shape=None):  # fmt: skip
    """Write an ONNX model of bvlc_alexnet to `path`. form: "224_pad", "224_ceil" or "227".
    gemm: "transB1", "transB0" or "matmul". skip: layer names left out (wrong graphs).
    Returns the input size."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    size = 227 if form == "227" else 224
    nodes, inits = [], []
    current = ["data"]

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def add(op, name, *inputs, **attrs):
        if name in skip:
            return
        out = name + "_out"
        nodes.append(helper.make_node(op, [current[0], *inputs], [out], name=name, **attrs))
        current[0] = out

    def pool(name, index):
        attrs = dict(kernel_shape=[3, 3], strides=[2, 2])
        if form == "224_pad" and index == 1:
            attrs["pads"] = [0, 0, 1, 1]  # 54 -> 27, as Caffe's ceil rounding
        if form == "224_ceil":
            attrs["ceil_mode"] = 1
        add("MaxPool", name, **attrs)

    def dense(name, relu):
        w, b = weights[name]
        if gemm == "matmul":
            add("MatMul", name + "_matmul", const(name + "_w", w.T))
            add("Add", name, const(name + "_b", b))
        else:
            t = gemm == "transB1"
            add("Gemm", name, const(name + "_w", w if t else w.T), const(name + "_b", b),
                transB=int(t))  # fmt: skip
        if relu:
            add("Relu", "relu" + name[2:])
            if dropout:
                add("Dropout", "drop" + name[2:])

    for i, (name, (_, _, k, stride, pad, groups)) in enumerate(CONVS.items(), 1):
        w, b = weights[name]
        if name == "conv1" and conv1_shape is not None:
            w = np.zeros(conv1_shape, np.float32)
            b = np.zeros(conv1_shape[0], np.float32)
        add("Conv", name, const(name + "_w", w), const(name + "_b", b), kernel_shape=[k, k],
            strides=[stride, stride], pads=[pad] * 4, group=groups)  # fmt: skip
        add("Relu", f"relu{i}")
        if i in (1, 2):
            add("LRN", f"norm{i}", size=5, alpha=1e-4, beta=0.75, bias=1.0)
            pool(f"pool{i}", i)
    pool("pool5", 5)
    if flatten == "Flatten":
        add("Flatten", "flatten", axis=1)
    else:
        add("Reshape", "flatten", const("flat_shape", np.array([-1, 9216], np.int64)))
    dense("fc6", True)
    dense("fc7", True)
    dense("fc8", False)
    if softmax:
        add("Softmax", "prob", axis=1)
    graph = helper.make_graph(
        nodes,
        "bvlc_alexnet",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(current[0], TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
    model.ir_version = 7
    onnx.save(model, path)
    return size


def caffe_tensorflow_npy(path, weights, pairs="list"):
    """caffe-tensorflow's bvlc_alexnet.npy: a protocol-2 pickle (as Python 2 wrote it) of
    {layer: [W, b]} (or {layer: {"weights", "biases"}}), HWIO kernels on BGR, fc weights
    (in, out) with fc6's inputs in (H, W, C) order."""
    layers = {}
    for name, (w, b) in weights.items():
        if name in CONVS:
            w = w.transpose(2, 3, 1, 0)
        elif name == "fc6":  # (out, C*H*W) -> (H*W*C, out)
            w = w.reshape(4096, 256, 6, 6).transpose(2, 3, 1, 0).reshape(9216, 4096)
        else:
            w = w.T
        layers[name] = [w, b] if pairs == "list" else {"weights": w, "biases": b}
    holder = np.empty((), dtype=object)
    holder[()] = layers
    write_npy_pickle(path, holder)


def write_npy_pickle(path, obj):
    """An object .npy whose pickle is `obj`, protocol 2."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        pickle.dump(obj, f, protocol=2)


def onnxruntime_probabilities(path, rgb, softmax=True):
    """onnxruntime on `path`, for RGB 0-255 images (N, S, S, 3): Caffe's input is the
    mean-subtracted BGR image in NCHW."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = ((rgb - np.array(MEAN_RGB, np.float32))[..., ::-1]).transpose(0, 3, 1, 2)
    out = session.run(None, {"data": np.ascontiguousarray(x, np.float32)})[0]
    if not softmax:
        out = np.exp(out - out.max(1, keepdims=True))
        out /= out.sum(1, keepdims=True)
    return out
