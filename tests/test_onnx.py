"""ONNX exports: onnx's checker and onnxruntime read them as a deployment would, at batch 1
and 7, with the Keras model's probabilities and top classes; evaluate --onnx gives the
Keras model's errors; what an ONNX file cannot hold is refused naming the flag."""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from trainer import ENV, SMALL_WIDTHS

from alexnet_tf import data
from alexnet_tf.core import constants
from alexnet_tf.inference import onnx_export
from alexnet_tf.model import build_alexnet


def _cli(module, *flags):
    return subprocess.run(
        [sys.executable, "-m", f"alexnet_tf.{module}", *flags],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip


def _run_dir(root, data_dir, model):
    """A model directory as training leaves it: best.keras, its data, its classes."""
    model_dir = root / "run"
    model_dir.mkdir()
    model.save(model_dir / "best.keras")
    (model_dir / "train_config.json").write_text(json.dumps({"data_dir": data_dir}))
    names = ["circle", "square", "triangle", "star", "cross", "ring"]
    (model_dir / "classes.json").write_text(json.dumps({"classes": names, "names": names}))
    return model_dir


@pytest.fixture(scope="module")
def exported(demo_records, tmp_path_factory):
    data_dir = demo_records(2, 2, train_shards=1, validation_shards=1)
    root = tmp_path_factory.mktemp("onnx")
    model = build_alexnet(6, tower_devices=("/CPU:0", "/CPU:1"), init="he", seed=4,
                          std_rgb=constants.IMAGENET_STD_RGB, **SMALL_WIDTHS)  # fmt: skip
    model_dir = _run_dir(root, data_dir, model)
    export_dir = root / "exports" / "alexnet_onnx"
    r = _cli("export", f"--model_dir={model_dir}", f"--export_dir={export_dir}", "--format=onnx")
    assert r.returncode == 0, r.stderr[-3000:]
    path = export_dir / "1" / onnx_export.FILE
    assert r.stdout.strip() == f"exported {path}"
    return {"model": model, "model_dir": model_dir, "data_dir": data_dir, "path": str(path)}


def _softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_the_file_passes_onnx_checker_and_names_its_tensors(exported):
    model = onnx.load(exported["path"])
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (image,) = model.graph.input
    dims = [d.dim_value or d.dim_param for d in image.type.tensor_type.shape.dim]
    assert image.name == "images" and dims[1:] == [224, 224, 3] and isinstance(dims[0], str)
    assert {o.name for o in model.graph.output} == {"probabilities", "classes"}
    classes = json.load(open(os.path.join(os.path.dirname(exported["path"]), "classes.json")))
    assert classes["classes"][:2] == ["circle", "square"] and classes["opset"] >= 17


@pytest.mark.parametrize("batch", [1, 7])
def test_onnxruntime_computes_the_keras_models_probabilities(exported, batch):
    session = ort.InferenceSession(exported["path"], providers=["CPUExecutionProvider"])
    images = np.random.default_rng(batch).uniform(0, 255, (batch, 224, 224, 3))
    images = images.astype(np.float32)
    probabilities, classes = session.run(["probabilities", "classes"], {"images": images})
    want = _softmax(exported["model"].predict(images, verbose=0))
    np.testing.assert_allclose(probabilities, want, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(classes[:, 0], want.argmax(1))
    np.testing.assert_array_equal(classes, np.argsort(-probabilities, axis=1)[:, :5])


def test_evaluate_onnx_gives_the_keras_models_errors(exported):
    model_dir = exported["model_dir"]
    flags = [f"--model_dir={model_dir}", "--batch_size=5", "--mixed_precision=float32"]
    r = _cli("evaluate", *flags)
    assert r.returncode == 0, r.stderr[-2000:]
    r = _cli("evaluate", *flags, f"--onnx={exported['path']}")
    assert r.returncode == 0, r.stderr[-2000:]
    keras_result = json.load(open(model_dir / "eval_validation_1crop.json"))
    onnx_result = json.load(open(model_dir / "eval_validation_1crop_onnx.json"))
    assert onnx_result["interpreter"] == "onnxruntime"
    for key in ("top1_error", "top5_error", "num_examples"):
        assert onnx_result[key] == keras_result[key], key
    views = data.eval_dataset(exported["data_dir"], 4, crops=10)
    runner = onnx_export.Runner(exported["path"])
    images, _ = next(iter(views))
    b, v = images.shape[:2]
    flat = images.numpy().reshape(b * v, 224, 224, 3).astype(np.float32)
    want = _softmax(exported["model"].predict(flat, verbose=0))
    np.testing.assert_allclose(runner(flat), want, rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--mixed_precision=mixed_bfloat16"], "--mixed_precision=mixed_bfloat16 does not "
         "combine with --format=onnx"),
        (["--features"], "--features does not combine with --format=onnx"),
        (["--quantize=int8"], "--quantize applies to --format=tflite only"),
    ],
)  # fmt: skip
def test_what_an_onnx_file_cannot_hold_is_refused_naming_the_flag(exported, tmp_path, flags,
                                                                  message):  # fmt: skip
    r = _cli("export", f"--model_dir={exported['model_dir']}",
             f"--export_dir={tmp_path / 'e'}", "--format=onnx", *flags)  # fmt: skip
    assert r.returncode == 2 and message in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "e").exists()


def test_a_file_of_another_kind_is_refused_by_the_runner(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"not a model")
    with pytest.raises(onnx_export.OnnxError, match="onnxruntime cannot load it"):
        onnx_export.Runner(str(tmp_path / "x.onnx"))
    with pytest.raises(onnx_export.OnnxError, match="is not a file"):
        onnx_export.Runner(str(tmp_path / "missing.onnx"))


@pytest.mark.slow  # the full-size network: a 244 MB graph converted and checked
def test_the_full_size_network_exports_and_runs_in_onnxruntime(tmp_path, demo_records):
    model = build_alexnet(6, tower_devices=None, init="he", seed=5)
    model_dir = _run_dir(tmp_path, demo_records(2, 2, train_shards=1, validation_shards=1), model)
    final = onnx_export.export_onnx(str(model_dir), str(tmp_path / "exports"))
    session = ort.InferenceSession(
        os.path.join(final, onnx_export.FILE), providers=["CPUExecutionProvider"]
    )
    images = np.random.default_rng(0).uniform(0, 255, (7, 224, 224, 3)).astype(np.float32)
    (probabilities,) = session.run(["probabilities"], {"images": images})
    want = _softmax(model.predict(images, verbose=0))
    np.testing.assert_allclose(probabilities, want, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(probabilities.argmax(1), want.argmax(1))
