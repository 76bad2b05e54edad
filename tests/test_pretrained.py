"""bvlc_alexnet's weights in the paper's two-tower network: ONNX graphs of its structure
(random weights) in each form converters produce, run in onnxruntime and imported, give
the same probabilities; caffe-tensorflow's .npy gives the same network; other files are
refused naming the first mismatch and nothing in them runs; a 227-input import
evaluates, exports and predicts; fine-tuning from it is one flag."""

import hashlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from bvlc_graphs import (
    caffe_tensorflow_npy,
    onnx_graph,
    onnxruntime_probabilities,
    random_weights,
    write_npy_pickle,
)
from trainer import ENV, run, train_cmd

import alexnet_tf.model  # noqa: F401  (registers the classes load_model needs)
from alexnet_tf.pretrained import bvlc
from alexnet_tf.pretrained.source import SourceError

pytest.importorskip("onnxruntime", reason="pip install -e '.[test]' brings onnxruntime")


@pytest.fixture(scope="module")
def weights():
    return random_weights(seed=0)


@pytest.fixture(scope="module")
def imported(weights, module_tmp):
    """{form: (onnx path, model dir, input size, onnx options)} for the three forms."""
    forms = {
        "224_pad": dict(gemm="transB1", flatten="Flatten", dropout=True, softmax=True),
        "224_ceil": dict(gemm="matmul", flatten="Reshape", dropout=False, softmax=False),
        "227": dict(gemm="transB0", flatten="Flatten", dropout=True, softmax=True),
    }
    out = {}
    for form, how in forms.items():
        path = str(module_tmp / f"bvlc_{form}.onnx")
        size = onnx_graph(path, weights, form, **how)
        model_dir = str(module_tmp / f"bvlc_{form}")
        if form == "224_pad":  # the zoo's form, through the command
            r = subprocess.run(
                [sys.executable, "-m", "alexnet_tf.import_weights", f"--onnx={path}",
                 f"--model_dir={model_dir}"],
                capture_output=True, text=True, env=ENV,
            )  # fmt: skip
            assert r.returncode == 0, r.stderr[-3000:]
            assert "no published checksum" in r.stdout and "60,965,224 parameters" in r.stdout
        else:
            bvlc.import_file(path, model_dir)
        out[form] = (path, model_dir, size, how)
    return out


def _rgb(size, n=4, seed=1):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


@pytest.mark.parametrize("form", ["224_pad", "224_ceil", "227"])
def test_imported_model_equals_onnxruntime(imported, form):
    path, model_dir, size, how = imported[form]
    model = keras.saving.load_model(os.path.join(model_dir, "best.keras"), safe_mode=True)
    assert model.count_params() == 60_965_224
    assert tuple(model.input.shape[1:]) == (size, size, 3)
    rgb = _rgb(size)
    want = onnxruntime_probabilities(path, rgb, softmax=how["softmax"])
    got = keras.ops.softmax(model(rgb, training=False)).numpy()
    assert 0.02 < want.max(axis=1).min() and want.max() < 0.9  # neither flat nor saturated
    ratio = np.abs(got - want).max() / want.max()
    print(f"{form}: max |ours - onnxruntime| / max probability = {ratio:.1e}")  # pytest -s
    assert ratio < 1e-4
    np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))
    record = json.load(open(os.path.join(model_dir, "import_record.json")))
    assert record["options"] == {
        "image_size": size,
        "conv1_pad": 0,
        "ceil_pool": size == 224,
        "lrn_bias": 1.0,
        "lrn_alpha": 2e-5,
        "lrn_across_towers": True,
    }
    classes = json.load(open(os.path.join(model_dir, "classes.json")))["classes"]
    assert len(classes) == 1000 and classes[0] == "n01440764" and classes == sorted(classes)


