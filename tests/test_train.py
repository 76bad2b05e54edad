"""Training: the CLI end to end, resume after kill -9, the paper's update rule, mixed
precision, towers, multi-worker, NaN stop, and bad flags."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from trainer import ENV, FAULT_TRAIN, SMALL_WIDTHS, run, train_cmd

from alexnet_tf.model import build_alexnet
from alexnet_tf.model.optimizer import PaperSGD


@pytest.fixture(scope="module")
def small_data(demo_records):
    """The demo's six classes, 4 train and 2 validation images each, as TFRecords."""
    return demo_records(4, 2)


def _history(model_dir):
    with open(os.path.join(model_dir, "history.json")) as f:
        return json.load(f)


def test_cli_short_run_writes_checkpoints_history_and_logs(small_data, tmp_path):
    """The real, full-size model end to end through the train command."""
    model_dir = str(tmp_path / "run")
    r = run(
        train_cmd(
            small_data,
            model_dir,
            "--epochs=2",
            "--steps_per_epoch=2",
            "--backup_every_steps=1",
            full_size=True,
        ),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    files = set(os.listdir(model_dir))
    assert {
        "train_config.json",
        "history.json",
        "history.csv",
        "latest.keras",
        "best.keras",
        "best.json",
        "backup",
        "logs",
    } <= files
    hist = _history(model_dir)
    assert [h["epoch"] for h in hist] == [0, 1]
    for key in (
        "loss",
        "top1_error",
        "top5_error",
        "val_top1_error",
        "val_top5_error",
        "learning_rate",
    ):
        assert all(np.isfinite(h[key]) for h in hist), key
    assert all(0 < h["steps_seconds"] < h["epoch_seconds"] for h in hist)  # validation after
    assert open(os.path.join(model_dir, "history.csv")).read().startswith("epoch,")
    config = json.load(open(os.path.join(model_dir, "train_config.json")))
    assert config["batch_size"] == 4 and config["init"] == "he"
    latest = keras.models.load_model(os.path.join(model_dir, "latest.keras"), safe_mode=True)
    assert latest.count_params() == 60_965_224 - 4097 * 994  # fc8 has 6 classes
    _assert_tensorboard_shows(os.path.join(model_dir, "logs"), hist, latest)
    assert _backup_step(model_dir) == 4  # backups are numbered by optimizer step


def _assert_tensorboard_shows(log_dir, hist, model):
    """What `tensorboard --logdir` shows, read by TensorBoard's own event reader: the
    epoch curves of train and validation equal history.json, and conv1's kernels are an
    image per epoch of the filter grid's size."""
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    from alexnet_tf.model import filters

    mux = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={"scalars": 0, "images": 0}
    )
    mux.AddRunsFromDirectory(log_dir)
    mux.Reload()

    def curve(name, tag):
        return [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in mux.Tensors(name, tag)]

    scalars = mux.PluginRunToTagToContent("scalars")
    for name, tag, key in (
        ("train", "epoch_loss", "loss"),
        ("train", "epoch_top5_error", "top5_error"),
        ("validation", "epoch_top1_error", "val_top1_error"),
    ):
        assert tag in scalars[name], (name, sorted(scalars[name]))
        want = [(h["epoch"], h[key]) for h in hist]
        np.testing.assert_allclose(curve(name, tag), want, rtol=1e-6)
    assert "conv1_kernels" in mux.PluginRunToTagToContent("images")["filters"]
    pictures = mux.Tensors("filters", "conv1_kernels")
    assert [e.step for e in pictures] == [h["epoch"] for h in hist]
    width, height, png = tf.make_ndarray(pictures[-1].tensor_proto)
    grid = filters.filter_grid(model, scale=3)  # the last epoch's model: the same picture
    assert grid.shape == (int(height), int(width), 3)
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), grid)


def _backup_step(model_dir):
    path = tf.train.latest_checkpoint(os.path.join(model_dir, "backup"))
    return int(path.rsplit("-", 1)[1]) if path else 0


