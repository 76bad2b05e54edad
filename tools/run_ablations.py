"""Train and compare the paper's ablations with one command.

    python tools/run_ablations.py --flagfile=configs/demo.flags --data_dir=data/demo \\
        --out=runs/ablations [--seeds=3] [--variants=paper,tanh,...] [train flags ...]

Any other --flag is passed to every training run (e.g. --epochs=6 for a shorter budget).
Writes OUT/ablations.md (the table), OUT/results.json (every number, every run's per-epoch
history), OUT/figure1.png (training error of ReLU, solid, vs tanh, dashed) and
OUT/validation_error.png; each run lives in OUT/runs/VARIANT-seedN. Rerunning the same
command reuses the finished runs and resumes an interrupted one. Variants:
paper, tanh, no_lrn, plain_pool, one_tower_half, one_tower, no_dropout, no_pca.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from alexnet_tf import cli
from alexnet_tf.studies import ablations


def parse(argv):
    # argparse, not absl: absl reads --flagfile itself (it expands the file into flags it
    # must know), while this tool forwards --flagfile and every other --flag unchanged to
    # each run of `python -m alexnet_tf.train`.
    parser = argparse.ArgumentParser(
        prog="run_ablations",
        allow_abbrev=False,  # --seed, --data... are train flags, not abbreviations of ours
        description=__doc__.split("\n\n")[0],
        epilog="Other --flags are passed to python -m alexnet_tf.train.",
    )
    parser.add_argument("--flagfile", required=True, help="The train flags every run starts from.")
    parser.add_argument("--data_dir", required=True, help="TFRecords to train and evaluate on.")
    parser.add_argument("--out", required=True, help="Directory for the runs and the report.")
    parser.add_argument("--seeds", type=int, default=3, help="Runs per variant (seeds 0..N-1).")
    parser.add_argument(
        "--variants", default=",".join(ablations.VARIANTS), help="Comma-separated variants."
    )
    parser.add_argument(
        "--target_train_error",
        type=float,
        default=0.5,
        help="Training top-1 error whose first epoch the table reports (Figure 1 used 0.25).",
    )
    parser.add_argument("--eval_batch_size", type=int, default=32, help="Evaluation batch.")
    args, extra = parser.parse_known_args(argv)
    stray = [a for a in extra if not a.startswith("--")]
    if stray:
        parser.error(f"unexpected arguments: {' '.join(stray)} (train flags are --name=value)")
    if not 0 < args.target_train_error <= 1:
        parser.error(f"--target_train_error must be in (0, 1]. Received: {args.target_train_error}")
    if args.eval_batch_size < 1:
        parser.error(f"--eval_batch_size must be >= 1. Received: {args.eval_batch_size}")
    return args, extra


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli.set_program("run_ablations")
    argv = sys.argv[1:] if argv is None else argv
    args, extra = parse(argv)
    command = "python tools/run_ablations.py " + " ".join(shlex.quote(a) for a in argv)
    try:
        variants = ablations.parse_variants(args.variants)
        runs = ablations.plan(args.flagfile, args.data_dir, args.out, args.seeds, variants, extra)
        os.makedirs(args.out, exist_ok=True)
        records = []
        for i, run in enumerate(runs, 1):
            name = ablations.run_name(run["variant"], run["seed"])
            print(f"[{i}/{len(runs)}] {name}: {run['dir']}", flush=True)
            record = ablations.execute(run, args.eval_batch_size)
            centre = record.get("centre", {}).get("top1_error")
            print(
                f"[{i}/{len(runs)}] {name}: {record['status']}, "
                f"{record['wall_seconds'] / 60:.1f} min"
                + (f", validation top-1 error {centre:.3f}" if centre is not None else ""),
                flush=True,
            )
            records.append(record)
        ablations.write_report(args.out, runs, records, args.target_train_error, command)
    except ablations.AblationError as e:
        cli.usage_error(str(e))
    except ablations.RunFailed as e:
        cli.fail(str(e))
    print(f"Report: {os.path.join(args.out, 'ablations.md')}")


if __name__ == "__main__":
    main()