@pytest.mark.parametrize(
    "change", [{"lrn_across_towers": False}, {"lrn_bias": 2.0}, {"lrn_alpha": 1e-4}]
)
def test_the_parity_test_sees_each_lrn_option(imported, change):
    """The same weights with the paper's LRN (per tower, k=2, alpha not divided by 5) give
    other probabilities: the parity test above can fail."""
    path, model_dir, size, how = imported["227"]
    model = keras.saving.load_model(os.path.join(model_dir, "best.keras"), safe_mode=True)
    other = alexnet_tf.model.AlexNet.from_config({**model.get_config(), **change})
    other.set_weights(model.get_weights())
    rgb = _rgb(size)
    want = onnxruntime_probabilities(path, rgb)
    got = keras.ops.softmax(other(rgb, training=False)).numpy()
    ratio = np.abs(got - want).max() / want.max()
    print(f"{change}: max |ours - onnxruntime| / max probability = {ratio:.1e}")  # pytest -s
    assert ratio > 1e-2


# 16 s each on 2 cores: the default run stays within 12 min
@pytest.mark.slow
@pytest.mark.parametrize("pairs", ["list", "dict"])
def test_caffe_tensorflow_npy_is_the_same_network(imported, weights, tmp_path, pairs):
    path, _, size, _ = imported["227"]
    npy = str(tmp_path / "bvlc_alexnet.npy")
    caffe_tensorflow_npy(npy, weights, pairs)
    record = bvlc.import_file(npy, str(tmp_path / "m"))
    assert record["format"] == "caffe-tensorflow npy" and record["options"]["image_size"] == 227
    model = keras.saving.load_model(str(tmp_path / "m" / "best.keras"), safe_mode=True)
    rgb = _rgb(size, n=2)
    want = onnxruntime_probabilities(path, rgb)
    got = keras.ops.softmax(model(rgb, training=False)).numpy()
    assert np.abs(got - want).max() < 1e-4 * want.max()


class _Payload:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "code_ran"
    holder = np.empty((), dtype=object)
    holder[()] = {"conv1": [_Payload(str(marker)), np.zeros(3)]}
    npy = tmp_path / "evil.npy"
    write_npy_pickle(str(npy), holder)
    r = run(
        [sys.executable, "-m", "alexnet_tf.import_weights", f"--npy={npy}",
         f"--model_dir={tmp_path / 'm'}"],
        env=ENV,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr[-2000:]
    assert "the pickle names io.open, which a file of weights does not need" in r.stderr
    assert "nothing from the file was run" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "how, message",
    [
        (dict(skip=("norm1",)), "layer 3 of the graph is MaxPool (node 'pool1') where "
         "bvlc_alexnet has norm1 (LRN)"),
        (dict(conv1_shape=(64, 3, 11, 11)), "conv1's weights have shape (64, 3, 11, 11)"),
        (dict(skip=("relu7", "drop7", "fc8")), "the graph ends after 19 layers where "
         "bvlc_alexnet continues with relu7"),
    ],
)  # fmt: skip
def test_other_structures_are_refused_naming_the_first_mismatch(weights, tmp_path, how, message):
    path = str(tmp_path / "other.onnx")
    onnx_graph(path, weights, "227", **how)
    with pytest.raises(SourceError) as e:
        bvlc.import_file(path, str(tmp_path / "m"))
    assert message in str(e.value), str(e.value)
    assert not (tmp_path / "m").exists()  # refused before anything is written


@pytest.mark.slow  # 25 s on 2 cores: the default run stays within 12 min
def test_files_that_are_not_bvlc_exit_2(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    mlp = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="dense")],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(np.ones((4, 2), np.float32), "w"),
         numpy_helper.from_array(np.zeros(2, np.float32), "b")],
    )  # fmt: skip
    onnx.save(helper.make_model(mlp), str(tmp_path / "mlp.onnx"))
    (tmp_path / "noise.onnx").write_bytes(os.urandom(3000))
    cases = [
        ("mlp.onnx", "layer 1 of the graph is Gemm (node 'dense') where bvlc_alexnet has conv1"),
        ("noise.onnx", "is not an ONNX model"),
        ("missing.onnx", "is not a file"),
    ]
    for name, message in cases:
        r = run(
            [sys.executable, "-m", "alexnet_tf.import_weights", f"--onnx={tmp_path / name}",
             f"--model_dir={tmp_path / 'm'}"],
            env=ENV,
        )  # fmt: skip
        assert r.returncode == 2, (name, r.stderr[-2000:])
        assert message in r.stderr and "is not bvlc_alexnet" in r.stderr, (name, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "m").exists()


