"""The paper's Figure 1 study: end to end on a tiny budget (our TFRecords and TFDS's mock
CIFAR-10), with cuda-convnet's network (the default) and the modern one; what tells the
two networks apart; the rate chosen is the fastest of its sweep, which is extended where
its best rate is at an end; the numbers in the JSON, table and plot are the runs'; and the
ablation table's noise column follows its rule."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from trainer import ROOT

from alexnet_tf.studies import ablations, figure1

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _tool(*args):
    cmd = [sys.executable, os.path.join(ROOT, "tools", "run_ablations.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT)


TINY = ["--seeds=2", "--epochs=4", "--target_train_error=0.6", "--batch_size=8"]


def _study(data_dir, out, *extra):
    r = _tool("--study=figure1", f"--data_dir={data_dir}", f"--out={out}", *TINY, *extra)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    with open(os.path.join(out, figure1.RESULT_FILE), encoding="utf-8") as f:
        return out, json.load(f), r.stdout


@pytest.fixture(scope="module")
def study(demo_records, tmp_path_factory):
    """cuda-convnet's network, the default, on a tiny budget."""
    out = str(tmp_path_factory.mktemp("figure1") / "out")
    return _study(demo_records(6, 1), out, "--rates=0.003,0.03")


@pytest.fixture(scope="module")
def modern(demo_records, tmp_path_factory):
    """The modern network on the arguments its table was made with, shrunk."""
    out = str(tmp_path_factory.mktemp("figure1_modern") / "out")
    return _study(demo_records(6, 1), out, "--network=modern", "--rates=0.003,0.03")


@pytest.mark.slow  # the two studies' runs: 44 s on 2 cores; the default run stays within 12 min
def test_end_to_end_writes_the_json_table_and_plot(study):
    out, result, stdout = study
    assert result["target_train_error"] == 0.6 and result["num_images"] == 36
    assert result["network"] == "cuda_convnet" and "1e-4" in result["init"]
    assert result["input_scaling"] == "raw 0-255 pixels minus the training set's mean image"
    assert result["num_classes"] == 6 and result["epochs_budget"] == 4
    assert result["steps_per_epoch"] == 5  # 36 images, batch 8
    for activation in ("relu", "tanh"):
        info = result["activations"][activation]
        added = result["extended_rates"][activation]
        assert set(info["by_rate"]) == {str(r) for r in [0.003, 0.03, *added]}
        assert len(added) <= 2 * figure1.MAX_EXTENSIONS
        for row in info["by_rate"].values():
            assert len(row["epochs"]) == len(row["histories"]) == 2  # seeds
            assert all(len(h) == 4 for h in row["histories"])
        assert info["steps_to_target"] == [e * 5 for e in info["epochs_to_target"]]
        assert info["images_to_target"] == [e * 36 for e in info["epochs_to_target"]]
    assert {"speedup_mean", "speedup_std", "speedup_per_seed", "speedup_at"} <= set(result)
    assert set(result["speedup_at"]) == {"0.2", "0.15"}
    assert "speed-up (tanh epochs / ReLU epochs)" in stdout
    with Image.open(os.path.join(out, figure1.FIGURE_FILE)) as image:
        assert image.format == "PNG" and image.size[0] >= 400
    with open(os.path.join(out, figure1.TABLE_FILE), encoding="utf-8") as f:
        table = f.read()
    rows = len(result["activations"]["relu"]["by_rate"])
    assert table.count("| relu |") == rows and "| 0.15 |" in table


@pytest.mark.slow  # the two studies' runs: 44 s on 2 cores; the default run stays within 12 min
def test_modern_network_still_makes_todays_table(modern):
    out, result, _ = modern
    assert result["network"] == "modern" and result["init"] == "standard"
    assert result["input_scaling"] == "(pixels - mean pixel) / 64"
    for info in result["activations"].values():
        assert {"0.003", "0.03"} <= set(info["by_rate"])
    with open(os.path.join(out, figure1.TABLE_FILE), encoding="utf-8") as f:
        assert "(modern)" in f.read()


