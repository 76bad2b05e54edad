"""TFLite exports: float32 equals the Keras model, int8 agrees with it on the demo's
validation images (slow: the full-size network trained until it tells the shapes apart),
both interpreters run the file, evaluate reads it, and bad requests are refused."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from trainer import ENV, ROOT, SMALL_WIDTHS, run

from alexnet_tf import data
from alexnet_tf.core import constants
from alexnet_tf.inference import saving, tflite
from alexnet_tf.model import build_alexnet


def _export(model_dir, export_dir, quantize):
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.export", f"--model_dir={model_dir}",
         f"--export_dir={export_dir}", "--format=tflite", f"--quantize={quantize}"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.split()[1]


@pytest.fixture(scope="module")
def small_run(demo_records, tmp_path_factory):
    """A model directory of the small model (as training leaves one: best.keras,
    train_config.json naming its data, classes.json), and its two TFLite exports."""
    data_dir = demo_records(40, 10, train_shards=2, validation_shards=1)
    root = tmp_path_factory.mktemp("tflite")
    model_dir = root / "run"
    model_dir.mkdir()
    model = build_alexnet(6, tower_devices=None, init="he", seed=2, **SMALL_WIDTHS,
                          std_rgb=constants.IMAGENET_STD_RGB)  # fmt: skip
    model.save(model_dir / "best.keras")
    (model_dir / "train_config.json").write_text(json.dumps({"data_dir": data_dir}))
    (model_dir / "classes.json").write_text(json.dumps({"classes": list("abcdef")}))
    exports = {q: _export(model_dir, root / "exports" / "alexnet", q) for q in ("none", "int8")}
    return {"data_dir": data_dir, "model_dir": str(model_dir), "exports": exports}


def _validation(data_dir):
    batches = list(data.eval_dataset(data_dir, 64))
    return np.concatenate([x.numpy() for x, _ in batches]).astype(np.float32)


def _probabilities(model, images):
    logits = model.predict(images, verbose=0)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_float32_tflite_equals_keras_and_int8_is_a_quarter_of_it(small_run):
    model = saving.load_for_inference(os.path.join(small_run["model_dir"], "best.keras"))
    images = _validation(small_run["data_dir"])
    want = _probabilities(model, images)
    none, int8 = (tflite.Runner(small_run["exports"][q]) for q in ("none", "int8"))
    assert (none.quantize, int8.quantize) == ("none", "int8")
    got = none(images)
    assert np.abs(got.max(1) - want.max(1)).max() < 1e-4
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert int8(images).shape == got.shape  # int8's agreement: the slow test below
    assert (
        os.path.getsize(small_run["exports"]["int8"])
        < os.path.getsize(small_run["exports"]["none"]) / 3
    )
    # TensorFlow's own interpreter runs the same file to the same numbers.
    fallback = tflite.Runner(small_run["exports"]["none"], interpreter="tf.lite")
    assert fallback.interpreter_name == "tf.lite"
    np.testing.assert_allclose(fallback(images[:5]), got[:5], atol=1e-6)
    version = os.path.dirname(small_run["exports"]["int8"])
    record = json.load(open(os.path.join(version, "classes.json")))
    assert len(record["classes"]) == 6 and record["quantize"] == "int8"


def test_int8_keeps_the_lrn_in_float32_and_quantizes_the_rest(small_run):
    """The LRN's ops stay float32 in the int8 file (XNNPACK runs them; quantized, they
    split the graph and int8 ran at half float32's speed); convolutions are int8."""
    import tensorflow as tf

    details = tf.lite.Interpreter(small_run["exports"]["int8"]).get_tensor_details()
    # The LRN's own ops (its output's QUANTIZE, for the pooling after it, is int8).
    ops = ("Square", "Conv2D", "Rsqrt", "Sqrt")
    lrn = [d for d in details if "/lrn" in d["name"] and d["name"].endswith(ops)]
    assert {d["name"].split("/")[1].rstrip("_0123456789") for d in lrn} == {
        "lrn1a", "lrn1b", "lrn2a", "lrn2b"
    }  # fmt: skip
    assert all(d["dtype"] == np.float32 for d in lrn), [
        (d["name"], d["dtype"]) for d in lrn if d["dtype"] != np.float32
    ]
    convs = [d for d in details if "conv2a" in d["name"] and d["dtype"] == np.int8]
    assert convs, "conv2a is not int8"


@pytest.mark.slow  # two evaluate processes
def test_evaluate_tflite_writes_its_own_file_beside_the_keras_one(small_run):
    model_dir = small_run["model_dir"]
    for quantize, crops in (("none", "1"), ("int8", "10")):
        r = subprocess.run(
            [sys.executable, "-m", "alexnet_tf.evaluate", f"--model_dir={model_dir}",
             f"--tflite={small_run['exports'][quantize]}", f"--crops={crops}"],
            capture_output=True, text=True, env=ENV,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]
        result = json.load(
            open(os.path.join(model_dir, f"eval_validation_{crops}crop_tflite_{quantize}.json"))
        )
        assert result["num_examples"] == 60 and result["quantize"] == quantize
        assert len(result["views"]) == int(crops) and 0 <= result["top1_error"] <= 1
        assert result["interpreter"] == tflite.interpreter_name()


