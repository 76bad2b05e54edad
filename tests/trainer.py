"""The train command as tests run it: small data, batch 4, float32 (tests pin their
precision, so results agree between CPUs with and without bfloat16 units).

Tests of mechanics (resume, faults, bad data, strategies, studies) train a small model of
the same class: every layer, tower and wire of the paper's network with 16 times fewer
kernels and units, through the width options every user has (`SMALL`). Tests of the
network itself pass `full_size=True`.
"""

import os
import subprocess
import sys

from alexnet_tf.core.options import ModelOptions

WIDTH_DIVISOR = 16
_PAPER = ModelOptions()
# The widths of the small model: the paper's per-tower widths, each 16 times fewer.
SMALL_WIDTHS = {
    name: getattr(_PAPER, name) // WIDTH_DIVISOR
    for name in ("conv1_filters", "conv2_filters", "conv3_filters", "conv4_filters")
    + ("conv5_filters", "fc_units")
}
SMALL = [f"--{name}={value}" for name, value in SMALL_WIDTHS.items()]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
# The repository: its configs/, tools/ and notebooks/.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `python FAULT_TRAIN FAULT -- TRAIN_FLAGS`: the train command with one injected fault.
FAULT_TRAIN = os.path.join(ROOT, "tests", "fault_train.py")


def train_cmd(data_dir, model_dir, *extra, full_size=False):
    """The train command on the small model (full_size: the paper's widths)."""
    return [
        sys.executable,
        "-m",
        "alexnet_tf.train",
        f"--data_dir={data_dir}",
        f"--model_dir={model_dir}",
        "--batch_size=4",
        "--verbose=2",
        "--init=he",
        "--normalize_std",
        "--mixed_precision=float32",  # the same numbers with or without bfloat16 units
        *([] if full_size else SMALL),
        *extra,
    ]


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=env or ENV, **kw)
