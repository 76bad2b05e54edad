"""tools/run_ablations.py end to end on tiny settings: two variants, one seed, four steps
each; the report holds the runs' numbers, and a rerun reuses them."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image
from trainer import ENV, ROOT, SMALL, SMALL_WIDTHS

from alexnet_tf.core.rundir import RunDir
from alexnet_tf.studies import ablations

TINY = [
    "--epochs=2",
    "--steps_per_epoch=2",
    "--batch_size=4",
    "--validation_steps=1",
    "--nocache_dataset",
    "--mixed_precision=float32",
    *SMALL,
]


def _tool(data_dir, out, *extra):
    cmd = [
        sys.executable,
        os.path.join(ROOT, "tools", "run_ablations.py"),
        f"--flagfile={os.path.join(ROOT, 'configs', 'demo.flags')}",
        f"--data_dir={data_dir}",
        f"--out={out}",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT)


@pytest.fixture(scope="module")
def study(demo_records, module_tmp):
    data_dir = demo_records(2, 1)
    out = str(module_tmp / "study")
    r = _tool(data_dir, out, "--seeds=1", "--variants=paper,tanh", *TINY)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return data_dir, out, r


def small_model_params():
    from alexnet_tf.model import build_alexnet

    model = build_alexnet(6, tower_devices=None, **SMALL_WIDTHS)
    return model.count_params()


def _row(table: str, variant: str) -> list[str]:
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == variant:
            return cells
    raise AssertionError(f"no row for {variant} in\n{table}")


@pytest.mark.slow  # the study's runs: 46 s on 2 cores; the default run stays within 12 min
def test_report_holds_the_runs_numbers(study):
    _, out, _ = study
    with open(os.path.join(out, "ablations.md"), encoding="utf-8") as f:
        table = f.read()
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    assert set(results["variants"]) == {"paper", "tanh"}
    for variant in ("paper", "tanh"):
        run_dir = os.path.join(out, "runs", f"{variant}-seed0")
        with open(os.path.join(run_dir, "history.json"), encoding="utf-8") as f:
            history = json.load(f)
        with open(RunDir(run_dir).study_record, encoding="utf-8") as f:
            record = json.load(f)
        with open(os.path.join(run_dir, "train_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        assert [h["epoch"] for h in history] == [0, 1]
        assert config["activation"] == ("tanh" if variant == "tanh" else "relu")
        assert config["epochs"] == 2 and config["seed"] == 0
        (seed,) = results["variants"][variant]
        assert seed["history"] == history
        assert seed["final_train_top1"] == history[-1]["top1_error"]
        assert seed["centre_top1"] == record["centre"]["top1_error"]
        assert record["centre"]["num_examples"] == 6 and record["ten_crop"]["crops"] == 10
        row = _row(table, variant)
        assert row[2] == f"{record['centre']['top1_error']:.3f}"
        assert row[3] == f"{record['centre']['top5_error']:.3f}"
        assert row[4] == f"{record['ten_crop']['top1_error']:.3f}"
        assert row[9] == f"{history[-1]['top1_error']:.3f}"
        assert row[12] == f"{record['params']:,}" == f"{small_model_params():,}"
        assert not os.path.exists(os.path.join(run_dir, "backup"))  # finished: not needed
    delta = float(_row(table, "tanh")[6])  # one seed: no standard error, no verdict
    assert _row(table, "tanh")[7] == "one seed: no estimate"
    paper, tanh = (results["variants"][v][0]["centre_top1"] for v in ("paper", "tanh"))
    assert delta == pytest.approx(100 * (tanh - paper), abs=0.06)  # points
    for png in ("relu_vs_tanh.png", "validation_error.png"):
        with Image.open(os.path.join(out, png)) as image:
            assert image.format == "PNG" and image.size[0] >= 400


@pytest.mark.slow  # the study's runs: 46 s on 2 cores; the default run stays within 12 min
def test_relu_vs_tanh_drawn_solid_and_dashed(study, drawn_figures):
    _, out, _ = study
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        by_variant = json.load(f)["variants"]
    ablations.plot_relu_vs_tanh(by_variant, os.path.join(out, "again.png"), 0.5)
    lines = {
        line.get_label(): line for line in drawn_figures[0].axes[0].get_lines() if line.get_label()
    }
    assert lines["ReLU"].get_linestyle() == "-" and lines["tanh"].get_linestyle() == "--"
    relu = [h["top1_error"] for h in by_variant["paper"][0]["history"]]
    assert list(lines["ReLU"].get_ydata()) == relu


@pytest.mark.slow  # the study's runs: 46 s on 2 cores; the default run stays within 12 min
def test_rerun_reuses_finished_runs_and_refuses_other_settings(study):
    data_dir, out, _ = study
    model = os.path.join(out, "runs", "paper-seed0", "latest.keras")
    mtime = os.path.getmtime(model)
    r = _tool(data_dir, out, "--seeds=1", "--variants=paper,tanh", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("finished earlier, reused") == 2
    assert os.path.getmtime(model) == mtime
    r = _tool(data_dir, out, "--seeds=1", "--variants=paper", *TINY[1:], "--epochs=3")
    assert r.returncode == 2
    assert "holds a run made with other settings" in r.stderr


def test_bad_requests_fail_before_training(demo_records, tmp_path):
    data_dir = demo_records(2, 1)
    r = _tool(data_dir, str(tmp_path / "a"), "--variants=paper,sigmoid")
    assert r.returncode == 2 and "sigmoid" in r.stderr and "no_lrn" in r.stderr
    r = _tool(data_dir, str(tmp_path / "b"), "--variants=paper", "--batch_size=-3")
    assert r.returncode == 2 and "--batch_size must be >= 1" in r.stderr
    r = _tool(data_dir, str(tmp_path / "c"), "--seeds=0")
    assert r.returncode == 2 and "--seeds must be >= 1" in r.stderr
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")
