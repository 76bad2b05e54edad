"""Find the records a training run cannot use, naming shard and record.

    python -m alexnet_tf.check_data --data_dir=data/imagenet [--split=train]

Prints each bad record and a count; exit status 1 when any is bad, 2 for a bad command
line. The library is `alexnet_tf.data.check`.
"""

from __future__ import annotations

from absl import flags

from alexnet_tf.core import cli, constants

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The check_data command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("data_dir", None, "TFRecords to check.")
    flags.DEFINE_enum("split", "all", ["all", *constants.SPLITS], "Split to check.")


def main(argv):
    cli.no_arguments(argv)
    cli.require("data_dir")
    from alexnet_tf.data import check, pipeline

    splits = constants.SPLITS if FLAGS.split == "all" else (FLAGS.split,)
    try:
        result = check.scan(FLAGS.data_dir, splits, log=print)
    except pipeline.DataError as e:
        cli.usage_error(str(e))
    shards = len(result["shards"])
    readable = sum(i["readable"] for i in result["shards"].values())
    print(f"{shards} shards, {readable} readable records, {result['num_bad']} bad")
    raise SystemExit(1 if result["num_bad"] else 0)


def run() -> None:
    """The `alexnet-check-data` command."""
    cli.run(main, "check_data", define_flags)


if __name__ == "__main__":
    run()
