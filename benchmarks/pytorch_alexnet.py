"""The same training step in PyTorch, beside ours, in one run on the same CPU.

    pip install torch                 # not a dependency of alexnet_tf
    python benchmarks/pytorch_alexnet.py [--steps=10] [--warmup=3] [--batch_size=64]

PyTorch's AlexNet here is the paper's two-tower network as most ports write it: one
tower with grouped convolutions (groups=2 in conv2, conv4 and conv5), the same 60,965,224
parameters as `alexnet_tf.model.build_alexnet(1000)`, LRN with the paper's constants
(torch divides alpha by the window size, so 5e-4 here is the paper's 1e-4), SGD with
momentum 0.9 and weight decay 5e-4, batch 64 of 224x224 crops. It runs eager and
`torch.compile`d (inductor), in float32 and in bfloat16 (autocast, channels_last), and
then `python -m alexnet_tf.benchmark train --mixed_precision=P` for both precisions in
child processes, and prints every images/s figure and ours over PyTorch's best.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
from torch import nn


def alexnet(num_classes: int = 1000) -> nn.Module:
    """The paper's network, towers as groups; 60,965,224 parameters at 1000 classes."""
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
    torch.manual_seed(0)
    model = alexnet()
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


def ours(precision: str, args) -> dict:
    """`benchmark train`'s record, from a child process (it prints JSON last): our
    images/s, and the CPU model as the package reads it."""
    policy = {"float32": "float32", "bfloat16": "mixed_bfloat16"}[precision]
    cmd = [
        sys.executable, "-m", "alexnet_tf.benchmark", "train", f"--mixed_precision={policy}",
        f"--batch_size={args.batch_size}", f"--steps={args.steps}",
        f"--warmup_steps={args.warmup}", "--matmul_size=0",
    ]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    assert sum(p.numel() for p in alexnet().parameters()) == 60_965_224
    rows = {}
    for precision in ("float32", "bfloat16"):
        for compiled in (False, True):
            name = f"PyTorch {torch.__version__} {'torch.compile' if compiled else 'eager'}"
            rows[(name, precision)] = torch_rate(precision, compiled, args)
            print(f"{name}, {precision}: {rows[(name, precision)]:.1f} images/s", flush=True)
        record = ours(precision, args)
        rows[("alexnet_tf", precision)] = record["images_per_sec"]
        print(f"alexnet_tf, {precision}: {record['images_per_sec']:.1f} images/s")
    print(f"\n{record['cpu_model']}, {os.cpu_count()} cores, batch {args.batch_size}\n")
    print("| | float32, images/s | bfloat16, images/s |\n|---|---|---|")
    for name in dict.fromkeys(n for n, _ in rows):
        print(f"| {name} | {rows[(name, 'float32')]:.1f} | {rows[(name, 'bfloat16')]:.1f} |")
    best = {
        p: max(v for (n, q), v in rows.items() if q == p and n != "alexnet_tf")
        for p in ("float32", "bfloat16")
    }
    ratios = {p: rows[("alexnet_tf", p)] / best[p] for p in best}
    print(
        f"| ours / PyTorch's best | {ratios['float32']:.2f}x | {ratios['bfloat16']:.2f}x |\n"
        f"\nreproduce with: python benchmarks/pytorch_alexnet.py {' '.join(sys.argv[1:])}"
    )


if __name__ == "__main__":
    main()
