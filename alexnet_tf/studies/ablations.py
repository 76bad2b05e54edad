"""The paper's ablations as one study: every variant trained with the same flags, budget and
seeds, evaluated on the centre crop and the ten views, and summarised as a Markdown table,
per-epoch histories and the training curves of ReLU and tanh. (The paper's Figure 1 itself,
by its own protocol, is `studies/figure1.py`: --study=figure1.)

    python tools/run_ablations.py --flagfile=configs/demo.flags --data_dir=data/demo \\
        --out=runs/ablations --seeds=3 [--variants=paper,tanh] [train flags, e.g. --epochs=6]

Each run is `python -m alexnet_tf.train` in a process of its own, in OUT/runs/VARIANT-seedN
(its own model_dir, so an interrupted study resumes from the runs' backups). A finished run
is recorded in OUT/runs/VARIANT-seedN/ablation_run.json and reused by a rerun with the same
settings; a rerun with other settings is refused rather than mixed in.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

from alexnet_tf.core.files import atomic_write_json, atomic_write_text, save_figure
from alexnet_tf.core.rundir import RunDir


@dataclasses.dataclass(frozen=True)
class Variant:
    flags: tuple[str, ...]  # train flags that make this variant from the paper's network
    change: str
    paper: str  # what the paper reports for this factor


VARIANTS = {
    "paper": Variant(
        (), "the paper's network (ReLU, LRN, 3x3/2 pooling, two towers, dropout, PCA)", "-"
    ),
    "tanh": Variant(
        ("--activation=tanh",),
        "tanh instead of ReLU",
        "ReLU 6x faster to 25% training error (Figure 1; see the Figure 1 study)",
    ),
    "no_lrn": Variant(("--nolrn",), "no local response normalization", "+1.4 / +1.2"),
    "plain_pool": Variant(
        ("--nooverlapping_pool",), "2x2/2 pooling instead of 3x3/2", "+0.4 / +0.3"
    ),
    "one_tower_half": Variant(
        ("--architecture=one_tower_half",),
        "one tower with half the kernels in each conv layer",
        "+1.7 / +1.2",
    ),
    "one_tower": Variant(
        ("--architecture=one_tower",), "one tower with all the kernels", "not reported"
    ),
    "no_dropout": Variant(("--dropout=0",), "no dropout", "substantial overfitting (section 4.2)"),
    "no_pca": Variant(("--nopca_lighting",), "no PCA lighting", "over +1 top-1"),
}
BASELINE = "paper"
# Every run starts from the paper's regularisation, whatever the flagfile says (a short
# recipe may lighten it), so each variant is the paper's network with one change.
PAPER_REGULARISATION = ("--dropout=0.5", "--pca_lighting", "--pca_std=0.1")
NOISE_STANDARD_ERRORS = 2  # a difference beyond this many standard errors is reported
STATUS_TRAINED, STATUS_DIVERGED = "trained", "diverged"


class AblationError(RuntimeError):
    """A study that cannot start: bad variants, seeds or flags, or an OUT of other settings."""


class RunFailed(RuntimeError):
    """A training run that failed for a reason other than divergence."""


def parse_variants(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise AblationError(
            f"--variants={text} names {', '.join(unknown) or 'nothing'}; accepted: "
            f"{', '.join(VARIANTS)} (comma-separated)."
        )
    return list(dict.fromkeys(names))


def run_name(variant: str, seed: int) -> str:
    return f"{variant}-seed{seed}"


def train_args(flagfile, data_dir, run_dir, seed, variant, extra) -> list[str]:
    """The train command's flags for one run: the flagfile, the user's overrides, then what
    the study sets: the paper's regularisation and the variant's change (later flags
    win)."""
    return [
        f"--flagfile={flagfile}",
        *extra,
        f"--data_dir={data_dir}",
        f"--model_dir={run_dir}",
        f"--seed={seed}",
        *PAPER_REGULARISATION,
        *VARIANTS[variant].flags,
    ]


def _train(args, check_only=False, log_path=None):
    cmd = [sys.executable, "-m", "alexnet_tf.train", *args]
    if check_only:
        return subprocess.run([*cmd, "--check_only"], capture_output=True, text=True)
    with open(log_path, "a", encoding="utf-8") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)


def _read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def plan(flagfile, data_dir, out, seeds, variants, extra) -> list[dict]:
    """Every run of the study with its resolved configuration, checked before any training:
    a flag the train command refuses, or an OUT holding runs of other settings, is an error
    here."""
    if not os.path.isfile(flagfile):
        raise AblationError(f"--flagfile={flagfile} does not exist.")
    if seeds < 1:
        raise AblationError(f"--seeds must be >= 1. Received: {seeds}")
    runs = []
    for variant in variants:
        for seed in range(seeds):
            run_dir = os.path.join(out, "runs", run_name(variant, seed))
            args = train_args(flagfile, data_dir, run_dir, seed, variant, extra)
            check = _train(args, check_only=True)
            if check.returncode != 0:
                raise AblationError(
                    f"the train command refuses the flags of run {run_name(variant, seed)}: "
                    f"{check.stderr.strip()}"
                )
            config = json.loads(check.stdout)
            record = _read_json(RunDir(run_dir).study_record, {})
            if record and record.get("config") != config:
                raise AblationError(
                    f"{run_dir} holds a run made with other settings; use a new --out (or "
                    "delete that run) to change the study's flags."
                )
            runs.append(
                {"variant": variant, "seed": seed, "dir": run_dir, "args": args, "config": config}
            )
    return runs


def count_and_evaluate(run_dir: str, batch_size: int) -> dict:
    """Parameters of the final model, and its centre-crop and ten-view errors on the
    validation split."""
    import keras

    from alexnet_tf import data
    from alexnet_tf.inference import saving
    from alexnet_tf.inference.evaluate import evaluate

    model = saving.load_for_inference(RunDir(run_dir).latest)
    data_dir = saving.run_data_dir(run_dir)
    result = {"params": int(model.count_params())}
    for crops, key in ((1, "centre"), (10, "ten_crop")):
        ds = data.eval_dataset(data_dir, batch_size, crops=crops, image_size=model.input.shape[1])
        result[key] = evaluate(model, ds, crops=crops)
    del model
    keras.backend.clear_session()
    return result


def execute(run: dict, eval_batch_size: int, say=print) -> dict:
    """Train (or resume) one run and evaluate it; returns its record. A finished run's
    record is returned as it is."""
    run_dir = RunDir(run["dir"])
    path = run_dir.study_record
    record = _read_json(path, {}) or {"config": run["config"], "wall_seconds": 0.0}
    if record.get("status") in (STATUS_TRAINED, STATUS_DIVERGED):
        say(f"{run_name(run['variant'], run['seed'])}: finished earlier, reused")
        return record
    os.makedirs(run["dir"], exist_ok=True)
    log_path = run_dir.train_log
    start = time.monotonic()
    result = _train(run["args"], log_path=log_path)
    record["wall_seconds"] += time.monotonic() - start
    if result.returncode == 1 and _log_says_diverged(log_path):
        record["status"] = STATUS_DIVERGED
    elif result.returncode != 0:
        atomic_write_json(path, record)  # keep the time spent; a rerun resumes the run
        raise RunFailed(
            f"run {run['dir']} failed (exit {result.returncode}); its log {log_path} ends:\n"
            + _tail(log_path)
        )
    else:
        record["status"] = STATUS_TRAINED
        record.update(count_and_evaluate(run["dir"], eval_batch_size))
        # The backups only serve an unfinished run; the final model stays in latest.keras.
        shutil.rmtree(run_dir.backup, ignore_errors=True)
    record["history"] = _read_json(run_dir.history_json, [])
    atomic_write_json(path, record)
    return record


def _log_says_diverged(log_path) -> bool:
    return "train: stopped:" in _tail(log_path)


def _tail(path, lines=15) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


# -- summary --------------------------------------------------------------------------------


def _mean_std(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def epochs_to_reach(history, key, target):
    """First epoch (1-based) whose `key` is at or below `target`; None if never."""
    for row in history:
        if row.get(key, math.inf) <= target:
            return row["epoch"] + 1
    return None


def _minutes(seconds) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def summarize(runs: list[dict], records: list[dict], target_train_error: float) -> dict:
    """Per variant: each seed's numbers and their mean and std."""
    by_variant: dict[str, list] = {}
    for run, record in zip(runs, records, strict=True):
        history = record.get("history", [])
        last = history[-1] if history else {}
        by_variant.setdefault(run["variant"], []).append(
            {
                "seed": run["seed"],
                "status": record["status"],
                "wall_seconds": record["wall_seconds"],
                "params": record.get("params"),
                "centre_top1": record.get("centre", {}).get("top1_error"),
                "centre_top5": record.get("centre", {}).get("top5_error"),
                "ten_crop_top1": record.get("ten_crop", {}).get("top1_error"),
                "ten_crop_top5": record.get("ten_crop", {}).get("top5_error"),
                "final_train_top1": last.get("top1_error"),
                "epochs_to_target": epochs_to_reach(history, "top1_error", target_train_error),
                "history": history,
            }
        )
    return by_variant


