"""A corpus of natural photographs, in the image-folder layout make_tfrecords reads.

    alexnet-make-photo-corpus --output_dir=data/photos_raw --num_images=3000
    python tools/make_tfrecords.py --input_dir=data/photos_raw --output_dir=data/photos

Random 4:3 crops of the eleven colour photographs scikit-image and scikit-learn ship,
resized to 500x375 and stored as quality-90 JPEGs, one class per photograph, one crop in
ten in validation/. For measuring the converter and the input pipeline on photographs
(docs/performance.md); the library is `alexnet_tf.studies.photos`. Needs the `bench`
extra: pip install -e ".[bench]".
"""

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The make_photo_corpus command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("output_dir", None, "A new directory for the JPEGs.")
    flags.DEFINE_integer("num_images", 3000, "Crops to write.")
    flags.DEFINE_integer("seed", 0, "Seed of the crops: same seed, same corpus.")


def main(argv):
    cli.no_arguments(argv)
    cli.require("output_dir")
    if FLAGS.num_images < 1:
        cli.usage_error(f"--num_images must be >= 1. Received: {FLAGS.num_images}")
    from alexnet_tf.studies import photos

    try:
        counts = photos.write_corpus(FLAGS.output_dir, FLAGS.num_images, FLAGS.seed)
    except (FileExistsError, ImportError) as e:
        cli.usage_error(str(e))
    print(
        f"wrote {counts['train']} train and {counts['validation']} validation JPEGs to "
        f"{FLAGS.output_dir}"
    )


def run() -> None:
    """The `alexnet-make-photo-corpus` command."""
    cli.run(main, "make_photo_corpus", define_flags)


if __name__ == "__main__":
    run()
