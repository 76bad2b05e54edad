"""Train AlexNet: `python -m alexnet_tf.train --flagfile=configs/paper.flags [--flag=value]`.

Phases: (1) flags -> a frozen, validated TrainConfig (no TensorFlow yet: a bad value exits
with status 2 in about a second); (2) devices and distribution strategy; (3) data (the
demo data set is made first when asked and absent); (4) model and optimizer; (5) resume
from the newest backup; (6) model.fit. Everything the run writes lives in --model_dir
(see WORKSPACE.md).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys

from absl import app, flags

from alexnet_tf import config as cfg_lib

FLAGS = flags.FLAGS
_D = cfg_lib.TrainConfig  # defaults

flags.DEFINE_string("data_dir", None, "TFRecords (tools/make_tfrecords.py) to train on.")
flags.DEFINE_string("model_dir", None, "Where checkpoints, logs and history go.")
flags.DEFINE_integer("epochs", _D.epochs, "Epochs to train (section 5: about 90).")
flags.DEFINE_integer("batch_size", _D.batch_size, "Global batch, over all replicas.")
flags.DEFINE_float("learning_rate", _D.learning_rate, "Initial learning rate (for batch 128).")
flags.DEFINE_float("momentum", _D.momentum, "SGD momentum.")
flags.DEFINE_float(
    "weight_decay", _D.weight_decay, "The paper's weight decay (through the momentum, on kernels)."
)
flags.DEFINE_string(
    "lr_schedule",
    _D.lr_schedule,
    "plateau: /10 when val top-1 error stops improving (the paper); step: /10 at --lr_boundaries.",
)
flags.DEFINE_list("lr_boundaries", [], "Epochs where 'step' divides the rate by 10.")
flags.DEFINE_integer(
    "plateau_patience",
    _D.plateau_patience,
    "Epochs without improvement before 'plateau' divides the rate.",
)
flags.DEFINE_float("min_learning_rate", _D.min_learning_rate, "Floor of the plateau schedule.")
flags.DEFINE_integer("steps_per_epoch", 0, "Steps per epoch (0: all train examples).")
flags.DEFINE_integer("validation_steps", 0, "Validation batches (0: the whole split).")
flags.DEFINE_integer("num_train_examples", 0, "Train examples, for data without metadata.")
flags.DEFINE_string(
    "distribution_strategy",
    _D.distribution_strategy,
    "default | mirrored | multi_worker_mirrored | towers",
)
flags.DEFINE_string("tower_devices", _D.tower_devices, "auto | none | DEV_A,DEV_B")
flags.DEFINE_integer(
    "cpu_devices",
    0,
    "Split the CPU into N logical devices (to try two-device placement without GPUs).",
)
flags.DEFINE_string(
    "mixed_precision", _D.mixed_precision, "float32 | mixed_bfloat16 | mixed_float16"
)
flags.DEFINE_boolean("jit_compile", _D.jit_compile, "Compile the train step with XLA.")
flags.DEFINE_integer("num_classes", 0, "Classes (0: from metadata.json).")
flags.DEFINE_string("architecture", _D.architecture, "two_tower | one_tower | one_tower_half")
flags.DEFINE_string("activation", _D.activation, "relu | tanh")
flags.DEFINE_boolean("lrn", _D.lrn, "Local response normalization (section 3.3).")
flags.DEFINE_boolean("overlapping_pool", _D.overlapping_pool, "3x3/2 pooling (else 2x2/2).")
flags.DEFINE_float("dropout", _D.dropout, "Dropout rate on fc6 and fc7.")
flags.DEFINE_string("init", _D.init, "paper | caffe | he")
flags.DEFINE_boolean(
    "normalize_std",
    _D.normalize_std,
    "Divide inputs by the pixel std (not in the paper; pairs with --init=he).",
)
flags.DEFINE_boolean("crop", _D.crop, "Random 224 crops (else the centre one).")
flags.DEFINE_boolean("flip", _D.flip, "Random horizontal reflections.")
flags.DEFINE_boolean("pca_lighting", _D.pca_lighting, "PCA lighting (section 4.1).")
flags.DEFINE_float("pca_std", _D.pca_std, "Std of PCA lighting's alpha (paper: 0.1).")
flags.DEFINE_integer("shuffle_buffer", _D.shuffle_buffer, "Examples in the shuffle buffer.")
flags.DEFINE_integer("private_threads", 0, "tf.data private thread pool size (0: shared).")
flags.DEFINE_boolean("cache_dataset", False, "Keep encoded records in memory (small data).")
flags.DEFINE_boolean(
    "skip_bad_records",
    False,
    "Check every record once (alexnet_tf.check_data; kept in MODEL_DIR/data_check.json), "
    "then train without the ones that cannot be used, listing and counting them.",
)
flags.DEFINE_boolean("prepare_demo_data", False, "Make the demo data in --data_dir if absent.")
flags.DEFINE_integer("backup_every_steps", _D.backup_every_steps, "Steps between backups.")
flags.DEFINE_integer("seed", _D.seed, "Random seed (weights, augmentation).")
flags.DEFINE_integer("verbose", _D.verbose, "Keras fit verbosity: 0, 1 (bar), 2 (a line).")
flags.DEFINE_boolean(
    "check_only",
    False,
    "Validate the flags, print the run's configuration as JSON and exit (no TensorFlow).",
)


def config_from_flags() -> cfg_lib.TrainConfig:
    values = {f.name: FLAGS[f.name].value for f in dataclasses.fields(cfg_lib.TrainConfig)}
    try:
        values["lr_boundaries"] = tuple(int(b) for b in values["lr_boundaries"] or ())
    except ValueError:
        raise cfg_lib.ConfigError(
            f"--lr_boundaries must be whole epochs such as 30,60. Received: "
            f"{','.join(values['lr_boundaries'])}"
        ) from None
    for name in ("data_dir", "model_dir"):
        values[name] = values[name] or ""
    return cfg_lib.TrainConfig(**values)


def _parse_flags(argv):
    """absl's parser, exiting with the usage-error status 2 instead of 1."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"train: error: {e}\nSee --helpfull for the flags.", file=sys.stderr)
        sys.exit(2)


def usage_error(message: str):
    print(f"train: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) > 1:
        usage_error(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = config_from_flags()
        cfg_lib.validate(config)
    except cfg_lib.ConfigError as e:
        usage_error(str(e))
    if FLAGS.check_only:
        print(config.to_json())
        return
    from alexnet_tf import training  # TensorFlow starts here, after validation

    try:
        training.run(config)
    except cfg_lib.ConfigError as e:
        usage_error(str(e))
    except training.RUN_FAILURES as e:  # explained in the message; the backup stands
        kind = {training.TrainingDiverged: "stopped", training.DataError: "data error"}
        print(f"train: {kind.get(type(e), 'error')}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    app.run(main, flags_parser=_parse_flags)
