"""Train AlexNet: `python -m alexnet_tf.train --flagfile=configs/paper.flags [--flag=value]`.

Phases: (1) flags -> a frozen, validated TrainConfig (no TensorFlow yet: a bad value exits
with status 2 in about a second); (2) devices and distribution strategy; (3) data (the
demo data set is made first when asked and absent); (4) model and optimizer; (5) resume
from the newest backup; (6) model.fit. Everything the run writes lives in --model_dir
(see WORKSPACE.md).
"""

from __future__ import annotations

from absl import flags

from alexnet_tf.core import cli
from alexnet_tf.training import config as cfg_lib

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The train command's flags: one per TrainConfig field and network option, from
    their declarations (training/config.py, core/options.py), and --check_only."""
    cfg_lib.define_flags(FLAGS)
    if "check_only" not in FLAGS:
        flags.DEFINE_boolean(
            "check_only",
            False,
            "Validate the flags, print the run's configuration as JSON and exit (no TensorFlow).",
        )


def main(argv):
    cli.no_arguments(argv)
    try:
        config = cfg_lib.from_flags(FLAGS)
        cfg_lib.validate(config)
    except cfg_lib.ConfigError as e:
        cli.usage_error(str(e))
    if FLAGS.check_only:
        print(cfg_lib.planned(config).to_json())
        return
    from alexnet_tf.training import run  # TensorFlow starts here, after validation

    try:
        run.run(config)
    except cfg_lib.ConfigError as e:
        cli.usage_error(str(e))
    except run.RUN_FAILURES as e:  # explained in the message; the backup stands
        kind = {run.TrainingDiverged: "stopped", run.DataError: "data error"}
        cli.fail(str(e), kind.get(type(e), "error"))


def run() -> None:
    """The `alexnet-train` command."""
    cli.run(main, "train", define_flags)


if __name__ == "__main__":
    run()
