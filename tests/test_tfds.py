"""--tfds_name end to end: the train command reads a TFDS set prepared in --data_dir (its
classes and counts from its DatasetInfo, its mean pixel from its training images), and
evaluate reads its test split, the set having no validation split."""

import json
import os
import sys

import numpy as np
import pytest
import tfds_tiny
from trainer import run, train_cmd


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    return tfds_tiny.prepare(str(tmp_path_factory.mktemp("tfds")))


@pytest.mark.slow  # 10 s; the pipeline on a TFDS set is tested in test_data
def test_train_and_evaluate_on_a_prepared_tfds_set(tfds_dir, tmp_path):
    model_dir = str(tmp_path / "run")
    r = run(
        train_cmd(
            tfds_dir, model_dir, f"--tfds_name={tfds_tiny.NAME}", "--epochs=2", "--batch_size=8"
        )
    )
    assert r.returncode == 0, r.stderr[-3000:]
    config = json.load(open(os.path.join(model_dir, "train_config.json")))
    assert config["tfds_name"] == tfds_tiny.NAME and config["data_dir"] == tfds_dir
    pixels = np.stack([image for image, _ in tfds_tiny.images(*tfds_tiny.SPLITS["train"])])
    stats = config["data_statistics"]
    np.testing.assert_allclose(stats["mean_rgb"], pixels.reshape(-1, 3).mean(0), atol=0.01)
    assert stats["from_tfds_train_images"] == 24
    classes = json.load(open(os.path.join(model_dir, "classes.json")))
    assert classes["names"] == ["dark", "mid", "bright"]
    history = json.load(open(os.path.join(model_dir, "history.json")))
    assert [h["epoch"] for h in history] == [0, 1]  # 24 images, batch 8: 3 steps each
    assert "3/3" in r.stdout + r.stderr

    r = run([sys.executable, "-m", "alexnet_tf.evaluate", f"--model_dir={model_dir}"])
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.load(open(os.path.join(model_dir, "eval_validation_1crop.json")))
    assert result["num_examples"] == 9  # the test split: there is no validation split


def test_tfds_refusals_exit_2_before_training(tfds_dir, tmp_path):
    name = f"--tfds_name={tfds_tiny.NAME}"
    cases = [
        ([name, "--skip_bad_records"], "--skip_bad_records works on TFRecord shards"),
        (["--tfds_name=no_such_set_here"], "tfds_name=no_such_set_here: no such TFDS data set"),
    ]
    for extra, message in cases:
        r = run(train_cmd(tfds_dir, str(tmp_path / "run"), *extra))
        assert r.returncode == 2 and message in r.stderr, r.stderr[-2000:]
        assert "Traceback" not in r.stderr
