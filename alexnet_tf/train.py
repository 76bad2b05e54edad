"""Train AlexNet: `python -m alexnet_tf.train --flagfile=configs/paper.flags [--flag=value]`.

Phases: (1) flags -> a frozen, validated TrainConfig (no TensorFlow yet: a bad value exits
with status 2 in about a second); (2) devices and distribution strategy; (3) data (the
demo data set is made first when asked and absent); (4) model and optimizer; (5) resume
from the newest backup; (6) model.fit. Everything the run writes lives in --model_dir
(see WORKSPACE.md).
"""

from __future__ import annotations

import dataclasses

from absl import flags

from alexnet_tf.core import cli, options
from alexnet_tf.training import config as cfg_lib

FLAGS = flags.FLAGS
_D = cfg_lib.TrainConfig  # defaults


def define_flags() -> None:
    """The train command's flags (defined when it runs, so that importing this module beside
    another program, as a notebook does, defines none; a second call defines nothing)."""
    if "epochs" in FLAGS and "tfds_name" in FLAGS:
        return
    _define_schedule_flags()
    _define_device_and_model_flags()
    _define_input_and_run_flags()
    flags.DEFINE_string(
        "data_dir",
        None,
        "TFRecords (tools/make_tfrecords.py) to train on; with --tfds_name, TFDS's data dir.",
    )
    flags.DEFINE_string(
        "tfds_name",
        "",
        "A TFDS image data set already prepared in --data_dir (e.g. cifar10), read through "
        "the same crops and flips; its DatasetInfo gives the classes and counts, a sample of "
        "its training split the mean pixel. Nothing is downloaded.",
    )
    flags.DEFINE_string("model_dir", None, "Where checkpoints, logs and history go.")


def _define_schedule_flags() -> None:
    """Epochs, batch, the optimizer and the learning-rate schedule."""
    flags.DEFINE_integer("epochs", _D.epochs, "Epochs to train (section 5: about 90).")
    flags.DEFINE_integer(
        "train_images",
        _D.train_images,
        "Images to see in all (0: use --epochs): the epochs follow from the training set's "
        f"size, at least {cfg_lib.MIN_EPOCHS} and at most {cfg_lib.MAX_EPOCHS}. Refused "
        "together with --epochs.",
    )
    flags.DEFINE_integer("batch_size", _D.batch_size, "Global batch, over all replicas.")
    flags.DEFINE_float("learning_rate", _D.learning_rate, "Initial learning rate (for batch 128).")
    flags.DEFINE_float("momentum", _D.momentum, "SGD momentum.")
    flags.DEFINE_float(
        "weight_decay",
        _D.weight_decay,
        "The paper's weight decay (through the momentum, on kernels).",
    )
    flags.DEFINE_string(
        "lr_schedule",
        _D.lr_schedule,
        "plateau: /10 when val top-1 error stops improving (the paper); step: /10 at "
        "--lr_boundaries; cosine: down to --min_learning_rate at the last step (short runs).",
    )
    flags.DEFINE_list("lr_boundaries", [], "Epochs where 'step' divides the rate by 10.")
    flags.DEFINE_float(
        "warmup_epochs", _D.warmup_epochs, "Epochs of linear warm-up to --learning_rate (0: none)."
    )
    flags.DEFINE_integer(
        "plateau_patience",
        _D.plateau_patience,
        "Epochs without improvement before 'plateau' divides the rate.",
    )
    flags.DEFINE_float(
        "min_learning_rate", _D.min_learning_rate, "Floor of plateau; where cosine ends."
    )
    flags.DEFINE_integer("steps_per_epoch", 0, "Steps per epoch (0: all train examples).")
    flags.DEFINE_integer("validation_steps", 0, "Validation batches (0: the whole split).")
    flags.DEFINE_integer("num_train_examples", 0, "Train examples, for data without metadata.")


def _define_device_and_model_flags() -> None:
    """Devices, strategy, precision, and the network's options (from options.py)."""
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
    cli.define_precision_flag(
        "auto (bfloat16 where the CPU or GPU computes it in hardware, float16 on V100/T4-class "
        "GPUs, else float32; a resumed run keeps its own) | float32 | mixed_bfloat16 | "
        "mixed_float16",
        _D.mixed_precision,
    )
    flags.DEFINE_boolean("jit_compile", _D.jit_compile, "Compile the train step with XLA.")
    flags.DEFINE_integer("num_classes", 0, "Classes (0: from metadata.json).")
    # The network's options, one flag each, from their declaration (alexnet_tf/core/options.py).
    define = {bool: flags.DEFINE_boolean, float: flags.DEFINE_float, int: flags.DEFINE_integer}
    for field in options.FIELDS:
        define.get(type(field.default), flags.DEFINE_string)(
            field.name, field.default, field.metadata["option"].help
        )


def _define_input_and_run_flags() -> None:
    """Input scaling and augmentation, the pipeline, and the run's own settings."""
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
    cli.define_data_service_flag()
    flags.DEFINE_boolean(
        "skip_bad_records",
        False,
        "Check every record once (alexnet_tf.check_data; kept in MODEL_DIR/data_check.json), "
        "then train without the ones that cannot be used, listing and counting them.",
    )
    flags.DEFINE_boolean("prepare_demo_data", False, "Make the demo data in --data_dir if absent.")
    flags.DEFINE_string(
        "init_from",
        "",
        "Start from this model (a model dir's best.keras, e.g. from import_weights, or a .keras "
        "file): every layer but fc8, which is made anew for the data's classes. The network's "
        "options and the input mean come from it. Only when a run starts; a rerun resumes.",
    )
    flags.DEFINE_list(
        "freeze", [], "With --init_from: layers to keep fixed, e.g. conv1..conv5 or conv1,conv2."
    )
    flags.DEFINE_integer("backup_every_steps", _D.backup_every_steps, "Steps between backups.")
    flags.DEFINE_integer("seed", _D.seed, "Random seed (weights, augmentation).")
    flags.DEFINE_integer("verbose", _D.verbose, "Keras fit verbosity: 0, 1 (bar), 2 (a line).")
    flags.DEFINE_boolean(
        "check_only",
        False,
        "Validate the flags, print the run's configuration as JSON and exit (no TensorFlow).",
    )


def config_from_flags() -> cfg_lib.TrainConfig:
    fields = [f.name for f in dataclasses.fields(cfg_lib.TrainConfig) if f.name != "model"]
    values = {name: FLAGS[name].value for name in fields}
    values["model"] = options.ModelOptions(**{n: FLAGS[n].value for n in options.NAMES})
    try:
        values["lr_boundaries"] = tuple(int(b) for b in values["lr_boundaries"] or ())
    except ValueError:
        raise cfg_lib.ConfigError(
            f"--lr_boundaries must be whole epochs such as 30,60. Received: "
            f"{','.join(values['lr_boundaries'])}"
        ) from None
    for name in ("data_dir", "model_dir"):
        values[name] = values[name] or ""
    values["freeze"] = cfg_lib.parse_freeze(values["freeze"] or ())
    if FLAGS.train_images and FLAGS["epochs"].present:
        raise cfg_lib.ConfigError(
            f"--epochs={FLAGS.epochs} and --train_images={FLAGS.train_images} both set the "
            "run's length: give one (--train_images=0 turns it off)."
        )
    explicit = {name for name in options.NAMES if FLAGS[name].present}
    return cfg_lib.with_source_options(cfg_lib.TrainConfig(**values), explicit)


def main(argv):
    cli.no_arguments(argv)
    try:
        config = config_from_flags()
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