def test_the_checksum_is_compared_with_the_zoos_where_the_name_matches(imported, tmp_path):
    path = imported["227"][0]
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    renamed = tmp_path / "bvlcalexnet-12.onnx"
    os.link(path, renamed)
    assert "DIFFERS from the ONNX model zoo's bvlcalexnet-12.onnx" in bvlc.checksum_note(
        str(renamed), digest
    )
    assert "matches the ONNX model zoo's" in bvlc.checksum_note(
        str(renamed), bvlc.ZOO_SHA256["bvlcalexnet-12.onnx"]
    )
    assert "no published checksum" in bvlc.checksum_note(path, digest)


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_a_227_import_evaluates_exports_and_predicts(imported, demo_records, tmp_path):
    _, model_dir, _, _ = imported["227"]
    data_dir = demo_records(2, 2, train_shards=1, validation_shards=1)
    r = run(
        [sys.executable, "-m", "alexnet_tf.evaluate", f"--model_dir={model_dir}",
         f"--data_dir={data_dir}", "--crops=10", "--batch_size=4", "--mixed_precision=float32"],
        env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.load(open(os.path.join(model_dir, "eval_validation_10crop.json")))
    assert result["num_examples"] == 12 and result["crops"] == 10
    export_dir = tmp_path / "exports" / "bvlc"
    r = run(
        [sys.executable, "-m", "alexnet_tf.export", f"--model_dir={model_dir}",
         f"--export_dir={export_dir}"],
        env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    image = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(_rgb(300, n=1)[0].astype(np.uint8)).save(image)
    r = run(
        [sys.executable, "-m", "alexnet_tf.predict", f"--model={export_dir}", "--json",
         str(image)],
        env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    (answer,) = json.loads(r.stdout)
    assert len(answer["predictions"]) == 5
    assert all(p["class_id"].startswith("n") for p in answer["predictions"])


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_fine_tuning_from_an_import_is_one_flag(imported, demo_records, tmp_path):
    _, source_dir, _, _ = imported["227"]
    data_dir = demo_records(2, 1)
    model_dir = str(tmp_path / "run")
    flags = ("--epochs=1", "--steps_per_epoch=2", f"--init_from={source_dir}")
    r = run(train_cmd(data_dir, model_dir, *flags, "--freeze=conv1..fc7", full_size=True))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Started from" in r.stderr and "fc8 made anew for 6 classes" in r.stderr
    config = json.load(open(os.path.join(model_dir, "train_config.json")))
    assert config["image_size"] == 227 and config["lrn_bias"] == 1.0
    assert config["lrn_across_towers"] and config["freeze"] == [
        "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"
    ]  # fmt: skip
    source = keras.saving.load_model(os.path.join(source_dir, "best.keras"), safe_mode=True)
    tuned = keras.saving.load_model(os.path.join(model_dir, "latest.keras"), safe_mode=True)
    assert tuned.get_config()["mean_rgb"] == source.get_config()["mean_rgb"]
    for name in ("conv1a", "conv3b", "fc6a", "fc7b"):  # frozen: as imported
        np.testing.assert_array_equal(
            tuned.get_layer(name).kernel.numpy(), source.get_layer(name).kernel.numpy()
        )
    assert tuned.get_layer("fc8").kernel.shape == (4096, 6)
    # A rerun resumes from the run's own backup; the source is not read again.
    r = run(
        train_cmd(
            data_dir, model_dir, *flags[1:], "--epochs=2", "--freeze=conv1..fc7", full_size=True
        )
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Resuming at step 2" in r.stderr and "Started from" not in r.stderr
    # A flag contradicting the source's options is refused before any work.
    r = run(train_cmd(data_dir, str(tmp_path / "other"), *flags, "--lrn_bias=2", full_size=True))
    assert r.returncode == 2 and "the model of --init_from" in r.stderr
    r = run(train_cmd(data_dir, str(tmp_path / "other"), "--freeze=conv2..fc8", full_size=True))
    assert r.returncode == 2 and "--freeze takes layers of conv1" in r.stderr
