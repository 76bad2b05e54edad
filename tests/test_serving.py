"""Export for TF Serving, evaluation and prediction."""

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import prediction_log_pb2
from trainer import SMALL_WIDTHS

from alexnet_tf import data
from alexnet_tf.core import constants
from alexnet_tf.core.rundir import ExportBase
from alexnet_tf.data import augment, demo
from alexnet_tf.data.views import view_names
from alexnet_tf.inference import export
from alexnet_tf.inference.evaluate import evaluate
from alexnet_tf.inference.serving import explain
from alexnet_tf.inference.session import SessionModel
from alexnet_tf.model import build_alexnet

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def trained(module_tmp, demo_records):
    """A model_dir as training leaves it (towers pinned to two CPUs; the small model of
    the same class), and its data."""
    root = module_tmp
    data_dir = demo_records(2, 2, train_shards=1, validation_shards=1)
    model_dir = root / "run"
    model_dir.mkdir()
    model = build_alexnet(
        6,
        tower_devices=("/CPU:0", "/CPU:1"),
        init="he",
        std_rgb=constants.IMAGENET_STD_RGB,
        seed=1,
        **SMALL_WIDTHS,  # the serving graph is the subject here
    )
    model.save(model_dir / "best.keras")
    (model_dir / "train_config.json").write_text(json.dumps({"data_dir": data_dir}))
    export_dir = str(root / "exports" / "alexnet")
    version_dir = export.export(str(model_dir), export_dir)
    return {
        "model": model,
        "model_dir": str(model_dir),
        "data_dir": data_dir,
        "export_dir": export_dir,
        "version_dir": version_dir,
    }


