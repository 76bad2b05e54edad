"""A real labelled image set that a package ships, as image folders for make_tfrecords.

    alexnet-make-image-set --set=fashion_mnist --output_dir=data/fashion_raw \
        --num_train=10000 --num_validation=2000
    python tools/make_tfrecords.py --input_dir=data/fashion_raw --output_dir=data/fashion \
        --train_shards=16 --validation_shards=4

--set=fashion_mnist reads Debian's dataset-fashion-mnist package (apt-get install
dataset-fashion-mnist); --set=digits scikit-learn's 8x8 digits (the `baseline` extra).
Writes OUTPUT_DIR/{train,validation}/<class>/*.png at the images' own size. The library is
`alexnet_tf.studies.image_sets`; docs/results.md has what the recipe and the baselines
reach on each.
"""

from absl import flags

from alexnet_tf.core import cli
from alexnet_tf.studies import image_sets

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The make_image_set command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_enum("set", None, list(image_sets.SETS), "Which set.")
    flags.DEFINE_string("output_dir", None, "A new directory for the PNGs.")
    flags.DEFINE_integer("num_train", 0, "Training images (0: all).")
    flags.DEFINE_integer("num_validation", 0, "Validation images (0: all; digits: a fifth).")
    flags.DEFINE_integer("seed", 0, "Seed of the digits' split.")
    flags.DEFINE_string(
        "source_dir", image_sets.FASHION_MNIST_DIR, "fashion_mnist: the folder of its IDX files."
    )


def main(argv):
    cli.no_arguments(argv)
    cli.require("set", "output_dir")
    for name in ("num_train", "num_validation"):
        if FLAGS[name].value < 0:
            cli.usage_error(f"--{name} must be >= 0. Received: {FLAGS[name].value}")
    try:
        x_tr, y_tr, x_val, y_val, classes = image_sets.load(
            FLAGS.set, FLAGS.num_train, FLAGS.num_validation, FLAGS.seed, FLAGS.source_dir
        )
        counts = image_sets.write_folders(
            FLAGS.output_dir, {"train": (x_tr, y_tr), "validation": (x_val, y_val)}, classes
        )
    except (FileExistsError, FileNotFoundError, ImportError, ValueError) as e:
        cli.usage_error(str(e))
    print(
        f"wrote {counts['train']} train and {counts['validation']} validation images of "
        f"{len(classes)} classes to {FLAGS.output_dir}"
    )


def run() -> None:
    """The `alexnet-make-image-set` command."""
    cli.run(main, "make_image_set", define_flags)


if __name__ == "__main__":
    run()
