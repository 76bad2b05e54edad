"""benchmarks/step.py: the training step's parts, timed outside the package. Each mode runs
and reports its JSON line; the per-layer rows and the forms' switches are checked in
process."""

import os
import sys

import pytest
from test_benchmark import _bench
from trainer import ROOT

from alexnet_tf.core import precision

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import forms  # noqa: E402
import per_layer  # noqa: E402

STEP = (os.path.join(ROOT, "benchmarks", "step.py"),)
CASES = {
    "layers": (
        ["--batch_size=2", "--matmul_size=256"],
        ["layers", "update_ms", "step_fraction_of_matmul", "bare_fraction_of_matmul"],
    ),
    "forms": (
        ["--batch_size=2", "--num_classes=10"],
        ["forms_taken", "variants_images_per_sec", "gain_of_form", "gain_over_all_plain"],
    ),
    "layout": (["--batch_size=2"], ["nchw_relative_time"]),
    "lrn": (["--batch_size=2"], ["speedup_over_op"]),
}


@pytest.fixture(scope="module")
def records(demo_records):
    return demo_records(2, 1)


@pytest.mark.slow  # 14-56 s each (forms builds the model five times)
@pytest.mark.parametrize("mode", sorted(CASES))
def test_step_mode_reports_json(mode, records, tmp_path):
    extra, keys = CASES[mode]
    result = _bench(mode, records, tmp_path, "--mixed_precision=float32", *extra, command=STEP,
                    shown="python benchmarks/step.py")  # fmt: skip
    for key in keys:
        assert key in result, key
    assert result["config"]["mixed_precision"] == "float32"


def test_per_layer_rows_take_the_gradients_the_step_takes():
    """One row per layer, twin towers summed; conv1 (reading the image) needs no input
    gradient, so its FLOPs count forward and weight gradient only; each conv and dense
    row has its bare kernel."""
    from alexnet_tf.model import build_alexnet

    widths = {f"conv{i}_filters": 8 for i in range(1, 6)}
    model = build_alexnet(10, tower_devices=None, fc_units=16, **widths)
    needs = per_layer.needs_input_gradient(model)
    assert not needs & {"preprocess", "conv1_pad", "conv1a", "conv1b"}
    assert {"lrn1a", "lrn1b", "conv2a", "conv3b", "fc8"} <= needs
    rows = {r.name: r for r in per_layer.layer_costs(model, batch=2, steps=1, warmup=1)}
    assert list(rows)[:5] == ["preprocess", "conv1_pad", "conv1", "lrn1", "pool1"]
    assert "conv1a" not in rows and rows["fc8"].kind == "dense"
    conv1 = 2 * (11 * 11 * 3 * 8) * 55 * 55  # per tower and image
    assert rows["conv1"].gflop == pytest.approx(2 * conv1 * 2 * 2 / 1e9)  # towers, batch, passes
    conv2 = 2 * (5 * 5 * 8 * 8) * 27 * 27
    assert rows["conv2"].gflop == pytest.approx(2 * conv2 * 2 * 3 / 1e9)
    for row in rows.values():
        assert row.forward > 0
        assert (row.bare is not None) == (row.kind in ("conv", "dense"))
    assert rows["conv2"].backward > 0 and rows["fc6"].backward > 0


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_each_form_is_found_where_the_precision_takes_it_and_set_plain(policy):
    """`step.py forms` compares the step as chosen with each form set plain: in float32
    the model takes the LRN's, the dense, preprocessing and update forms; in bfloat16
    the same (fc8, float32 there, keeps the dense form), and conv1's where the CPU has
    AMX tiles. set_plain turns each off."""
    from alexnet_tf.studies.speed import Bench, compiled_model

    bench = Bench(num_classes=10, mixed_precision=policy)
    taken = {name for name, t in forms._applies(compiled_model(bench)).items() if t}
    in_both = {"lrn_xla", "dense_transposed_input_grad", "preprocess_xla", "update_xla"}
    tiles = {"conv1_space_to_depth"} if precision.cpu_has_bf16_tiles() else set()
    assert taken == (in_both if policy == "float32" else in_both | tiles)
    for form in forms.FORMS:
        model = compiled_model(bench)
        forms.set_plain(model, form)
        left = {name for name, t in forms._applies(model).items() if t}
        assert left == taken - {form}, form
    with pytest.raises(ValueError, match="unknown form 'fast'"):
        forms.set_plain(model, "fast")