def _jpeg(seed, size=(300, 260)):
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _png(seed):
    buf = io.BytesIO()
    Image.new("RGB", (200, 240), (seed * 40, 30, 90)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def serve(trained):
    """serving_default through TF2's object loader (tf.saved_model.load)."""
    return tf.saved_model.load(trained["version_dir"]).signatures["serving_default"]


@pytest.fixture(scope="module")
def session(trained):
    """The export loaded as TF Serving loads it: a TF1 session, signatures by tensor name."""
    with SessionModel(trained["version_dir"]) as loaded:
        yield loaded


def _keras_probabilities(model, image_bytes):
    """The Keras model's probabilities on the centre crops serving_default makes."""
    crops = tf.stack([augment.decode_crop(b, augment.CENTRE_OFFSET) for b in image_bytes])
    return tf.nn.softmax(model(crops, training=False)).numpy()


def _demo_names():
    return {c: demo.NAMES[c] for c in demo.CLASSES}


def test_layout_tf_serving_watches(trained, tmp_path):
    v = trained["version_dir"]
    assert os.path.basename(v) == "1"
    for rel in (
        "saved_model.pb",
        "variables",
        "assets/class_ids.txt",
        "assets/class_names.txt",
        "assets.extra/tf_serving_warmup_requests",
    ):
        assert os.path.exists(os.path.join(v, rel)), rel
    ids = open(os.path.join(v, "assets", "class_ids.txt")).read().split()
    assert ids == sorted(demo.CLASSES)
    assert ExportBase(trained["export_dir"]).next_version() == 2
    with pytest.raises(FileExistsError, match="never overwritten"):
        export.export(trained["model_dir"], trained["export_dir"], version=1)
    assert not [d for d in os.listdir(trained["export_dir"]) if d.startswith(".tmp")]


def _assert_top5_named(out):
    """classes are the top 5 of probabilities, scores fall, ids and names agree."""
    probs = np.asarray(out["probabilities"])
    np.testing.assert_array_equal(out["classes"], np.argsort(-probs, axis=1)[:, :5])
    assert np.all(np.diff(np.asarray(out["scores"]), axis=1) <= 0)
    names = _demo_names()
    for ids, nms in zip(np.asarray(out["class_ids"]), np.asarray(out["class_names"]), strict=True):
        assert [names[i.decode()] for i in ids] == [n.decode() for n in nms]


def test_serving_default_matches_the_keras_model_on_the_centre_crop(trained, serve):
    images = [_jpeg(0), _jpeg(1, (256, 256)), _png(2)]
    out = {k: v.numpy() for k, v in serve(image_bytes=tf.constant(images)).items()}
    want = _keras_probabilities(trained["model"], images)
    np.testing.assert_allclose(out["probabilities"], want, rtol=1e-4, atol=1e-6)
    _assert_top5_named(out)
    one = serve(image_bytes=tf.constant(images[:1]))  # batch of 1
    np.testing.assert_allclose(one["probabilities"].numpy(), out["probabilities"][:1], rtol=1e-5)


def test_session_loader_serving_default_equals_the_keras_model(trained, session):
    """TF Serving's route: the MetaGraph's restore and init ops in a session, then the
    signature's tensors by name (a module saved by tf.saved_model.save failed here with
    "Could not find variable")."""
    sig = session.signature("serving_default")
    assert set(sig.inputs) == {"image_bytes"}
    assert set(sig.outputs) == {"probabilities", "classes", "scores", "class_ids", "class_names"}
    images = [_jpeg(0), _jpeg(1, (256, 256)), _png(2)]
    for batch in (images[:1], images):
        out = session.run("serving_default", {"image_bytes": np.array(batch, dtype=object)})
        want = _keras_probabilities(trained["model"], batch)
        np.testing.assert_allclose(out["probabilities"], want, rtol=0, atol=1e-5)
        _assert_top5_named(out)


def test_session_loader_predict_images_equals_the_keras_model(trained, session):
    x = np.random.default_rng(4).uniform(0, 255, (3, 224, 224, 3)).astype(np.float32)
    out = session.run("predict_images", {"images": x}, ["probabilities", "class_ids"])
    assert set(out) == {"probabilities", "class_ids"}
    want = tf.nn.softmax(trained["model"](x, training=False)).numpy()
    np.testing.assert_allclose(out["probabilities"], want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["empty", "gif", "truncated_jpeg", "huge_png"])
def test_session_loader_refuses_bad_images_with_invalid_argument(session, kind):
    payload = _bad_payload(kind)
    with pytest.raises(tf.errors.InvalidArgumentError, match=BAD[kind][1]):
        session.run("serving_default", {"image_bytes": np.array([payload], dtype=object)})
    out = session.run("serving_default", {"image_bytes": np.array([_jpeg(0)], dtype=object)})
    assert out["probabilities"].shape == (1, 6)  # and the session serves on


def test_warmup_requests_replay_in_the_session_loader(trained, session):
    """Each PredictionLog fed by its signature's tensor names, as TF Serving replays
    them when it loads the version."""
    path = os.path.join(trained["version_dir"], "assets.extra", "tf_serving_warmup_requests")
    outputs = session.replay_warmup(path)
    assert [len(o["probabilities"]) for o in outputs] == [1, 8]
    for out in outputs:
        np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)


