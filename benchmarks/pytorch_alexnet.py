"""The same training step in PyTorch, beside ours, taken in turns on the same CPU.

    pip install torch                 # not a dependency of alexnet_tf
    python benchmarks/pytorch_alexnet.py [--rounds=3] [--steps=10] [--warmup=3]

PyTorch's AlexNet here is the paper's two-tower network as most ports write it: one
tower with grouped convolutions (groups=2 in conv2, conv4 and conv5), the same 60,965,224
parameters as `alexnet_tf.model.build_alexnet(1000)`, LRN with the paper's constants
(torch divides alpha by the window size, so 5e-4 here is the paper's 1e-4), SGD with
momentum 0.9 and weight decay 5e-4, batch 64 of 224x224 crops, in float32 and in
bfloat16 (autocast, channels_last).

Each figure comes from a child process of its own: `torch.compile` (inductor) of that
step, and ours, `python -m alexnet_tf.benchmark train --mixed_precision=P`. They take
turns, torch.compile then ours in each precision, for --rounds rounds, so that drift in
the machine's speed, which moves either figure by 20% from one quarter of an hour to the
next on a shared 2-core machine, falls on both alike; each round's ratio is ours over
torch.compile's figure of the same round. Eager PyTorch runs once, in the first round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PRECISIONS = ("float32", "bfloat16")


def alexnet(num_classes: int = 1000):
    """The paper's network, towers as groups; 60,965,224 parameters at 1000 classes."""
    from torch import nn

    lrn = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)  # torch: alpha / size per square
    return nn.Sequential(
        nn.ZeroPad2d(2),
        nn.Conv2d(3, 96, 11, stride=4),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(**lrn),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(**lrn),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4096, num_classes),
    )


def torch_rate(precision: str, compiled: bool, args) -> float:
    """Training images/s of one PyTorch variant: median step time over args.steps."""
    import torch
    from torch import nn

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    model = alexnet()
    assert sum(p.numel() for p in model.parameters()) == 60_965_224
    images = torch.rand(args.batch_size, 3, 224, 224) * 255 - 120
    labels = torch.randint(0, 1000, (args.batch_size,))
    if precision == "bfloat16":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bfloat16"):
            loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.detach()

    if compiled:
        step = torch.compile(step)
    for _ in range(args.warmup):
        float(step())
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        float(step())
        times.append(time.perf_counter() - start)
    return args.batch_size / statistics.median(times)


def _run(cmd) -> dict:
    """A child's JSON record, the last line it prints."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_torch(variant: str, precision: str, args) -> float:
    cmd = [
        sys.executable, __file__, f"--child={variant}:{precision}", f"--steps={args.steps}",
        f"--warmup={args.warmup}", f"--batch_size={args.batch_size}",
    ]  # fmt: skip
    return _run(cmd)["images_per_sec"]


def child_ours(precision: str, args) -> dict:
    """`benchmark train`'s record: our images/s, and the CPU model as the package reads it."""
    policy = {"float32": "float32", "bfloat16": "mixed_bfloat16"}[precision]
    cmd = [
        sys.executable, "-m", "alexnet_tf.benchmark", "train", f"--mixed_precision={policy}",
        f"--batch_size={args.batch_size}", f"--steps={args.steps}",
        f"--warmup_steps={args.warmup}", "--matmul_size=0",
    ]  # fmt: skip
    return _run(cmd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # VARIANT:PRECISION, one figure
    args = parser.parse_args()
    if args.child:
        variant, precision = args.child.split(":")
        rate = torch_rate(precision, variant == "compile", args)
        print(json.dumps({"images_per_sec": rate}))
        return
    import torch

    version = torch.__version__
    rates = {(name, p): [] for name in ("eager", "compile", "ours") for p in PRECISIONS}
    cpu = "unknown CPU"
    for r in range(args.rounds):
        for precision in PRECISIONS:
            variants = ("eager", "compile") if r == 0 else ("compile",)
            for variant in variants:
                rates[(variant, precision)].append(child_torch(variant, precision, args))
            record = child_ours(precision, args)
            cpu = record["cpu_model"]
            rates[("ours", precision)].append(record["images_per_sec"])
            print(
                f"round {r + 1}, {precision}: torch.compile "
                f"{rates[('compile', precision)][-1]:.1f}, ours "
                f"{rates[('ours', precision)][-1]:.1f} images/s",
                flush=True,
            )
    ratios = {
        p: [o / c for o, c in zip(rates[("ours", p)], rates[("compile", p)], strict=True)]
        for p in PRECISIONS
    }

    def cell(values, unit=""):
        shown = ", ".join(f"{v:.2f}{unit}" if unit else f"{v:.1f}" for v in values)
        if len(values) == 1:
            return shown
        median = statistics.median(values)
        return f"{shown} (median {median:.2f}{unit})" if unit else f"{shown} ({median:.1f})"

    print(f"\n{cpu}, {os.cpu_count()} cores, batch {args.batch_size}, {args.rounds} rounds\n")
    print("| | float32, images/s | bfloat16, images/s |\n|---|---|---|")
    labels = {
        "eager": f"PyTorch {version} eager",
        "compile": f"PyTorch {version} torch.compile",
        "ours": "alexnet_tf",
    }
    for name, label in labels.items():
        print(f"| {label} | {cell(rates[(name, 'float32')])} | {cell(rates[(name, 'bfloat16')])} |")
    print(
        f"| ours / torch.compile, each round | {cell(ratios['float32'], 'x')} "
        f"| {cell(ratios['bfloat16'], 'x')} |\n"
        f"\nreproduce with: python benchmarks/pytorch_alexnet.py {' '.join(sys.argv[1:])}"
    )


if __name__ == "__main__":
    main()
