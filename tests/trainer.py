"""The train command as tests run it: the full-size model on small data, batch 4."""

import os
import subprocess
import sys

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


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
        *extra,
    ]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, **kw)
