"""Raw image folders -> sharded TFRecords in the ImageNet schema, with metadata.

    alexnet-make-tfrecords --input_dir=RAW --output_dir=OUT \
        [--train_shards=1024] [--validation_shards=128] [--num_workers=N] [--resize=256]

RAW/train/<class>/* and RAW/validation/<class>/* (or ImageNet's flat RAW/validation/ with
--validation_labels=FILE). Writes OUT/train-00000-of-01024 ..., OUT/metadata.json (classes,
names, counts, mean, RGB eigen-decomposition) and OUT/conversion_report.json (every
converted and skipped file with the reason). Interrupted? Run the same command again.
"""

from absl import flags, logging

from alexnet_tf.core import cli, constants
from alexnet_tf.data import tfrecords

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The make_tfrecords command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("input_dir", None, "Raw data: train/<class>/*, validation/<class>/*.")
    flags.DEFINE_string("output_dir", None, "Where shards and metadata.json go.")
    flags.DEFINE_integer("train_shards", 1024, "Number of train shards.")
    flags.DEFINE_integer("validation_shards", 128, "Number of validation shards.")
    flags.DEFINE_integer("num_workers", None, "Worker processes (default: all cores).")
    flags.DEFINE_integer(
        "resize",
        constants.RESIZE,
        "Shorter side, then central square crop (paper: 256). 0 keeps the original images.",
    )
    flags.DEFINE_integer("jpeg_quality", tfrecords.JPEG_QUALITY, "Quality of re-encoded JPEGs.")
    flags.DEFINE_integer("seed", 0, "Seed of the train shuffle: same seed, same shards.")
    flags.DEFINE_string(
        "validation_labels",
        None,
        "For a flat validation folder: lines "
        "'FILENAME SYNSET', or one synset per file in sorted name order.",
    )
    flags.DEFINE_string("synsets_file", None, "One class id per line: fixes the class order.")
    flags.DEFINE_string("names_file", None, "Lines 'SYNSET<TAB>human-readable name'.")
    flags.DEFINE_boolean("follow_symlinks", False, "Follow symlinks out of --input_dir.")
    flags.DEFINE_boolean("progress", True, "Show a progress bar.")


def main(argv):
    cli.no_arguments(argv)
    cli.require("input_dir", "output_dir")
    logging.set_verbosity(logging.INFO)
    try:
        meta = tfrecords.convert(
            FLAGS.input_dir,
            FLAGS.output_dir,
            train_shards=FLAGS.train_shards,
            validation_shards=FLAGS.validation_shards,
            num_workers=FLAGS.num_workers,
            resize=FLAGS.resize,
            quality=FLAGS.jpeg_quality,
            seed=FLAGS.seed,
            validation_labels=FLAGS.validation_labels,
            synsets_file=FLAGS.synsets_file,
            names_file=FLAGS.names_file,
            follow_symlinks=FLAGS.follow_symlinks,
            progress=FLAGS.progress,
        )
    except tfrecords.ConversionError as e:
        cli.usage_error(str(e))
    counts = ", ".join(f"{s}: {n}" for s, n in meta["num_examples"].items())
    print(
        f"written {counts}; converted {meta['converted']}; skipped {meta['skipped']} "
        f"(see {FLAGS.output_dir}/{constants.CONVERSION_REPORT_FILE})"
    )


def run() -> None:
    """The `alexnet-make-tfrecords` command."""
    cli.run(main, "make_tfrecords", define_flags)


if __name__ == "__main__":
    run()
