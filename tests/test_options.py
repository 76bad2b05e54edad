"""The network's options are declared once: the train flags, their checks, the model's
constructor and its saved config all come from alexnet_tf/options.py."""

import dataclasses
import json
import subprocess
import sys

import pytest

from alexnet_tf import options
from alexnet_tf.training import config

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick


def test_every_option_is_a_train_flag_with_its_default_and_help():
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.train", "--helpfull"], capture_output=True, text=True
    )
    for field in options.FIELDS:
        assert f"--{'[no]' if isinstance(field.default, bool) else ''}{field.name}" in r.stdout
        first_words = " ".join(field.metadata["option"].help.split()[:3])
        assert first_words in " ".join(r.stdout.split()), field.name


def test_flags_reach_the_config_and_its_json(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "alexnet_tf.train",
            f"--data_dir={tmp_path}",
            f"--model_dir={tmp_path / 'run'}",
            "--prepare_demo_data",
            "--activation=tanh",
            "--nolrn",
            "--dropout=0.25",
            "--check_only",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    saved = json.loads(r.stdout)
    assert saved["activation"] == "tanh" and saved["lrn"] is False and saved["dropout"] == 0.25
    assert set(options.NAMES) <= set(saved)


def test_one_check_serves_flags_and_constructor():
    bad = options.ModelOptions(dropout=1.5)
    assert bad.problem("--") == "--dropout must be in [0, 1). Received: --dropout=1.5"
    assert bad.problem() == "dropout must be in [0, 1). Received: dropout=1.5"
    with pytest.raises(ValueError, match=r"activation must be one of relu, tanh"):
        options.ModelOptions(activation="gelu").check()
    cfg = config.TrainConfig(data_dir="d", model_dir="m", model=bad)
    with pytest.raises(config.ConfigError, match=r"--dropout must be in \[0, 1\)"):
        config.validate(cfg)


def test_structural_options_define_the_runs_network():
    structural = {f.name for f in options.FIELDS if f.metadata["option"].structural}
    assert set(options.STRUCTURAL) == structural
    assert {"architecture", "activation", "lrn", "overlapping_pool"} <= structural
    assert config.MODEL_FIELDS == ("num_classes", *options.STRUCTURAL)
    assert not {"dropout", "init"} & structural  # training choices


def test_constructor_and_get_config_take_every_option():
    from alexnet_tf.model import build_alexnet

    changed = {
        f.name: (not f.default if isinstance(f.default, bool) else f.default)
        for f in options.FIELDS
    }
    changed.update(architecture="one_tower", activation="tanh", dropout=0.3, init="caffe")
    model = build_alexnet(5, tower_devices=None, test_width_divisor=16, **changed)
    saved = model.get_config()
    assert {k: saved[k] for k in changed} == changed
    assert dataclasses.asdict(model.options) == {**options.ModelOptions().to_dict(), **changed}