def test_bad_tflite_requests_are_refused_before_any_work(small_run, tmp_path):
    def export(*flags):
        return subprocess.run(
            [sys.executable, "-m", "alexnet_tf.export", f"--export_dir={tmp_path / 'e'}", *flags],
            capture_output=True, text=True, env=ENV,
        )  # fmt: skip

    lonely = tmp_path / "lonely"  # a model dir that names no training data
    lonely.mkdir()
    os.link(os.path.join(small_run["model_dir"], "best.keras"), lonely / "best.keras")
    r = export(f"--model_dir={lonely}", "--format=tflite", "--quantize=int8")
    assert r.returncode == 2 and "names no training data: pass --data_dir" in r.stderr
    r = export(f"--model_dir={lonely}", "--format=tflite", "--quantize=int8",
               f"--data_dir={tmp_path}")  # fmt: skip
    assert r.returncode == 2 and "No train shards" in r.stderr
    r = export(f"--model_dir={lonely}", "--format=tflite", "--mixed_precision=mixed_bfloat16")
    assert r.returncode == 2 and "does not combine with --format=tflite" in r.stderr
    r = export(f"--model_dir={lonely}", "--quantize=int8")
    assert r.returncode == 2 and "--quantize applies to --format=tflite only" in r.stderr
    r = export(f"--model_dir={lonely}", "--format=tflite", "--version=-1")
    assert r.returncode == 2 and "--version must be >= 1. Received: -1" in r.stderr
    assert not (tmp_path / "e").exists()
    with pytest.raises(tflite.TFLiteError, match="interpreter must be one of"):
        tflite.Runner(small_run["exports"]["none"], interpreter="tvm")


@pytest.mark.slow  # the README's demo run (3-7 min on 2 cores), then two exports
def test_int8_agrees_with_float32_on_the_demo_validation_images(tmp_path):
    """The demo model (configs/demo.flags on the demo data, as the README's first
    command trains it): its int8 flatbuffer picks the float32 one's top class for at
    least 95% of the demo's validation images."""
    from alexnet_tf.data import demo

    data_dir = demo.prepare_demo(str(tmp_path / "demo"), num_workers=1)["dir"]
    model_dir = str(tmp_path / "run")
    flagfile = os.path.join(ROOT, "configs", "demo.flags")
    cmd = [sys.executable, "-m", "alexnet_tf.train", f"--flagfile={flagfile}",
           f"--data_dir={data_dir}", f"--model_dir={model_dir}", "--verbose=2"]  # fmt: skip
    r = run(cmd)
    assert r.returncode == 0, r.stderr[-3000:]
    images = _validation(data_dir)
    labels = np.concatenate([y.numpy() for _, y in data.eval_dataset(data_dir, 64)])
    none = tflite.Runner(_export(model_dir, tmp_path / "e", "none"))(images)
    int8 = tflite.Runner(_export(model_dir, tmp_path / "e", "int8"))(images)
    assert np.mean(none.argmax(1) == labels) >= 0.9  # it has learned the shapes
    agree = np.mean(int8.argmax(1) == none.argmax(1))
    assert agree >= 0.95, agree


def test_benchmark_serve_times_a_runs_savedmodel_tflite_and_onnx_together(small_run, tmp_path):
    """One process, the same crops: the run's SavedModel in TF Serving's session, its
    .tflite and .onnx files, and the Keras model they came from."""
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.export", f"--model_dir={small_run['model_dir']}",
         f"--export_dir={tmp_path / 'onnx'}", "--format=onnx"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    onnx_file = r.stdout.split()[1]
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.benchmark", "serve",
         f"--tflite={small_run['exports']['int8']}", f"--onnx={onnx_file}", "--batch_size=2",
         "--steps=3", "--warmup_steps=1", "--mixed_precision=float32"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["quantize"] == "int8"
    assert result["interpreters"] == {"tflite": tflite.interpreter_name(), "onnx": "onnxruntime"}
    assert result["source"] == os.path.join(small_run["model_dir"], "best.keras")
    formats = {"savedmodel", "tflite", "onnx", "keras"}
    assert set(result["images_per_sec_by_format"]) == formats
    assert all(v > 0 for v in result["images_per_sec_by_format"].values())
    assert set(result["over_keras_batch1"]) == formats - {"keras"}
    assert "reproduce with: python -m alexnet_tf.benchmark serve --tflite=" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.benchmark", "train",
         f"--tflite={small_run['exports']['int8']}"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 2 and "--tflite applies to serve only" in r.stderr
    other = tmp_path / "other" / "1"
    other.mkdir(parents=True)
    (other / "model.onnx").write_bytes(b"")
    (other / "classes.json").write_text(json.dumps({"source": "/elsewhere/best.keras"}))
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.benchmark", "serve",
         f"--tflite={small_run['exports']['int8']}", f"--onnx={other / 'model.onnx'}"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 2 and "must come from one" in r.stderr, r.stderr[-2000:]
    assert "/elsewhere/best.keras" in r.stderr and "Traceback" not in r.stderr
