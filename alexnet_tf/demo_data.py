"""Make the built-in demo data set: six classes of synthetic shapes as JPEG folders,
converted to TFRecords by the same code as ImageNet.

    python -m alexnet_tf.demo_data --output_dir=data/demo

A finished data set is reused. The library is `alexnet_tf.data.demo`; the train command's
--prepare_demo_data calls it too.
"""

from __future__ import annotations

import json

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The demo_data command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("output_dir", "data/demo", "Where raw images and TFRecords go.")


def main(argv):
    cli.no_arguments(argv)
    from alexnet_tf.data import demo

    meta = demo.prepare_demo(FLAGS.output_dir)
    print(json.dumps(meta["num_examples"]))


def run() -> None:
    """The `alexnet-demo-data` command."""
    cli.run(main, "demo_data", define_flags)


if __name__ == "__main__":
    run()
