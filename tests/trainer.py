"""The train command as tests run it: small data, batch 4, float32 (tests pin their
precision, so results agree between CPUs with and without bfloat16 units).

Tests of mechanics (resume, faults, bad data, strategies, studies) train a small model of
the same class: every layer, tower and wire of the paper's network with 16 times fewer
kernels and units (AlexNet's test-only `test_width_divisor`, which the train command takes
from the ALEXNET_TF_TEST_WIDTH_DIVISOR environment variable; it is not a training flag).
Tests of the network itself use FULL_SIZE_ENV.
"""

import os
import subprocess
import sys

from alexnet_tf.train import TEST_WIDTH_ENV

WIDTH_DIVISOR = 16
FULL_SIZE_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
FULL_SIZE_ENV.pop(TEST_WIDTH_ENV, None)
ENV = {**FULL_SIZE_ENV, TEST_WIDTH_ENV: str(WIDTH_DIVISOR)}


def train_cmd(data_dir, model_dir, *extra):
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
        *extra,
    ]


def run(cmd, env=None, **kw):
    """Run `cmd`; the small model unless env=FULL_SIZE_ENV."""
    return subprocess.run(cmd, capture_output=True, text=True, env=env or ENV, **kw)
