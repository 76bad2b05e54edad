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
}


def _bench(mode, records, tmp_path, *extra, command=("-m", "alexnet_tf.benchmark"), shown=None):
    """Run a benchmark mode (`command`: the program after python; `shown`: as its
    reproduce line names it, by default the same) and return its JSON."""
    cmd = [
        sys.executable,
        *command,
        mode,
        "--steps=1",
        "--warmup_steps=1",
        f"--data_dir={records}",
        *extra,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    shown = shown or f"python {' '.join(command)}"
    assert lines[-2].startswith(f"reproduce with: {shown} {mode}")
    result = json.loads(lines[-1])
    assert result["benchmark"] == mode and result["images_per_sec"] > 0
    assert result["cpu_count"] == os.cpu_count() and result["tf_version"]
    assert result["cpu_model"] == precision.read_cpu()[0]
    return result


# 14-56 s each: with -m slow, so that the default run stays within 12 min on 2 cores
SLOW_MODES = ("end_to_end", "serve", "service", "input")


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
    auto = _bench("convert", records, tmp_path, "--num_images=4", "--num_workers=1")
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


@pytest.mark.slow  # 20 s: the end_to_end benchmark again, as train --deterministic runs
def test_end_to_end_times_the_replayable_run(records, tmp_path):
    result = _bench(
        "end_to_end", records, tmp_path, "--mixed_precision=float32", "--batch_size=2",
        "--deterministic",
    )  # fmt: skip
    assert result["deterministic"] is True and result["config"]["deterministic"] is True
    r = subprocess.run(
        [sys.executable, "-m", "alexnet_tf.benchmark", "train", "--deterministic"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 2 and "--deterministic applies to end_to_end" in r.stderr