def difference(values: list, baseline: list) -> dict:
    """Mean(values) - mean(baseline), its standard error over seeds (sample std, ddof=1:
    sqrt(s_v^2 / n_v + s_b^2 / n_b)) and whether it exceeds NOISE_STANDARD_ERRORS of them.
    With fewer than two seeds on either side there is no standard error and no verdict."""
    diff = statistics.mean(values) - statistics.mean(baseline)
    if len(values) < 2 or len(baseline) < 2:
        return {"difference": diff, "standard_error": None, "verdict": "one seed: no estimate"}
    se = math.sqrt(
        statistics.variance(values) / len(values) + statistics.variance(baseline) / len(baseline)
    )
    beyond = abs(diff) > NOISE_STANDARD_ERRORS * se
    return {
        "difference": diff,
        "standard_error": se,
        "verdict": "beyond noise" if beyond else "within noise",
    }


def markdown_table(by_variant: dict, target_train_error: float) -> str:
    header = (
        "| variant | change | top-1 (centre) | top-5 (centre) | top-1 (10 views) | "
        "top-5 (10 views) | Δ top-1 vs paper ± SE (points) | noise? | "
        "paper reports (top-1 / top-5 points) | "
        f"final train top-1 | epochs to train top-1 ≤ {target_train_error:g} | "
        "wall time per run | parameters |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    base = [s["centre_top1"] for s in by_variant.get(BASELINE, []) if s["centre_top1"] is not None]
    for variant, seeds in by_variant.items():
        top1 = [s["centre_top1"] for s in seeds if s["centre_top1"] is not None]
        delta, noise = "-", "-"
        if base and top1 and variant != BASELINE:
            d = difference(top1, base)  # in points, as the paper reports its ablations
            se = d["standard_error"]
            delta = f"{100 * d['difference']:+.1f}" + (
                f" ± {100 * se:.1f}" if se is not None else ""
            )
            noise = d["verdict"]
        diverged = sum(s["status"] == STATUS_DIVERGED for s in seeds)
        reach = [s["epochs_to_target"] for s in seeds]
        reach_text = ", ".join("not reached" if r is None else str(r) for r in reach)
        params = {s["params"] for s in seeds if s["params"]}
        name = variant + (f" ({diverged} of {len(seeds)} diverged)" if diverged else "")
        cells = [
            name,
            VARIANTS[variant].change,
            _mean_std(top1),
            _mean_std([s["centre_top5"] for s in seeds]),
            _mean_std([s["ten_crop_top1"] for s in seeds]),
            _mean_std([s["ten_crop_top5"] for s in seeds]),
            delta,
            noise,
            VARIANTS[variant].paper,
            _mean_std([s["final_train_top1"] for s in seeds]),
            reach_text,
            _minutes(statistics.mean(s["wall_seconds"] for s in seeds)),
            ", ".join(f"{p:,}" for p in sorted(params)) or "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_relu_vs_tanh(by_variant: dict, out_png: str, target_train_error: float) -> str:
    """Training top-1 error against epochs of the full network with ReLU (solid) and tanh
    (dashed), one line per seed, drawn as the paper's Figure 1 is; the Figure 1 protocol
    (a four-layer net, each activation at its best rate) is studies/figure1.py."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for variant, style, colour in ((BASELINE, "-", "tab:blue"), ("tanh", "--", "tab:red")):
        for i, s in enumerate(by_variant.get(variant, [])):
            h = s["history"]
            label = ("ReLU" if variant == BASELINE else "tanh") if i == 0 else None
            ax.plot(
                [r["epoch"] + 1 for r in h],
                [r["top1_error"] for r in h],
                style,
                color=colour,
                label=label,
            )
    ax.axhline(target_train_error, color="gray", linestyle=":", linewidth=1)
    ax.set(xlabel="epochs", ylabel="training error rate (top-1)", ylim=(0, 1))
    ax.set_title("The full network, ReLU (solid) vs tanh (dashed)")
    ax.legend()
    save_figure(fig, out_png)
    return out_png


def plot_validation(by_variant: dict, out_png: str) -> str:
    """Validation top-1 error against epochs for every variant (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for variant, seeds in by_variant.items():
        histories = [s["history"] for s in seeds if s["history"]]
        if not histories:
            continue
        n = min(len(h) for h in histories)
        mean = [statistics.mean(h[e]["val_top1_error"] for h in histories) for e in range(n)]
        ax.plot(range(1, n + 1), mean, "-" if variant == BASELINE else "--", label=variant)
    ax.set(xlabel="epochs", ylabel="validation top-1 error (centre crop)", ylim=(0, 1))
    ax.legend(fontsize="small")
    save_figure(fig, out_png)
    return out_png


def write_report(out, runs, records, target_train_error, command) -> dict:
    """OUT/ablations.md, OUT/results.json, OUT/relu_vs_tanh.png and OUT/validation_error.png."""
    by_variant = summarize(runs, records, target_train_error)
    table = markdown_table(by_variant, target_train_error)
    seeds = sorted({r["seed"] for r in runs})
    text = (
        "# Ablations\n\n"
        f"Made by: `{command}`\n\n"
        f"Seeds: {', '.join(map(str, seeds))}; mean ± std over seeds (sample std). Errors "
        "are fractions, on the validation split, of the model after the last epoch; the "
        "difference to the paper's network is in points (x100), as the paper reports it, "
        "± its standard error over seeds; it is 'beyond noise' when larger than "
        f"{NOISE_STANDARD_ERRORS} standard errors. "
        "Wall time is training only, per run, and includes whatever else ran on the "
        "machine.\n\n" + table + "\n"
        "![ReLU vs tanh](relu_vs_tanh.png)\n\n![validation error](validation_error.png)\n"
    )
    atomic_write_text(os.path.join(out, "ablations.md"), text)
    atomic_write_json(
        os.path.join(out, "results.json"),
        {"command": command, "target_train_error": target_train_error, "variants": by_variant},
    )
    plot_relu_vs_tanh(by_variant, os.path.join(out, "relu_vs_tanh.png"), target_train_error)
    plot_validation(by_variant, os.path.join(out, "validation_error.png"))
    return by_variant