def _assert_finished_whole(model_dir, steps):
    """The run ended at `steps` steps with every epoch once, loadable files, no debris."""
    assert _backup_step(model_dir) == steps  # the same total as an uninterrupted run
    assert [h["epoch"] for h in _history(model_dir)] == [0, 1, 2]  # none repeated or lost
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, "backup"))
    for path in state.all_model_checkpoint_paths:
        reader = tf.train.load_checkpoint(path)
        assert len([n for n in reader.get_variable_to_shape_map() if "_trainable_" in n]) == 30
    for name in ("latest.keras", "best.keras"):
        keras.models.load_model(os.path.join(model_dir, name), safe_mode=True)
    debris = [
        os.path.join(d, f)
        for d, dirs, fs in os.walk(model_dir)
        for f in fs + dirs
        if ".tmp-" in f or f.endswith("_temp")
    ]
    assert not debris, debris


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_killed_at_six_moments_the_run_resumes_and_ends_whole(small_data, tmp_path):
    """kill -9 mid-epoch, during validation, twice while a backup is written, while
    latest.keras and history.json are written; each rerun of the same command resumes,
    and the seventh finishes."""
    model_dir = str(tmp_path / "run")
    flags = train_cmd(
        small_data, model_dir, "--epochs=3", "--steps_per_epoch=3", "--backup_every_steps=2"
    )[3:]
    faults = [
        ("after_step:2", None),
        ("validation:0", 2),  # epoch 0's step 3 was not backed up: redone
        ("backup_temp:4", 2),
        ("backup_write:6", 3),  # the half-written backup 4 is not used: 3 is the newest
        ("model_write:1", 4),  # the torn backup 6 is not used: 4 is the newest whole one
        ("history_write:2", 4),  # killed at epoch 1's end, before its backup (step 6)
    ]
    for fault, resumed_at in faults:
        r = run([sys.executable, FAULT_TRAIN, fault, "--", *flags])
        assert r.returncode == -signal.SIGKILL, (fault, r.returncode, r.stderr[-3000:])
        if resumed_at is not None:
            assert f"Resuming at step {resumed_at}:" in r.stderr, (fault, r.stderr[-3000:])
    r = run([sys.executable, "-m", "alexnet_tf.train", *flags])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Resuming at step 8:" in r.stderr
    _assert_finished_whole(model_dir, 9)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(4))
def test_resume_after_kill_9_at_a_random_moment(small_data, tmp_path, trial):
    model_dir = str(tmp_path / "run")
    cmd = train_cmd(
        small_data, model_dir, "--epochs=3", "--steps_per_epoch=4", "--backup_every_steps=1"
    )
    delay = np.random.default_rng(trial).uniform(0.5, 6.0)  # seconds after the first backup
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 240
    while _backup_step(model_dir) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _backup_step(model_dir)
    r = run(cmd)
    assert r.returncode == 0, r.stderr[-3000:]
    if 0 < killed_at < 12:
        assert f"Resuming at step {killed_at}" in r.stderr
    _assert_finished_whole(model_dir, 12)


@pytest.mark.parametrize("fused", [True, False], ids=["xla", "tf_ops"])
def test_paper_weight_decay_rule_over_two_steps_and_a_rate_change(fused):
    """PaperSGD is section 5's rule, v <- 0.9 v - 0.0005 lr w - lr g; w <- w + v, kernels
    decayed and biases not; the rate dropping between steps scales only the new term.
    Both forms of the update: one XLA pass per variable, and TF's ops."""
    keras.utils.set_random_seed(0)
    rates, wd, mom = (0.01, 0.001), 5e-4, 0.9
    model = build_alexnet(3, tower_devices=None, dropout=0.0, pca_std=0)
    x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    y = np.array([0, 2])
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=PaperSGD(rates[0], momentum=mom, kernel_decay=wd, fused=fused), loss=ce)
    watched = [v for n in ("conv1a", "conv3b", "fc6a", "fc8") for v in model.get_layer(n).weights]
    w = [v.numpy().astype(np.float64) for v in watched]
    velocity = [np.zeros_like(a) for a in w]
    for lr in rates:
        model.optimizer.learning_rate.assign(lr)
        with tf.GradientTape() as tape:
            data_loss = ce(y, model(x, training=True))  # the loss holds the data term only
        grads = tape.gradient(data_loss, watched)
        model.train_on_batch(x, y)
        for k, (var, grad) in enumerate(zip(watched, grads, strict=True)):
            decay = wd if var.name == "kernel" else 0.0  # as Caffe: weights, not biases
            velocity[k] = mom * velocity[k] - decay * lr * w[k] - lr * grad.numpy()
            w[k] = w[k] + velocity[k]
            np.testing.assert_allclose(var.numpy(), w[k], rtol=1e-4, atol=1e-7)