def test_saved_model_cli_runs_serving_default(trained, tmp_path):
    """The check the README gives before deploying, run as a user runs it."""
    images = [_jpeg(0), _png(2)]
    np.save(tmp_path / "images.npy", np.array(images, dtype=object), allow_pickle=True)
    cli = shutil.which("saved_model_cli")
    assert cli, "saved_model_cli (installed with tensorflow) is not on PATH"
    r = subprocess.run(
        [cli, "run", "--dir", trained["version_dir"], "--tag_set", "serve",
         "--signature_def", "serving_default",
         "--inputs", f"image_bytes={tmp_path / 'images.npy'}", "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    got = np.load(tmp_path / "out" / "probabilities.npy")
    want = _keras_probabilities(trained["model"], images)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_an_export_its_server_cannot_run_is_never_put_in_place(trained, tmp_path, monkeypatch):
    """Written the way Keras 3 users often do (tf.saved_model.save of a tf.Module holding
    the model), a SavedModel loads in tf.saved_model.load but not in TF Serving's session;
    export's own check refuses it, and no version appears."""
    from alexnet_tf.inference.serving import ServingModule

    def module_route(self, path):
        holder = tf.Module()
        holder.model = self.model
        holder.tables = [self.ids_table, self.names_table]
        signatures = {
            name: tf.function(fn, input_signature=[spec])
            for name, (fn, spec) in self.endpoints.items()
        }
        tf.saved_model.save(holder, path, signatures=signatures)

    monkeypatch.setattr(ServingModule, "save", module_route)
    base = tmp_path / "exports" / "alexnet"
    with pytest.raises(export.ExportError, match="Could not find variable") as e:
        export.export(trained["model_dir"], str(base))
    assert "session loader TF Serving uses" in str(e.value)
    assert os.listdir(base) == []


def test_bf16_export_takes_bytes_and_returns_float32_probabilities(trained, tmp_path):
    base = str(tmp_path / "exports" / "bf16")
    version = export.export(trained["model_dir"], base, policy="mixed_bfloat16")
    raw = open(os.path.join(version, "saved_model.pb"), "rb").read()
    graph = saved_model_pb2.SavedModel.FromString(raw).meta_graphs[0].graph_def
    convs = [n for f in graph.library.function for n in f.node_def if n.op == "Conv2D"]
    in_bf16 = [n for n in convs if n.attr["T"].type == tf.bfloat16.as_datatype_enum]
    assert len(in_bf16) >= 10  # conv1-5 of both towers (the LRN's band sums are float32)
    serve = tf.saved_model.load(version).signatures["serving_default"]
    images = tf.constant([_jpeg(0), _jpeg(1, (256, 256)), _png(2)])
    out = serve(image_bytes=images)["probabilities"]
    assert out.dtype == tf.float32
    want = tf.saved_model.load(trained["version_dir"]).signatures["serving_default"](
        image_bytes=images
    )["probabilities"]
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out.numpy(), want.numpy(), atol=0.02)  # bfloat16's rounding
    # TF Serving's route gives the same answers as the object loader, signature by signature.
    x = np.random.default_rng(4).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    objects = tf.saved_model.load(version).signatures
    with SessionModel(version) as loaded:
        got = loaded.run("serving_default", {"image_bytes": images.numpy()})["probabilities"]
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, out.numpy(), rtol=0, atol=1e-5)
        got = loaded.run("predict_images", {"images": x})["probabilities"]
        want = objects["predict_images"](images=tf.constant(x))["probabilities"].numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
        assert len(loaded.replay_warmup(os.path.join(version, "assets.extra", ExportBase.WARMUP)))
    with pytest.raises(ValueError, match="--mixed_precision must be one of float32"):
        export.export(trained["model_dir"], base, policy="mixed_float16")


def test_float_signature(trained):
    fn = tf.saved_model.load(trained["version_dir"]).signatures["predict_images"]
    x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    want = tf.nn.softmax(trained["model"](x, training=False)).numpy()
    np.testing.assert_allclose(
        fn(images=tf.constant(x))["probabilities"], want, rtol=1e-4, atol=1e-6
    )


