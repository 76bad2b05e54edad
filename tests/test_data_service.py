"""Training input through the tf.data service on localhost: a dispatcher and worker
processes started by `python -m alexnet_tf.data_service`, as a user starts them."""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
from trainer import ENV, run, train_cmd

from alexnet_tf import data


def _start(*flags):
    proc = subprocess.Popen(
        [sys.executable, "-m", "alexnet_tf.data_service", "--port=0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    line = proc.stdout.readline()
    assert "serving on port" in line, line
    return proc, int(line.rsplit(" ", 1)[1])


@pytest.fixture(scope="module")
def service():
    """A dispatcher and two worker processes for this module's tests, stopped at its end
    (the last test kills one worker): (dispatcher address, [worker processes])."""
    dispatcher, port = _start()
    address = f"localhost:{port}"
    workers = [_start(f"--dispatcher={address}")[0] for _ in range(2)]
    yield address, workers
    running = [p for p in (dispatcher, *workers) if p.poll() is None]  # not a killed one
    for proc in running:
        proc.terminate()
    for proc in running:
        assert proc.wait(timeout=30) == 0  # SIGTERM stops a server cleanly


def _images(dataset):
    return sorted(hashlib.sha1(x.numpy().tobytes()).hexdigest() for b, _ in dataset for x in b)


@pytest.mark.slow  # the service's start: 22 s on 2 cores; the default run stays within 12 min
def test_one_pass_through_two_workers_gives_every_image_once(demo_records, service):
    """distributed_epoch: the workers share the shards out, so one pass through them is
    the data set itself, each image once, and --skip_bad_records' exclusions hold."""
    import tensorflow as tf

    records = demo_records(6, 1, train_shards=4)
    address, _ = service
    kw = dict(crop=False, flip=False, seed=0)  # the same pixels wherever decoded
    here = _images(data.train_dataset(records, 1, **kw))
    there = _images(data.train_dataset(records, 1, data_service=address, job_name="a", **kw))
    assert len(here) == 36 and there == here
    files = data.list_shards(records, "train")
    exclude = {files[0]: (9, [2, 4]), files[1]: (0, [])}  # 9 - 2 read from one, none from one
    here = _images(data.train_dataset(records, 1, exclude=exclude, **kw))
    there = _images(
        data.train_dataset(records, 1, exclude=exclude, data_service=address, job_name="b", **kw)
    )
    sizes = [sum(1 for _ in tf.data.TFRecordDataset(f)) for f in files[:2]]
    assert there == here and len(here) == 36 - (sizes[0] - min(9, sizes[0]) + 2) - sizes[1]


@pytest.mark.slow  # 24 s here, like the other kill tests: the default run stays near 12 min
def test_training_survives_a_killed_worker_and_a_rerun_resumes(demo_records, service, tmp_path):
    """Two workers feed training; one is killed during the first epoch; training goes on
    with the other and finishes; a rerun with more epochs resumes from the last one."""
    records = demo_records(8, 2, train_shards=4)
    address, workers = service
    model_dir = tmp_path / "run"
    cmd = train_cmd(records, model_dir, f"--data_service={address}", "--steps_per_epoch=20")
    env = {**ENV, "PYTHONUNBUFFERED": "1"}  # the epoch's first line as it is printed
    trainer = subprocess.Popen([*cmd, "--epochs=2"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    lines = []
    for line in trainer.stdout:  # kill a worker once training has started its first epoch
        lines.append(line)
        if "Epoch 1/2" in line:
            time.sleep(1)
            workers[0].kill()
            break
    output = "".join(lines) + trainer.communicate(timeout=600)[0]
    assert trainer.returncode == 0, output[-3000:]
    assert workers[0].wait() != 0 and workers[1].poll() is None
    with open(model_dir / "history.json") as f:
        history = json.load(f)
    assert [h["epoch"] for h in history] == [0, 1]
    assert all(h["epoch_seconds"] > 0 for h in history)
    r = run([*cmd, "--epochs=3"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Resuming at step" in r.stderr and "epoch 3" in r.stderr
    with open(model_dir / "history.json") as f:
        assert [h["epoch"] for h in json.load(f)] == [0, 1, 2]


@pytest.mark.quick
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--data_service=localhost"], "HOST:PORT"),
        (["--data_service=localhost:1"], "nothing answers at --data_service=localhost:1"),
        (["--data_service=localhost:5050", "--cache_dataset"], "--cache_dataset does not"),
        (["--data_service=localhost:5050", "--tfds_name=mnist"], "--tfds_name does not"),
    ],
)
def test_what_the_service_cannot_do_is_refused_before_training(flags, message, tmp_path):
    os.makedirs(tmp_path / "d")
    cmd = [sys.executable, "-m", "alexnet_tf.train", f"--data_dir={tmp_path / 'd'}",
           f"--model_dir={tmp_path / 'm'}", "--check_only", *flags]  # fmt: skip
    r = run(cmd)
    assert r.returncode == 2 and message in r.stderr, r.stderr[-2000:]


def test_multi_worker_trainers_share_the_job_unsharded(demo_records, tmp_path):
    """With several trainers (multi-worker), the service's job is shared (each batch goes
    to one trainer), so Keras must not shard the stream again: auto-sharding is off."""
    import tensorflow as tf

    from alexnet_tf.data import service
    from alexnet_tf.training import run as run_lib

    records = demo_records(2, 1)
    plain = run_lib._shard_policy(data.train_dataset(records, 2), records, "train", 2)
    served = run_lib._shard_policy(data.train_dataset(records, 2), records, "train", 2, "h:1")
    policy = tf.data.experimental.AutoShardPolicy
    assert plain.options().experimental_distribute.auto_shard_policy == policy.FILE
    assert served.options().experimental_distribute.auto_shard_policy == policy.OFF
    # one run's trainers, one job; another run's, another
    a, b = service.job_name(str(tmp_path / "a")), service.job_name(str(tmp_path / "b"))
    assert a == service.job_name(str(tmp_path / "a")) and a != b