@pytest.mark.slow  # the two studies' runs: 44 s on 2 cores; the default run stays within 12 min
@pytest.mark.parametrize("which", ["study", "modern"])
def test_epochs_and_ratios_are_the_histories(which, request):
    _, result, _ = request.getfixturevalue(which)
    target = result["target_train_error"]
    for info in result["activations"].values():
        for row in info["by_rate"].values():
            for history, epochs, low in zip(
                row["histories"], row["epochs"], row["lower_bound"], strict=True
            ):
                reached = [i for i, e in enumerate(history, 1) if e <= target]
                assert epochs == (reached[0] if reached else len(history))
                assert low == (not reached)
        # The chosen rate is the fastest of the sweep (ties: the larger rate).
        means = {float(r): np.mean(row["epochs"]) for r, row in info["by_rate"].items()}
        best = min(means.values())
        assert info["chosen_learning_rate"] == max(r for r, m in means.items() if m == best)
        assert (
            info["epochs_to_target"] == info["by_rate"][str(info["chosen_learning_rate"])]["epochs"]
        )
    relu, tanh = (result["activations"][a]["epochs_to_target"] for a in ("relu", "tanh"))
    ratios = [t / r for t, r in zip(tanh, relu, strict=True)]
    assert result["speedup_per_seed"] == pytest.approx(ratios)
    assert result["speedup_mean"] == pytest.approx(np.mean(ratios))
    assert result["speedup_std"] == pytest.approx(np.std(ratios, ddof=1))