def _png_claiming(width, height):
    """A PNG signature and IHDR claiming width x height, and nothing after."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + ihdr + b"\x00" * 4


def _gif():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "GIF")
    return buf.getvalue()


BAD = {
    "empty": (b"", "empty image bytes"),
    "random": (bytes(range(256)) * 4, "not a JPEG or PNG"),
    "gif": (None, "not a JPEG or PNG"),
    "truncated_jpeg": (None, "Invalid JPEG data"),
    "truncated_png": (None, "Invalid PNG data"),
    "huge_png": (_png_claiming(100_000, 100_000), "more than 40000000 pixels"),
}


def _bad_payload(kind):
    payload = BAD[kind][0]
    if payload is not None:
        return payload
    return {
        "gif": _gif,
        "truncated_jpeg": lambda: _jpeg(3)[:400],
        "truncated_png": lambda: _png(1)[:60],
    }[kind]()


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_requests_raise_invalid_argument(serve, kind):
    payload, message = _bad_payload(kind), BAD[kind][1]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        serve(image_bytes=tf.constant([payload]))
    with pytest.raises(tf.errors.InvalidArgumentError):  # a bad image fails its batch
        serve(image_bytes=tf.constant([_jpeg(0), payload]))
    out = serve(image_bytes=tf.constant([_jpeg(0)]))  # and the server goes on
    assert out["probabilities"].shape == (1, 6)


def test_export_has_no_device_pinning_and_no_absolute_paths(trained):
    raw = open(os.path.join(trained["version_dir"], "saved_model.pb"), "rb").read()
    sm = saved_model_pb2.SavedModel.FromString(raw)
    graph = sm.meta_graphs[0].graph_def
    functions = graph.library.function
    # TF pins its own checkpoint save/restore functions to CPU:0 in every SavedModel;
    # every op of the model and the serving signatures must carry no device.
    saver = ("_traced_save", "_traced_restore")
    serving = [
        n for f in functions if not any(s in f.signature.name for s in saver) for n in f.node_def
    ]
    assert len(serving) > 100 and not [n.name for n in serving if n.device]
    everything = list(graph.node) + [n for f in functions for n in f.node_def]
    assert not [n.device for n in everything if "CPU:1" in n.device or "GPU" in n.device]
    for path in (trained["model_dir"], trained["data_dir"], "/tmp/alexnet_classes_"):
        assert path.encode() not in raw


def test_warmup_file_holds_prediction_logs(trained):
    path = os.path.join(trained["version_dir"], "assets.extra", "tf_serving_warmup_requests")
    logs = [
        prediction_log_pb2.PredictionLog.FromString(r.numpy())
        for r in tf.data.TFRecordDataset(path)
    ]
    assert 1 <= len(logs) <= 1000
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.signature_name == "serving_default"
        images = tf.make_ndarray(request.inputs["image_bytes"])
        assert tf.io.is_jpeg(images[0]).numpy()


def test_evaluate_counts_every_example_and_ten_crops_of_a_constant_image(trained):
    ds = data.eval_dataset(trained["data_dir"], batch_size=5)  # 12 images: 5, 5, 2
    result = evaluate(trained["model"], ds, crops=1, per_class=True)
    assert result["num_examples"] == 12
    assert 0 <= result["top1_error"] <= 1 and result["top5_error"] <= result["top1_error"]
    assert len(result["per_class_accuracy"]) == 6
    constant = tf.fill((2, 256, 256, 3), tf.constant(90, tf.uint8))
    ten = tf.stack([augment.ten_crop(c) for c in constant])
    one = constant[:, 16:240, 16:240]
    labels = tf.constant([0, 3])
    r10 = evaluate(trained["model"], [(ten, labels)], crops=10)
    r1 = evaluate(trained["model"], [(one, labels)], crops=1)
    assert r10 == {**r1, "crops": 10, "views": list(view_names(10))}


@pytest.mark.slow  # 16 s on 2 cores: the default run stays within 12 min
def test_features_signature_and_command_equal_the_feature_extractor(trained, tmp_path):
    """export --features: a `features` signature beside the unchanged ones; the features
    command writes the same fc7 values for files, and names the file it could not use."""
    from alexnet_tf.applications import feature_extractor
    from alexnet_tf.inference.serving import decode_request

    version = export.export(trained["model_dir"], str(tmp_path / "exp" / "alexnet"), features=True)
    loaded = tf.saved_model.load(version)
    assert set(loaded.signatures) == {"serving_default", "predict_images", "features"}
    jpegs = [_jpeg(1), _jpeg(2, size=(400, 300)), _png(3)]
    got = loaded.signatures["features"](image_bytes=tf.constant(jpegs))["features"].numpy()
    extractor = feature_extractor(trained["model"], "fc7")
    crops = np.stack([decode_request(tf.constant(b)).numpy() for b in jpegs])
    want = extractor(crops.astype("float32"), training=False).numpy()
    assert got.shape == (3, 2 * SMALL_WIDTHS["fc_units"])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    with SessionModel(version) as loaded:  # TF Serving's route
        assert set(loaded.signatures) == {"serving_default", "predict_images", "features"}
        fed = loaded.run("features", {"image_bytes": np.array(jpegs, dtype=object)})
        np.testing.assert_allclose(fed["features"], want, rtol=1e-4, atol=1e-5)
        probs = loaded.run("serving_default", {"image_bytes": np.array(jpegs, dtype=object)})
        want_probs = _keras_probabilities(trained["model"], jpegs)
        np.testing.assert_allclose(probs["probabilities"], want_probs, rtol=0, atol=1e-5)
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(jpegs[0])
    (folder / "sub" / "b.png").write_bytes(jpegs[2])
    (folder / "sub" / "broken.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("skipped: not an image name")
    extra = tmp_path / "c.jpg"
    extra.write_bytes(jpegs[1])
    out = tmp_path / "f.npz"
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.features", f"--model_dir={trained['model_dir']}",
         str(folder), str(extra), f"--out={out}", "--batch_size=2", "--noprogress",
         "--mixed_precision=float32"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 1, r.stderr[-2000:]  # one file failed; the others are written
    assert "broken.jpg: error: not a JPEG or PNG image" in r.stderr
    assert f"wrote 3 fc7 features of {2 * SMALL_WIDTHS['fc_units']} values" in r.stdout
    saved = np.load(out)
    names = [os.path.basename(p) for p in saved["paths"]]
    assert names == ["a.jpg", "b.png", "c.jpg"] and str(saved["layer"]) == "fc7"
    np.testing.assert_allclose(saved["features"], want[[0, 2, 1]], rtol=1e-4, atol=1e-5)
    assert [os.path.basename(p) for p, _ in saved["failed"]] == ["broken.jpg"]
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.features", f"--model_dir={trained['model_dir']}",
         str(folder), f"--out={out}"],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip
    assert r.returncode == 2 and f"--out={out} exists" in r.stderr


def _evaluate_cli(model_dir, *flags):
    return subprocess.run(
        [sys.executable, "-m", "alexnet_tf.evaluate", f"--model_dir={model_dir}",
         "--batch_size=6", "--mixed_precision=float32", *flags],
        capture_output=True, text=True, env=ENV,
    )  # fmt: skip


def test_a_model_trained_without_reflections_is_evaluated_without_them(trained, tmp_path):
    """train_config.json's flip=false: --crops=10 averages the five unreflected patches
    (recorded by name), and --crops=2, the centre and its reflection, is refused."""
    run = tmp_path / "noflip"
    run.mkdir()
    (run / "best.keras").symlink_to(os.path.join(trained["model_dir"], "best.keras"))
    (run / "train_config.json").write_text(
        json.dumps({"data_dir": trained["data_dir"], "flip": False})
    )
    r = _evaluate_cli(run, "--crops=2")
    assert r.returncode == 2 and "--crops=2 is the centre and its reflection" in r.stderr
    assert "use crops=1 or crops=10" in r.stderr and "Traceback" not in r.stderr
    r = _evaluate_cli(run, "--crops=10")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "5 view(s), 12 images" in r.stdout
    result = json.load(open(run / "eval_validation_10crop.json"))
    assert result["crops"] == 10 and result["num_examples"] == 12
    assert result["views"] == ["top_left", "top_right", "bottom_left", "bottom_right", "centre"]


def test_evaluate_and_predict_clis(trained, tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "alexnet_tf.evaluate",
            f"--model_dir={trained['model_dir']}",
            "--crops=10",
            "--batch_size=5",
            "--mixed_precision=float32",
        ],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.load(open(os.path.join(trained["model_dir"], "eval_validation_10crop.json")))
    assert set(result) == {
        "top1_error", "top5_error", "num_examples", "crops", "views", "checkpoint",
        "mixed_precision", "deterministic",
    }  # fmt: skip
    assert result["deterministic"] is False
    assert result["num_examples"] == 12 and result["crops"] == 10
    assert result["views"] == list(view_names(10))
    assert result["mixed_precision"] == "float32"
    good, bad = tmp_path / "a.jpg", tmp_path / "b.jpg"
    good.write_bytes(_jpeg(5))
    bad.write_text("not an image")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "alexnet_tf.predict",
            f"--model={trained['export_dir']}",
            "--json",
            str(good),
            str(bad),
        ],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert [o["file"] for o in out] == [str(good), str(bad)]
    assert len(out[0]["predictions"]) == 5 and "not a JPEG or PNG" in out[1]["error"]
    total = sum(p["probability"] for p in out[0]["predictions"])
    assert 0 < total <= 1.0001


def _jpeg_claiming(height, width):
    """A real JPEG whose SOF0 header is rewritten to claim height x width."""
    raw = bytearray(_jpeg(7, (64, 48)))
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(raw)


def _fuzz_cases():
    """(name, bytes): random, truncated, corrupted, empty, other formats, huge claims."""
    rng = np.random.default_rng(2012)
    jpeg, png = _jpeg(11), _png(3)
    cases = [("empty", b""), ("gif", _gif()), ("one_byte", b"\xff")]
    for fmt in ("BMP", "WEBP", "TIFF"):
        buf = io.BytesIO()
        Image.new("RGB", (40, 30)).save(buf, fmt)
        cases.append((fmt.lower(), buf.getvalue()))
    for i in range(15):
        noise = rng.bytes(int(rng.integers(1, 5000)))
        cases += [(f"random{i}", noise), (f"jpeg_magic_noise{i}", b"\xff\xd8\xff" + noise)]
        cases.append((f"png_magic_noise{i}", PNG_SIGNATURE + noise))
    for i in range(15):
        cases.append((f"jpeg_cut{i}", jpeg[: int(rng.integers(1, len(jpeg) - 2))]))
        cases.append((f"png_cut{i}", png[: int(rng.integers(1, len(png) - 1))]))
    for i in range(20):
        for name, good in (("jpeg", jpeg), ("png", png)):
            raw = bytearray(good)
            for at in rng.integers(0, len(raw), int(rng.integers(1, 12))):
                raw[at] ^= int(rng.integers(1, 256))
            cases.append((f"{name}_flipped{i}", bytes(raw)))
    cases += [
        ("png_claims_1e10", _png_claiming(100_000, 100_000)),
        ("png_claims_zero", _png_claiming(0, 500)),
        ("png_claims_2e9_wide", _png_claiming(2**31 - 1, 1)),
        ("jpeg_claims_65535_square", _jpeg_claiming(65535, 65535)),
        ("jpeg_claims_zero_height", _jpeg_claiming(0, 64)),
    ]
    return cases


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Refused whatever the decoder build: no JPEG/PNG signature, or a header out of range.
MUST_FAIL = ("empty", "gif", "one_byte", "bmp", "webp", "tiff", "random", "png_claims")
MUST_FAIL += ("jpeg_claims",)


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_fuzzed_requests_get_an_error_or_a_prediction_and_nothing_crashes(serve):
    """Every input either raises InvalidArgumentError with a reason, or (damage the JPEG
    decoder tolerates) gets a well-formed prediction; memory stays flat."""
    cases = _fuzz_cases()
    good = _jpeg(0)
    alone_good = serve(image_bytes=tf.constant([good]))["probabilities"].numpy()
    serve(image_bytes=tf.constant([good, good]))  # trace both batch sizes before measuring
    before = _rss_mb()
    outcomes = {"error": 0, "prediction": 0}
    for name, payload in cases:
        try:
            out = serve(image_bytes=tf.constant([payload]))
        except tf.errors.InvalidArgumentError as e:
            assert explain(e).strip(), name
            outcomes["error"] += 1
            # The whole batch fails with it (documented), and the next request is served.
            with pytest.raises(tf.errors.InvalidArgumentError):
                serve(image_bytes=tf.constant([good, payload]))
        else:
            probs = out["probabilities"].numpy()
            assert probs.shape == (1, 6) and np.all(np.isfinite(probs)), name
            assert abs(probs.sum() - 1) < 1e-4, name
            outcomes["prediction"] += 1
            # What a decoder may tolerate differs between builds, but an accepted input is
            # always a JPEG or PNG by its signature, and never one the header check refuses
            # (another format, no image at all, a size out of range).
            assert payload.startswith((b"\xff\xd8", PNG_SIGNATURE)), name
            assert not name.startswith(MUST_FAIL), name
            mixed = serve(image_bytes=tf.constant([good, payload]))["probabilities"].numpy()
            np.testing.assert_allclose(mixed[0], alone_good[0], rtol=1e-4, atol=1e-6)
    grown = _rss_mb() - before
    print(f"fuzz: {len(cases)} inputs, {outcomes}, RSS grew {grown:.0f} MB")
    assert outcomes["error"] >= 100 and sum(outcomes.values()) == len(cases)
    assert grown < 300, grown


def test_predict_reports_each_bad_file_and_predicts_the_good_ones(trained, tmp_path):
    cases = _fuzz_cases()[::6]  # a spread of every kind
    paths = []
    for name, payload in cases:
        path = tmp_path / f"{name}.img"
        path.write_bytes(payload)
        paths.append(str(path))
    good = tmp_path / "good.jpg"
    good.write_bytes(_jpeg(5))
    (tmp_path / "a_dir").mkdir()
    paths += [str(good), str(tmp_path / "missing.jpg"), str(tmp_path / "a_dir")]
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.predict", f"--model={trained['export_dir']}", "--json"]
        + paths,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert r.returncode == 1, r.stderr[-3000:]
    out = {o["file"]: o for o in json.loads(r.stdout)}
    assert list(out) == paths  # every file answered, in order
    assert len(out[str(good)]["predictions"]) == 5
    assert "cannot read" in out[str(tmp_path / "missing.jpg")]["error"]
    assert "cannot read" in out[str(tmp_path / "a_dir")]["error"]
    errors = [o for o in out.values() if "error" in o]
    assert len(errors) >= len(cases) // 2
    for o in errors:
        assert o["error"].strip() and "Traceback" not in o["error"]


def test_a_model_file_with_code_is_refused_and_its_code_never_runs(trained, tmp_path):
    import keras

    marker = tmp_path / "code_ran"
    where = str(marker)
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: (open(where, "w").close(), x)[1], output_shape=(4,))(
        inputs
    )
    evil = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(evil)
    marker.unlink(missing_ok=True)  # tracing at save time ran it once; start clean
    from alexnet_tf.inference import saving

    with pytest.raises(ValueError, match="holds a 'Functional' model, not an alexnet_tf"):
        saving.load_for_inference(str(evil))
    for module, flags in (
        ("alexnet_tf.evaluate", [f"--model_dir={trained['model_dir']}"]),
        ("alexnet_tf.export", [f"--model_dir={trained['model_dir']}",
                               f"--export_dir={tmp_path / 'exports' / 'x'}"]),
        ("alexnet_tf.predict", [f"--model={trained['model_dir']}", str(evil)]),
    ):  # fmt: skip
        r = subprocess.run(
            [sys.executable, "-m", module, *flags, f"--checkpoint={evil}"],
            capture_output=True,
            text=True,
            env=ENV,
        )
        assert r.returncode == 2, (module, r.stderr[-2000:])
        assert "not an alexnet_tf AlexNet; refusing to load it" in r.stderr, module
    assert not marker.exists()
    assert not (tmp_path / "exports" / "x").exists()
    # Our own files load with Keras' safe_mode too.
    keras.models.load_model(os.path.join(trained["model_dir"], "best.keras"), safe_mode=True)
