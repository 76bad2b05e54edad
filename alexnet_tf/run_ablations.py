"""Test the paper's claims by its own protocols: its ablations, and its Figure 1.

The ablations (the default study): every variant trained with the same flags, budget and
seeds, evaluated on the centre crop and the ten views:

    alexnet-run-ablations --flagfile=configs/demo.flags --data_dir=data/demo \\
        --out=runs/ablations [--seeds=3] [--variants=paper,tanh,...] [train flags ...]

Any other --flag is passed to every training run (e.g. --epochs=4 for a shorter budget).
Writes OUT/ablations.md (the table, with each difference to the paper's network, its
standard error and whether it is beyond noise), OUT/results.json (every number, every
run's per-epoch history), OUT/relu_vs_tanh.png and OUT/validation_error.png; each run
lives in OUT/runs/VARIANT-seedN. Rerunning the same command reuses the finished runs and
resumes an interrupted one. Variants: paper, tanh, no_lrn, plain_pool, one_tower_half,
one_tower, no_dropout, no_pca.

Figure 1 (section 3.1): a four-layer convnet on 32x32 images, ReLU against tanh, each at
the learning rate of a sweep that trains it fastest, no regularisation. By default the
network is our reconstruction of cuda-convnet's 18pct example, with its initialisation and
raw-pixel inputs; --network=modern is today's version of it:

    alexnet-run-ablations --study=figure1 --data_dir=data/demo --out=runs/figure1 \\
        [--network=cuda_convnet|modern] [--seeds=2] [--tfds_name=cifar10] \\
        [--target_train_error=0.25] [--epochs=40] [--rates=...] [--init=...] [--rnorm]

Reads only the training split. Writes OUT/figure1.json (network, initialisation and input
scaling, target, speed-up mean and std at it and at 20% and 15%, each activation's chosen
rate and epochs and steps per seed, every rate's runs, the rates the sweep was extended
by), OUT/figure1.md and OUT/figure1.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys

from alexnet_tf.core import cli
from alexnet_tf.studies import ablations

STUDIES = ("ablations", "figure1")


def _parser(study: str) -> argparse.ArgumentParser:
    # argparse, not absl: absl reads --flagfile itself (it expands the file into flags it
    # must know), while this tool forwards --flagfile and every other --flag unchanged to
    # each run of `python -m alexnet_tf.train`.
    parser = argparse.ArgumentParser(
        prog="run_ablations",
        allow_abbrev=False,  # --seed, --data... are train flags, not abbreviations of ours
        description=__doc__.split("\n\n")[0],
        epilog="Other --flags are passed to python -m alexnet_tf.train (ablations only).",
    )
    parser.add_argument("--study", choices=STUDIES, default="ablations")
    parser.add_argument("--out", required=True, help="Directory for the runs and the report.")
    if study == "figure1":
        from alexnet_tf.studies import figure1
        from alexnet_tf.studies.figure1 import Study

        parser.add_argument("--data_dir", help="TFRecords (their train split).")
        parser.add_argument("--tfds_name", help="A TFDS image data set instead, e.g. cifar10.")
        parser.add_argument(
            "--network",
            choices=figure1.NETWORKS,
            default=Study.network,
            help="cuda_convnet: our reconstruction of cuda-convnet's 18pct example (its "
            "pooling, per-layer init and raw-pixel inputs); modern: today's habits.",
        )
        parser.add_argument("--seeds", type=int, default=Study.seeds, help="Runs per rate.")
        parser.add_argument(
            "--rates",
            default="",
            help="The learning rates swept for each activation (comma-separated; default: "
            + "; ".join(
                f"{n}: {','.join(f'{r:g}' for r in rates)}"
                for n, rates in figure1.DEFAULT_RATES.items()
            )
            + ").",
        )
        parser.add_argument("--epochs", type=int, default=Study.epochs, help="Budget per run.")
        parser.add_argument(
            "--target_train_error",
            type=float,
            default=Study.target_train_error,
            help="The training error whose first epoch is counted (the paper: 0.25).",
        )
        parser.add_argument("--batch_size", type=int, default=Study.batch_size)
        parser.add_argument("--image_size", type=int, default=Study.image_size)
        parser.add_argument(
            "--max_images", type=int, default=Study.max_images, help="0: all train images."
        )
        parser.add_argument(
            "--init",
            default=None,
            help="--network=modern only: standard (He for ReLU, Glorot for tanh; the "
            "default) | glorot | normal (N(0, 0.01)).",
        )
        parser.add_argument(
            "--rnorm",
            action="store_true",
            help="--network=cuda_convnet only: its two rnorm layers (off, as the paper's "
            "Figure 1 used no regularization).",
        )
        return parser
    parser.add_argument("--flagfile", required=True, help="The train flags every run starts from.")
    parser.add_argument("--data_dir", required=True, help="TFRecords to train and evaluate on.")
    parser.add_argument("--seeds", type=int, default=3, help="Runs per variant (seeds 0..N-1).")
    parser.add_argument(
        "--variants", default=",".join(ablations.VARIANTS), help="Comma-separated variants."
    )
    parser.add_argument(
        "--target_train_error",
        type=float,
        default=0.5,
        help="Training top-1 error whose first epoch the table reports.",
    )
    parser.add_argument("--eval_batch_size", type=int, default=32, help="Evaluation batch.")
    return parser


def parse(argv):
    study = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    study.add_argument("--study", default="ablations")
    chosen = study.parse_known_args(argv)[0].study
    if chosen not in STUDIES:
        cli.usage_error(f"--study must be one of {', '.join(STUDIES)}. Received: {chosen}")
    parser = _parser(chosen)
    args, extra = parser.parse_known_args(argv)
    if chosen == "figure1" and extra:
        parser.error(f"unexpected arguments for --study=figure1: {' '.join(extra)}")
    stray = [a for a in extra if not a.startswith("--")]
    if stray:
        parser.error(f"unexpected arguments: {' '.join(stray)} (train flags are --name=value)")
    if not 0 < args.target_train_error <= 1:
        parser.error(f"--target_train_error must be in (0, 1]. Received: {args.target_train_error}")
    if chosen == "ablations" and args.eval_batch_size < 1:
        parser.error(f"--eval_batch_size must be >= 1. Received: {args.eval_batch_size}")
    return args, extra


def figure1(args, command):
    from alexnet_tf.studies import figure1

    try:
        rates = tuple(float(r) for r in args.rates.split(",") if r.strip())
    except ValueError:
        cli.usage_error(f"--rates must be numbers such as 0.01,0.03. Received: {args.rates}")
    names = [f.name for f in dataclasses.fields(figure1.Study) if f.name != "rates"]
    study = figure1.Study(**{name: getattr(args, name) for name in names}, rates=rates)
    problem = study.problem()
    if problem:
        cli.usage_error(problem)
    result = figure1.run(study, command, say=lambda line: print(line, flush=True))
    if "speedup_mean" in result:
        print(f"speed-up (tanh epochs / ReLU epochs): {result['speedup_mean']:.2f}")
    print(f"Report: {os.path.join(args.out, figure1.TABLE_FILE)}")


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cli.set_program("run_ablations")
    argv = sys.argv[1:] if argv is None else argv
    args, extra = parse(argv)
    command = "alexnet-run-ablations " + " ".join(shlex.quote(a) for a in argv)
    if args.study == "figure1":
        return figure1(args, command)
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


def run() -> None:
    """The `alexnet-run-ablations` command."""
    main()


if __name__ == "__main__":
    run()
