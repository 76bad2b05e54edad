"""Every benchmark mode runs and reports its JSON line (figures are not asserted: speed is
measured by the benchmarks themselves, not by timed tests)."""

import json
import os
import subprocess
import sys

import pytest

from alexnet_tf.core import precision

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def records(demo_records):
    return demo_records(2, 1)


CASES = {
    "train": (["--batch_size=2", "--matmul_size=256"], ["gflops_per_sec", "fraction_of_matmul"]),
    "input": (
        ["--batch_size=2"],
        [
            "ratio_to_decode_only",
            "crop_decode_ratio_to_decode_only",
            "naive_ratio_to_decode_only",
            "parts_ratio_to_decode_only",
        ],
    ),
    "end_to_end": (["--batch_size=2"], ["ratio_to_in_memory", "step_seconds"]),
    "serve": (
        ["--batch_size=2", "--num_classes=10"],
        ["latency_ms_batch1", "session_latency_ms_batch1", "preprocessing_overhead_batch1"],
    ),
    "convert": (["--num_images=8", "--num_workers=1"], ["images_per_sec_by_workers"]),
    "service": (
        ["--batch_size=2", "--num_workers=1"],
        ["images_per_sec_by_source", "ratio_to_local"],
    ),
    "layout": (["--batch_size=2"], ["nchw_relative_time"]),
    "lrn": (["--batch_size=2"], ["speedup_over_op"]),
    "layers": (
        ["--batch_size=2", "--matmul_size=256"],
        ["layers", "update_ms", "step_fraction_of_matmul", "bare_fraction_of_matmul"],
    ),
    "forms": (
        ["--batch_size=2", "--num_classes=10"],
        ["forms_taken", "variants_images_per_sec", "gain_of_form", "gain_over_all_plain"],
    ),
    "winograd": (["--batch_size=2"], ["direct_ms", "ms", "largest_error"]),
}


def _bench(mode, records, tmp_path, *extra):
    cmd = [
        sys.executable,
        "-m",
        "alexnet_tf.benchmark",
        mode,
        "--steps=1",
        "--warmup_steps=1",
        f"--data_dir={records}",
        *extra,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert lines[-2].startswith(f"reproduce with: python -m alexnet_tf.benchmark {mode}")
    result = json.loads(lines[-1])
    assert result["benchmark"] == mode and result["images_per_sec"] > 0
    assert result["cpu_count"] == os.cpu_count() and result["tf_version"]
    assert result["cpu_model"] == precision.read_cpu()[0]
    return result


# 14-56 s each (forms builds the model five times; its choices are tested in-process
# below): with -m slow, so that the default run stays within 12 min on 2 cores
SLOW_MODES = ("end_to_end", "serve", "service", "layout", "forms", "input", "layers", "winograd")


@pytest.mark.parametrize(
    "mode",
    [pytest.param(m, marks=pytest.mark.slow) if m in SLOW_MODES else m for m in sorted(CASES)],
)
def test_benchmark_mode_reports_json(mode, records, tmp_path):
    extra, keys = CASES[mode]
    result = _bench(mode, records, tmp_path, "--mixed_precision=float32", *extra)
    for key in keys:
        assert key in result, key
    assert result["config"]["mixed_precision"] == "float32"


@pytest.mark.slow  # measured 20-70 s each on 2 cores: the default run stays near 12 min
def test_benchmark_measures_the_ceiling_in_the_precision_it_runs(records, tmp_path):
    """A bfloat16 run divides by a bfloat16 matmul (forced, so this holds on any CPU);
    with auto the JSON holds the policy used, what was asked and the CPU's flags."""
    bf16 = _bench(
        "train", records, tmp_path, "--mixed_precision=mixed_bfloat16", "--batch_size=2",
        "--matmul_size=256",
    )  # fmt: skip
    assert bf16["matmul_dtype"] == "bfloat16"
    assert bf16["config"]["mixed_precision"] == "mixed_bfloat16"
    auto = _bench("layout", records, tmp_path, "--batch_size=2")
    machine = precision.Machine(*precision.read_cpu())
    expected = precision.choose("auto", machine).policy
    assert auto["config"]["mixed_precision"] == expected
    assert auto["config"]["mixed_precision_asked"] == "auto"
    assert auto["cpu_bf16_flags"] == machine.cpu_bf16_flags


def _conv_macs(size, cin, kernel, cout, stride=1, pad=0, groups=1):
    out = (size + 2 * pad - kernel) // stride + 1
    return out * out * kernel * kernel * (cin // groups) * cout


def test_flops_are_counted_from_the_model_being_timed():
    """The paper's network against its layer table (written out here), and the one-tower
    variants, whose widths differ, against their own."""
    from alexnet_tf.model import build_alexnet
    from alexnet_tf.studies.speed import forward_gflop

    def alexnet_macs(c1, c2, c3, c4, c5, fc, groups):
        return (
            _conv_macs(224, 3, 11, c1, stride=4, pad=2)
            + _conv_macs(27, c1, 5, c2, pad=2, groups=groups)
            + _conv_macs(13, c2, 3, c3, pad=1)
            + _conv_macs(13, c3, 3, c4, pad=1, groups=groups)
            + _conv_macs(13, c4, 3, c5, pad=1, groups=groups)
            + 6 * 6 * c5 * fc
            + fc * fc
            + fc * 1000
        )

    paper = alexnet_macs(96, 256, 384, 384, 256, 4096, groups=2)
    assert 2 * paper / 1e9 == pytest.approx(1.45, abs=0.01)  # docs/paper.md: 724 M
    expected = {
        "two_tower": paper,
        "one_tower": alexnet_macs(96, 256, 384, 384, 256, 4096, groups=1),
        "one_tower_half": alexnet_macs(48, 128, 192, 192, 256, 4096, groups=1),
    }
    for architecture, macs in expected.items():
        model = build_alexnet(1000, tower_devices=None, architecture=architecture)
        assert forward_gflop(model) == pytest.approx(2 * macs / 1e9, rel=1e-9), architecture


@pytest.mark.quick
@pytest.mark.parametrize(
    "args, message",
    [
        (["end_to_end", "--data_service=localhost:1"], "nothing answers at"),
        (["train", "--data_service=localhost:1"], "applies to end_to_end only"),
    ],
)
def test_a_data_service_that_cannot_be_used_is_refused_first(args, message, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.benchmark", *args],
        capture_output=True, text=True, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 2 and message in r.stderr, r.stderr[-2000:]


def test_per_layer_rows_take_the_gradients_the_step_takes():
    """One row per layer, twin towers summed; conv1 (reading the image) needs no input
    gradient, so its FLOPs count forward and weight gradient only; each conv and dense
    row has its bare kernel."""
    from alexnet_tf.model import build_alexnet
    from alexnet_tf.studies import per_layer

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
    """`benchmark forms` compares the step as chosen with each form set plain: in float32
    the model takes the LRN's, the dense, preprocessing and update forms; in bfloat16
    the same (fc8, float32 there, keeps the dense form), and conv1's where the CPU has
    AMX tiles. set_plain turns each off."""
    from alexnet_tf.studies import forms
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
