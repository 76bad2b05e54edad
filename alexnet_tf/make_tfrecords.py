"""Raw image folders, or ILSVRC-2012's three archives -> sharded TFRecords in the ImageNet
schema, with metadata.

    alexnet-make-tfrecords --ilsvrc_dir=DOWNLOADS --output_dir=OUT      # ImageNet
    alexnet-make-tfrecords --input_dir=RAW --output_dir=OUT \
        [--train_shards=1024] [--validation_shards=128] [--num_workers=N] [--resize=256]

DOWNLOADS holds ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar and
ILSVRC2012_devkit_t12.tar.gz as image-net.org ships them: images are read out of the tars in
place, labelled by WNID through the devkit's meta.mat and named by its `words`.
RAW/train/<class>/* and RAW/validation/<class>/* (or a flat RAW/validation/ or Kaggle's
RAW/val/ with --validation_labels=FILE). Writes OUT/train-00000-of-01024 ...,
OUT/metadata.json (classes, names, counts, mean, RGB eigen-decomposition) and
OUT/conversion_report.json (every converted and skipped file with the reason).
Interrupted? Run the same command again.
"""

from absl import flags, logging

from alexnet_tf.core import cli, constants
from alexnet_tf.data import tfrecords

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The make_tfrecords command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("input_dir", None, "Raw data: train/<class>/*, validation/<class>/*.")
    flags.DEFINE_string(
        "ilsvrc_dir",
        None,
        "Instead of --input_dir: the folder holding ILSVRC2012_img_train.tar, "
        "ILSVRC2012_img_val.tar and ILSVRC2012_devkit_t12.tar.gz, read in place.",
    )
    flags.DEFINE_boolean(
        "verify_archives",
        False,
        "With --ilsvrc_dir: compare the three files' md5 with the published sums first "
        "(reads all 145 GB).",
    )
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
        "For a flat validation folder: lines 'FILENAME SYNSET', one synset per file in "
        "sorted name order, or Kaggle's LOC_val_solution.csv as it comes.",
    )
    flags.DEFINE_string("synsets_file", None, "One class id per line: fixes the class order.")
    flags.DEFINE_string(
        "names_file",
        None,
        "Lines 'SYNSET<TAB>name' or 'SYNSET name' (synset_words.txt, LOC_synset_mapping.txt).",
    )
    flags.DEFINE_boolean("follow_symlinks", False, "Follow symlinks out of --input_dir.")
    flags.DEFINE_boolean("progress", True, "Show a progress bar.")


def main(argv):
    cli.no_arguments(argv)
    cli.require("output_dir")
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
            ilsvrc_dir=FLAGS.ilsvrc_dir,
            verify_archives=FLAGS.verify_archives,
        )
    except tfrecords.ConversionError as e:
        cli.usage_error(str(e))
    counts = ", ".join(f"{s}: {n}" for s, n in meta["num_examples"].items())
    for note in meta.get("notes", []):
        print(f"note: {note}")
    print(
        f"written {counts}; converted {meta['converted']}; skipped {meta['skipped']} "
        f"(see {FLAGS.output_dir}/{constants.CONVERSION_REPORT_FILE})"
    )


def run() -> None:
    """The `alexnet-make-tfrecords` command."""
    cli.run(main, "make_tfrecords", define_flags)


if __name__ == "__main__":
    run()