@pytest.mark.slow  # the two studies' runs: 44 s on 2 cores; the default run stays within 12 min
def test_plot_draws_relu_solid_and_tanh_dashed_at_their_rates(study, tmp_path, drawn_figures):
    _, result, _ = study
    figure1.plot(result, str(tmp_path / "f.png"))
    lines = [line for line in drawn_figures[0].axes[0].get_lines() if line.get_linestyle() in "---"]
    solid = [line for line in lines if line.get_linestyle() == "-"]
    dashed = [line for line in lines if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 2  # a line per seed
    relu = result["activations"]["relu"]
    chosen = relu["by_rate"][str(relu["chosen_learning_rate"])]["histories"][0]
    assert list(solid[0].get_ydata()) == chosen


def test_tfds_cifar10_goes_through_the_same_study(tmp_path):
    import tensorflow_datasets as tfds

    study = figure1.Study(
        data_dir=None, out=str(tmp_path), tfds_name="cifar10", seeds=1, rates=(0.01,),
        epochs=2, target_train_error=0.5, batch_size=8, network="modern",
    )  # fmt: skip
    with tfds.testing.mock_data(num_examples=24):
        result = figure1.run(study, "test", say=lambda line: None)
    assert result["num_images"] == 24 and result["num_classes"] <= 10
    assert os.path.exists(tmp_path / figure1.RESULT_FILE)


def test_never_reaching_the_target_is_a_lower_bound():
    assert figure1.epochs_to_target([0.9, 0.5, 0.2], 0.25) == (3, True)
    assert figure1.epochs_to_target([0.9, 0.8], 0.25) == (2, False)
    study = figure1.Study(data_dir="d", out="o", seeds=2, rates=(0.1,), epochs=2)
    runs = {"relu": {0.1: [[0.1, 0.1], [0.3, 0.2]]}, "tanh": {0.1: [[0.9, 0.8], [0.5, 0.2]]}}
    result = figure1.summarize(runs, study)
    assert result["activations"]["tanh"]["lower_bound"] == [True, False]
    assert result["speedup_per_seed"] == [2.0, 1.0] and result["speedup_is_lower_bound"]


def test_bad_study_arguments_fail_before_any_work(tmp_path):
    r = _tool("--study=figure1", f"--out={tmp_path / 'a'}", "--data_dir=x", "--seeds=0")
    assert r.returncode == 2 and "--seeds must be >= 1" in r.stderr
    r = _tool("--study=figure1", f"--out={tmp_path / 'b'}")
    assert r.returncode == 2 and "--data_dir" in r.stderr and "--tfds_name" in r.stderr
    r = _tool("--study=figure1", f"--out={tmp_path / 'c'}", "--data_dir=x", "--rates=a,b")
    assert r.returncode == 2 and "--rates must be numbers" in r.stderr
    r = _tool("--study=figure1", f"--out={tmp_path / 'd'}", "--data_dir=x", "--dropout=0")
    assert r.returncode == 2 and "unexpected arguments for --study=figure1" in r.stderr
    r = _tool(
        "--study=figure1", f"--out={tmp_path / 'f'}", "--data_dir=x", "--network=modern",
        "--init=xavier",
    )  # fmt: skip
    assert r.returncode == 2 and "--init must be one of standard, glorot, normal" in r.stderr
    r = _tool("--study=figure1", f"--out={tmp_path / 'g'}", "--data_dir=x", "--init=glorot")
    assert r.returncode == 2 and "--init applies to --network=modern only" in r.stderr
    r = _tool("--study=figure1", f"--out={tmp_path / 'h'}", "--data_dir=x", "--network=modern",
              "--rnorm")  # fmt: skip
    assert r.returncode == 2 and "--rnorm applies to --network=cuda_convnet only" in r.stderr
    r = _tool("--study=pictures", f"--out={tmp_path / 'e'}")
    assert r.returncode == 2 and "--study must be one of ablations, figure1" in r.stderr
    assert not any(os.path.exists(tmp_path / n) for n in "abcdefgh")


@pytest.mark.quick
@pytest.mark.parametrize(
    "values, baseline, verdict",
    [
        ([0.30, 0.32, 0.31], [0.20, 0.21, 0.22], "beyond noise"),  # 10 points, SE 0.8
        ([0.30, 0.10, 0.20], [0.20, 0.21, 0.22], "within noise"),  # 1 point, SE 5.8
        ([0.25], [0.20, 0.21], "one seed: no estimate"),
    ],
)
def test_the_noise_column_follows_the_two_standard_error_rule(values, baseline, verdict):
    d = ablations.difference(values, baseline)
    assert d["difference"] == pytest.approx(np.mean(values) - np.mean(baseline))
    if len(values) > 1:
        se = np.sqrt(np.var(values, ddof=1) / len(values) + np.var(baseline, ddof=1) / 3)
        assert d["standard_error"] == pytest.approx(se)
        assert (abs(d["difference"]) > 2 * se) == (verdict == "beyond noise")
    assert d["verdict"] == verdict


@pytest.mark.quick
def test_the_table_prints_the_difference_its_error_and_the_verdict():
    def seeds(errors):
        return [
            {
                "seed": i, "status": "trained", "wall_seconds": 60.0, "params": 10,
                "centre_top1": e, "centre_top5": 0.0, "ten_crop_top1": e, "ten_crop_top5": 0.0,
                "final_train_top1": e, "epochs_to_target": 1, "history": [],
            }
            for i, e in enumerate(errors)
        ]  # fmt: skip

    table = ablations.markdown_table(
        {"paper": seeds([0.20, 0.21, 0.22]), "no_lrn": seeds([0.30, 0.32, 0.31])}, 0.5
    )
    row = next(line for line in table.splitlines() if line.startswith("| no_lrn"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6] == "+10.0 ± 0.8" and cells[7] == "beyond noise"


def test_every_variant_starts_from_the_papers_regularisation():
    args = ablations.train_args("f.flags", "d", "r", 0, "no_dropout", ["--dropout=0.1"])
    assert args.index("--dropout=0.5") > args.index("--dropout=0.1")  # the study's wins
    assert args[-1] == "--dropout=0"  # and the variant's change comes last
    assert "--pca_lighting" in ablations.train_args("f", "d", "r", 0, "paper", [])
    assert ablations.train_args("f", "d", "r", 0, "no_pca", [])[-1] == "--nopca_lighting"
