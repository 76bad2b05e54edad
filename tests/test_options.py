"""The network's options and the run's settings are each declared once: the train flags,
their checks, the model's constructor and the saved configs come from
alexnet_tf/core/options.py and TrainConfig's fields (alexnet_tf/training/config.py)."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from trainer import ROOT, SMALL_WIDTHS

from alexnet_tf.core import options
from alexnet_tf.training import config

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick
DEMO_FLAGS = os.path.join(ROOT, "configs", "demo.flags")


def test_every_option_is_a_train_flag_with_its_default_and_help():
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.train", "--helpfull"], capture_output=True, text=True
    )
    for field in options.FIELDS:
        assert f"--{'[no]' if isinstance(field.default, bool) else ''}{field.name}" in r.stdout
        first_words = " ".join(field.metadata["option"].help.split()[:3])
        assert first_words in " ".join(r.stdout.split()), field.name


def test_every_run_setting_is_a_train_flag_from_its_declaration_alone():
    """The train command defines one flag per TrainConfig field with the field's help and
    default, and writes no flag definition of its own but --check_only."""
    import ast

    from absl import flags

    from alexnet_tf import train

    flag_values = flags.FlagValues()
    config.define_flags(flag_values)
    for field in config.FIELDS:
        assert field.name in flag_values, field.name
        if field.name not in config.SHARED_FLAGS:
            assert flag_values[field.name].help == field.metadata["option"].help, field.name
        default = field.default
        assert flag_values[field.name].default == (
            list(default) if isinstance(default, tuple) else default
        ), field.name
    source = open(train.__file__, encoding="utf-8").read()
    defined = [
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).startswith("flags.DEFINE")
        and isinstance(node.args[0], ast.Constant)
    ]
    assert defined == ["check_only"]


def test_a_flagfile_reads_without_global_flags_and_validates_like_the_command_line():
    from absl import flags

    with pytest.raises(config.ConfigError, match=r"--batch_size must be >= 1.*batch_size=-3"):
        config.TrainConfig.from_flagfile(DEMO_FLAGS, batch_size=-3)
    demo = config.TrainConfig.from_flagfile(DEMO_FLAGS, model_dir="runs/other")
    assert (demo.batch_size, demo.lr_schedule, demo.model.init) == (64, "cosine", "he")
    assert demo.model_dir == "runs/other" and demo.data_dir == "data/demo"
    short = config.TrainConfig.from_flagfile(DEMO_FLAGS, epochs=2, dropout=0.25)
    assert (short.epochs, short.model.dropout, short.batch_size) == (2, 0.25, 64)
    assert "epochs" not in flags.FLAGS  # absl's process-wide flags were never touched
    with pytest.raises(config.ConfigError, match="bach_size: no such setting"):
        config.TrainConfig.from_flagfile(DEMO_FLAGS, bach_size=8)
    with pytest.raises(config.ConfigError, match="--flagfile=nothing.flags is not a file"):
        config.TrainConfig.from_flagfile("nothing.flags")


def test_a_flagfile_gives_what_the_command_line_gives(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.train", f"--flagfile={DEMO_FLAGS}",
         "--check_only"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    read = config.TrainConfig.from_flagfile(DEMO_FLAGS)
    assert json.loads(r.stdout) == json.loads(read.to_json())


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


# Written out: a change to which options define the network must change this list too.
STRUCTURAL = (
    "architecture",
    "activation",
    "lrn",
    "overlapping_pool",
    "image_size",
    "conv1_pad",
    "ceil_pool",
    "lrn_bias",
    "lrn_alpha",
    "lrn_across_towers",
    "conv1_filters",
    "conv2_filters",
    "conv3_filters",
    "conv4_filters",
    "conv5_filters",
    "fc_units",
)


def test_structural_options_define_the_runs_network():
    assert options.STRUCTURAL == STRUCTURAL
    assert config.MODEL_FIELDS == ("num_classes", *STRUCTURAL)
    assert set(options.NAMES) - set(STRUCTURAL) == {"dropout", "init"}  # training choices


def _rerun(tmp_path, *changed):
    """The train command into a model_dir that holds a run with the paper's options."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    model_dir = tmp_path / "run"
    model_dir.mkdir(exist_ok=True)
    first = config.TrainConfig(data_dir=str(data_dir), model_dir=str(model_dir))
    (model_dir / "train_config.json").write_text(first.to_json())
    cmd = [sys.executable, "-m", "alexnet_tf.train", f"--data_dir={data_dir}"]
    cmd += [f"--model_dir={model_dir}", "--prepare_demo_data", "--check_only", *changed]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.parametrize(
    "flag, shown",
    [
        ("--nolrn", "--lrn: True there, False now"),
        ("--nooverlapping_pool", "--overlapping_pool: True there, False now"),
        ("--lrn_alpha=0", "--lrn_alpha: 0.0001 there, 0.0 now"),
        ("--conv1_pad=0", "--conv1_pad: 2 there, 0 now"),
        ("--conv2_filters=64", "--conv2_filters: 128 there, 64 now"),
        ("--activation=tanh", "--activation: 'relu' there, 'tanh' now"),
    ],
)
def test_a_rerun_as_another_network_is_refused_naming_the_flag(tmp_path, flag, shown):
    r = _rerun(tmp_path, flag)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "holds a run of another network" in r.stderr and shown in r.stderr, r.stderr


def test_a_rerun_with_the_same_network_is_accepted(tmp_path):
    r = _rerun(tmp_path, "--dropout=0.25", "--init=he", "--num_classes=0")
    assert r.returncode == 0, r.stderr


def test_constructor_and_get_config_take_every_option():
    from alexnet_tf.model import build_alexnet

    changed = {
        f.name: (not f.default if isinstance(f.default, bool) else f.default)
        for f in options.FIELDS
    }
    changed.update(architecture="one_tower", activation="tanh", dropout=0.3, init="caffe")
    changed.update(SMALL_WIDTHS)  # every width changed, and a model quick to build
    model = build_alexnet(5, tower_devices=None, **changed)
    saved = model.get_config()
    assert {k: saved[k] for k in changed} == changed
    assert dataclasses.asdict(model.options) == {**options.ModelOptions().to_dict(), **changed}


def test_every_program_imports_beside_the_others():
    """A notebook imports several programs: none defines its flags until it runs."""
    programs = ["train", "benchmark", "evaluate", "export", "predict", "check_data"]
    programs += ["demo_data", "import_weights"]
    code = "\n".join(
        ["from absl import app, flags, logging", "before = set(flags.FLAGS)"]
        + [f"import alexnet_tf.{name}" for name in programs]
        + ["assert set(flags.FLAGS) == before, set(flags.FLAGS) - before", "print('ok')"]
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