@pytest.mark.quick
def test_each_optimizer_updates_its_own_models_variables_after_another_is_deleted():
    """The XLA update is compiled per optimizer: a second model's step leaves the first
    model's variables alone, and a third model trains after the first is deleted (a trace
    shared by the process kept the first model's variables and then failed). The kernel
    has 2**20 values, the least that takes the XLA update."""
    import gc

    def make():
        inputs = keras.Input((1024,))
        model = keras.Model(inputs, keras.layers.Dense(1024)(inputs))
        model.compile(optimizer=PaperSGD(0.1, momentum=0.9), loss="mse")
        return model

    x, y = np.ones((2, 1024), np.float32), np.zeros((2, 1024), np.float32)
    first, second = make(), make()
    first.train_on_batch(x, y)
    kept = first.layers[1].kernel.numpy().copy()
    before = second.layers[1].kernel.numpy().copy()
    second.train_on_batch(x, y)
    np.testing.assert_array_equal(first.layers[1].kernel.numpy(), kept)
    assert not np.allclose(second.layers[1].kernel.numpy(), before)
    del first
    gc.collect()
    third = make()
    third.train_on_batch(x, y)
    assert np.isfinite(third.layers[1].kernel.numpy()).all()


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_logits(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build_alexnet(4, tower_devices=None, init="he", std_rgb=(58.0, 57.0, 57.0))
        model.compile(
            optimizer=keras.optimizers.SGD(1e-3, momentum=0.9),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=False,
        )
        x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
        loss = model.train_on_batch(x, np.array([0, 3]))
        assert np.isfinite(loss)
        assert model(x).dtype == tf.float32
        scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert scaled == (policy == "mixed_float16")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_towers_strategy_trains_on_two_logical_cpus(small_data, tmp_path):
    model_dir = str(tmp_path / "run")
    r = run(
        train_cmd(
            small_data,
            model_dir,
            "--epochs=1",
            "--steps_per_epoch=2",
            "--distribution_strategy=towers",
            "--cpu_devices=2",
            "--tower_devices=/CPU:0,/CPU:1",
        )
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert np.isfinite(_history(model_dir)[0]["loss"])
    model = keras.models.load_model(os.path.join(model_dir, "latest.keras"), safe_mode=False)
    assert model.get_config()["tower_devices"] == ["/CPU:0", "/CPU:1"]
    assert {k: model.get_config()[k] for k in SMALL_WIDTHS} == SMALL_WIDTHS
    # Loaded as any Keras model, in a process with one device: unpinned, the same outputs.
    x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "pinned.npy", model.predict(x, verbose=0))
    code = f"""
import keras, numpy as np
import alexnet_tf.model
from alexnet_tf.model import build_alexnet
model = keras.saving.load_model({model_dir + "/latest.keras"!r})
assert model.resolved_tower_devices is None
keras.saving.load_model({model_dir + "/latest.keras"!r})  # a second load logs nothing more
x = np.load({str(tmp_path / "x.npy")!r})
np.testing.assert_allclose(model.predict(x, verbose=0), np.load({str(tmp_path / "pinned.npy")!r}),
                           rtol=1e-5, atol=1e-5)
try:
    build_alexnet(6, tower_devices=("/CPU:0", "/CPU:1"))
except ValueError as e:
    print("refused:", e)
"""
    r = run([sys.executable, "-c", code])
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("so it runs unpinned") == 1, r.stderr[-3000:]
    assert "refused: Device '/CPU:1' in tower_devices does not exist" in r.stdout


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start_workers(small_data, model_dir, *extra):
    """Two multi_worker_mirrored workers on 127.0.0.1 (worker 0 is the chief)."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = {
            **ENV,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
        }
        cmd = train_cmd(
            small_data, model_dir, "--distribution_strategy=multi_worker_mirrored", *extra
        )
        procs.append(
            subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
            )
        )
    return procs


@pytest.mark.slow  # two TF processes; its killed-worker sibling is slow too
def test_multi_worker_mirrored_two_workers_end_with_identical_weights(small_data, tmp_path):
    model_dir = str(tmp_path / "run")
    # Two epochs: Keras' validation iterator outlives an epoch under this strategy.
    procs = _start_workers(small_data, model_dir, "--epochs=2", "--steps_per_epoch=1")
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-2000:] + outs[1][-2000:]
    chief = tf.train.load_checkpoint(os.path.join(model_dir, "backup"))
    other = tf.train.load_checkpoint(os.path.join(model_dir, "workers", "worker-1", "backup"))
    # The model's weights are reached through the optimizer's references to them.
    names = [n for n in chief.get_variable_to_shape_map() if "_trainable_variables/" in n]
    assert len(names) == 30  # a kernel and a bias for each of the 15 conv and fc layers
    for name in names:
        np.testing.assert_array_equal(chief.get_tensor(name), other.get_tensor(name), name)
    assert _backup_step(model_dir) == 2


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_a_killed_worker_stops_the_other_and_a_rerun_resumes(small_data, tmp_path):
    model_dir = str(tmp_path / "run")
    extra = ("--epochs=2", "--steps_per_epoch=2", "--backup_every_steps=1")
    chief, worker = _start_workers(small_data, model_dir, *extra)
    deadline = time.time() + 300
    while _backup_step(model_dir) < 1 and time.time() < deadline and chief.poll() is None:
        time.sleep(0.2)
    worker.kill()
    killed = time.time()
    out = chief.communicate(timeout=150)[0]  # bounded: no silent hang
    stopped_after = time.time() - killed
    assert chief.returncode == 1, out[-3000:]
    assert stopped_after < 120, stopped_after  # seen: about 3 s
    message = out[out.index("train: error:") :]
    assert "another worker of the cluster stopped or cannot be reached" in message, message
    assert "start every worker again with the same command" in message
    assert "Traceback" not in out
    resumed_from = _backup_step(model_dir)
    procs = _start_workers(small_data, model_dir, *extra)
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-2000:] + outs[1][-2000:]
    assert f"Resuming at step {resumed_from}" in outs[0]
    assert _backup_step(model_dir) == 4
    assert [h["epoch"] for h in _history(model_dir)] == [0, 1]


@pytest.mark.slow  # 23-26 s on 2 cores: the default run stays within 12 min
def test_train_images_chooses_and_logs_the_epochs_and_a_rerun_keeps_them(small_data, tmp_path):
    model_dir = str(tmp_path / "run")
    cmd = train_cmd(small_data, model_dir, "--train_images=16", "--steps_per_epoch=1")
    r = run(cmd)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "--train_images=16: 4 epochs of 1 steps of 4 (4 steps, 16 images;" in r.stderr
    config = json.load(open(os.path.join(model_dir, "train_config.json")))
    assert (config["train_images"], config["epochs"]) == (16, 4)
    assert [h["epoch"] for h in _history(model_dir)] == [0, 1, 2, 3]
    r = run(cmd)  # the same data gives the same epochs: nothing is left to train
    assert r.returncode == 0 and "All 4 epochs are done already (step 4)" in r.stderr


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_backup(small_data, tmp_path):
    model_dir = str(tmp_path / "run")
    r = run(
        train_cmd(
            small_data,
            model_dir,
            "--epochs=2",
            "--steps_per_epoch=4",
            "--backup_every_steps=1",
            "--learning_rate=1e8",
            "--weight_decay=0",
        )
    )
    assert r.returncode == 1, r.stderr[-3000:]
    assert "train: stopped: the training loss is nan at step" in r.stderr.lower()
    ckpt = tf.train.load_checkpoint(os.path.join(model_dir, "backup"))
    weights = [n for n in ckpt.get_variable_to_shape_map() if "_trainable_variables/" in n]
    assert len(weights) == 30
    for name in weights:
        assert np.all(np.isfinite(ckpt.get_tensor(name))), name


@pytest.mark.quick
def test_warm_up_then_cosine_to_the_floor_as_a_function_of_the_step():
    from alexnet_tf.training.callbacks import scheduled_rate

    def rate(step, schedule="cosine"):
        return scheduled_rate(step, 0.02, schedule, warmup_steps=10, total_steps=110, min_lr=1e-5)

    assert [rate(s) for s in (0, 4, 9)] == pytest.approx([0.002, 0.01, 0.02])
    assert rate(10) == pytest.approx(0.02)  # the top, right after the warm-up
    assert rate(60) == pytest.approx(1e-5 + (0.02 - 1e-5) / 2)  # half way down
    assert rate(110) == pytest.approx(1e-5) and rate(500) == pytest.approx(1e-5)
    assert all(rate(s) >= rate(s + 1) for s in range(10, 120))
    # plateau and step take over after the warm-up; before it, they warm up too.
    assert rate(3, "plateau") == pytest.approx(0.008) and rate(10, "plateau") is None
    assert rate(3, "step") == pytest.approx(0.008) and rate(50, "step") is None


@pytest.mark.quick
def test_train_images_sets_the_epochs_from_the_data_size(tmp_path):
    """--train_images over hand-made metadata: images / (steps x batch), rounded, kept
    within [MIN_EPOCHS, MAX_EPOCHS]; without it, --epochs stands."""
    from alexnet_tf.training import config as cfg_lib

    def planned(num_train, train_images, **kw):
        data_dir = tmp_path / f"d{num_train}"
        data_dir.mkdir(exist_ok=True)
        (data_dir / "metadata.json").write_text(
            json.dumps({"classes": ["a", "b"], "num_examples": {"train": num_train}})
        )
        cfg = cfg_lib.TrainConfig(str(data_dir), "m", train_images=train_images, **kw)
        return cfg_lib.planned(cfg).epochs

    assert cfg_lib.MIN_EPOCHS == 3 and cfg_lib.MAX_EPOCHS == 90
    # 10,000 images in batches of 64: 156 steps of 9,984 images an epoch.
    assert planned(10_000, 120_000, batch_size=64) == 12
    assert planned(10_000, 125_000, batch_size=64) == 13  # 12.52 epochs, rounded
    assert planned(100_000, 120_000, batch_size=64) == 3  # 1.2: the floor
    assert planned(1_000, 120_000, batch_size=64) == 90  # 120: the ceiling
    assert planned(10_000, 120_000, batch_size=64, steps_per_epoch=100) == 19  # 6,400 a pass
    assert planned(10_000, 0, batch_size=64, epochs=7) == 7
    assert cfg_lib.epochs_for(50, 10) == 5


BAD_FLAGS = [
    (["--batch_size=-1"], "--batch_size must be >= 1"),
    (["--distribution_strategy=foo"], "--distribution_strategy must be one of default, mirrored"),
    (["--learning_rate=abc"], "learning_rate"),
    (["--epochs=2.5"], "epochs"),
    (
        ["--distribution_strategy=mirrored", "--tower_devices=/GPU:0,/GPU:1"],
        "cannot be combined with --tower_devices",
    ),
    (["--lr_schedule=step"], "--lr_schedule=step needs --lr_boundaries"),
    (["--lr_boundaries=5,x"], "--lr_boundaries must be whole epochs"),
    (["--architecture=one_tower", "--distribution_strategy=towers"], "needs --architecture"),
    (["--mixed_precision=fp8"], "--mixed_precision=fp8: value should be one of <auto|float32"),
    (["--epochs=0"], "--epochs must be >= 1"),
    (["--steps_per_epoch=-5"], "--steps_per_epoch must be >= 0"),
    (["--validation_steps=-1"], "--validation_steps must be >= 0"),
    (["--learning_rate=0"], "--learning_rate must be > 0"),
    (["--min_learning_rate=1"], "--min_learning_rate must be in (0, --learning_rate=0.01]"),
    (["--momentum=1.5"], "--momentum must be in [0, 1)"),
    (["--weight_decay=-0.1"], "--weight_decay must be >= 0"),
    (["--dropout=1"], "--dropout must be in [0, 1)"),
    (["--pca_std=-1"], "--pca_std must be >= 0"),
    (["--shuffle_buffer=0"], "--shuffle_buffer must be >= 1"),
    (["--warmup_epochs=-1"], "--warmup_epochs must be in [0, --epochs=90). Received: -1.0"),
    (["--epochs=3", "--warmup_epochs=3"], "--warmup_epochs must be in [0, --epochs=3)"),
    (
        ["--lr_schedule=linear"],
        "--lr_schedule must be one of plateau, step, cosine. Received: --lr_schedule=linear",
    ),
    (["--backup_every_steps=0"], "--backup_every_steps must be >= 1"),
    (["--train_images=-1"], "--train_images must be >= 0. Received: --train_images=-1"),
    (
        ["--train_images=100", "--epochs=5"],
        "--epochs=5 and --train_images=100 both set the run's length: give one",
    ),
    (
        ["--train_images=100", "--lr_schedule=step", "--lr_boundaries=1"],
        "--lr_schedule=step takes --lr_boundaries in epochs, which --train_images chooses",
    ),
    (
        ["--train_images=100", "--warmup_epochs=3"],
        "--warmup_epochs must be in [0, 3) with --train_images",
    ),
    (["--plateau_patience=0"], "--plateau_patience must be >= 1"),
    (["--seed=-1"], "--seed must be in [0, 2**32)"),
    (["--verbose=3"], "--verbose must be one of 0, 1, 2. Received: --verbose=3"),
    (["--cpu_devices=-2"], "--cpu_devices must be >= 0"),
    (["--private_threads=-1"], "--private_threads must be >= 0"),
    (["--num_classes=3"], "--num_classes=3 but"),
    (
        ["--architecture=three_tower"],
        "--architecture must be one of two_tower, one_tower, one_tower_half. "
        "Received: --architecture=three_tower",
    ),
    (
        ["--activation=sigmoid"],
        "--activation must be one of relu, tanh. Received: --activation=sigmoid",
    ),
    (["--init=xavier"], "--init must be one of paper, caffe, he. Received: --init=xavier"),
    (["--lr_schedule=step", "--lr_boundaries=5,2"], "--lr_boundaries must be increasing"),
    (["--tower_devices=/GPU:0"], "--tower_devices must be 'auto', 'none' or two device"),
    (["--data_dir=/nonexistent/data"], "--data_dir=/nonexistent/data does not exist"),
    (["--flagfile=/nonexistent.flags"], "nonexistent.flags"),
    (["--no_such_flag=1"], "no_such_flag"),
    # Found only once TensorFlow lists the devices, still before any model is built:
    (["--tower_devices=/GPU:0,/GPU:1"], "Device '/GPU:0' in tower_devices does not exist"),
    (
        ["--distribution_strategy=towers", "--tower_devices=auto"],
        "--distribution_strategy=towers needs two devices",
    ),
]


LISTED_DEVICES_NEEDED = (
    ["--tower_devices=/GPU:0,/GPU:1"],
    ["--distribution_strategy=towers", "--tower_devices=auto"],
)


@pytest.mark.parametrize("extra, message", BAD_FLAGS)
def test_bad_flags_exit_2_naming_the_flag(small_data, tmp_path, extra, message):
    r = run(train_cmd(small_data, str(tmp_path / "run"), *extra))
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert message in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    if extra in LISTED_DEVICES_NEEDED:
        assert not os.path.exists(tmp_path / "run" / "backup")  # nothing built or trained
    else:
        assert not os.path.exists(tmp_path / "run")


def test_missing_data_and_multi_worker_batch_fail_before_tensorflow(tmp_path, small_data):
    tf_config = {
        "cluster": {"worker": ["a:1", "b:2", "c:3"]},
        "task": {"type": "worker", "index": 0},
    }
    code = f"""
import sys, os
os.environ["TF_CONFIG"] = {json.dumps(tf_config)!r}
from alexnet_tf.training import config
cases = [
    dict(data_dir="{tmp_path}/none", model_dir="{tmp_path}/m"),
    dict(data_dir="{small_data}", model_dir="{tmp_path}/a_file/m"),
    dict(data_dir="{small_data}", model_dir="{tmp_path}/m", batch_size=4,
         distribution_strategy="multi_worker_mirrored"),
]
for kw in cases:
    try:
        config.validate(config.TrainConfig(**kw))
    except config.ConfigError as e:
        print("ERR", e)
assert "tensorflow" not in sys.modules
"""
    (tmp_path / "a_file").write_text("")
    r = run([sys.executable, "-c", code])
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.startswith("ERR")]
    assert len(lines) == 3
    assert "--data_dir=" in lines[0] and "does not exist" in lines[0]
    assert "cannot be created" in lines[1] and "a_file is not a writable directory" in lines[1]
    assert "--batch_size=4 is not divisible by the 3 workers" in lines[2]


@contextlib.contextmanager
def tmpfs(path, size):
    """A small file system at `path` (a tmpfs of `size`, e.g. "1200m"), to run a disk full.
    Mounting one needs root: as another user the test is skipped, saying so."""
    if os.geteuid() != 0:
        pytest.skip(f"mounting a tmpfs needs root; running as uid {os.geteuid()}")
    path.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, f"mounting a tmpfs needs root (CI runs as root): {r.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A 1.2 GB tmpfs: room for two backups of the full-size model (455 MB each) and
    little more, so the third fills it."""
    with tmpfs(tmp_path / "disk", "1200m") as path:
        yield path


@pytest.mark.slow  # 23-26 s on 2 cores: the default run stays within 12 min
def test_full_disk_is_a_clear_error_and_the_last_backup_loads(small_data, small_disk):
    model_dir = str(small_disk / "run")
    r = run(
        train_cmd(
            small_data,
            model_dir,
            "--epochs=1",
            "--steps_per_epoch=4",
            "--backup_every_steps=1",
            full_size=True,  # the tmpfs is sized for two of its backups
        ),
    )
    assert r.returncode == 1, r.stderr[-3000:]
    message = r.stderr[r.stderr.index("train: error:") :]
    assert f"no space left on the device of --model_dir={model_dir}" in message, message
    assert "No space left on device" in message
    assert "(step 2)" in message and "the same command resumes from it" in message
    assert "Traceback" not in r.stderr
    backup = os.path.join(model_dir, "backup")
    assert sorted(os.listdir(backup)) == [
        "checkpoint",
        "ckpt-1.data-00000-of-00001",
        "ckpt-1.index",
        "ckpt-2.data-00000-of-00001",
        "ckpt-2.index",
    ]  # the partial ckpt-3 is gone
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(backup))
    weights = [n for n in reader.get_variable_to_shape_map() if "_trainable_variables/" in n]
    assert len(weights) == 30
    # The same model, built afresh, takes the backup whole.
    model = build_alexnet(6, tower_devices=None)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    model.optimizer.build(model.trainable_variables)
    ckpt = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    ckpt.restore(tf.train.latest_checkpoint(backup)).assert_existing_objects_matched()
    assert int(model.optimizer.iterations.numpy()) == 2


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_full_disk_while_latest_keras_is_written_keeps_the_last_one(small_data, tmp_path):
    """The disk fills just before the last epoch's latest.keras is written, right after the
    backup of that epoch's last step: the error is clear, epoch 0's latest.keras is intact,
    no temporary is left, and once space is freed the same command records the epoch it
    could not."""
    with tmpfs(tmp_path / "disk", "200m") as disk:
        model_dir = str(disk / "run")
        flags = train_cmd(
            small_data, model_dir, "--epochs=2", "--steps_per_epoch=2", "--backup_every_steps=2"
        )[3:]
        r = run([sys.executable, FAULT_TRAIN, "fill_disk:1", "--", *flags])
        assert r.returncode == 1, r.stderr[-3000:]
        message = r.stderr[r.stderr.index("train: error:") :]
        assert f"no space left on the device of --model_dir={model_dir}" in message, message
        assert "Traceback" not in r.stderr
        latest = os.path.join(model_dir, "latest.keras")
        kept = keras.models.load_model(latest, safe_mode=True)
        assert int(kept.optimizer.iterations.numpy()) == 2  # epoch 0's
        assert not [f for f in os.listdir(model_dir) if ".tmp-" in f]
        assert [h["epoch"] for h in _history(model_dir)] == [0, 1]
        os.remove(disk / "filler")
        r = run([sys.executable, "-m", "alexnet_tf.train", *flags])
        assert r.returncode == 0, r.stderr[-3000:]
        assert "All 2 epochs are done" not in r.stderr, r.stderr[-3000:]
        assert [h["epoch"] for h in _history(model_dir)] == [0, 1]
        after = keras.models.load_model(latest, safe_mode=True)
        assert int(after.optimizer.iterations.numpy()) == 4
        assert _backup_step(model_dir) == 4
