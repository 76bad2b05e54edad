"""Import Caffe's trained bvlc_alexnet into the paper's two-tower network.

    python -m alexnet_tf.import_weights --onnx=bvlcalexnet-12.onnx --model_dir=runs/bvlc
    python -m alexnet_tf.import_weights --npy=bvlc_alexnet.npy --model_dir=runs/bvlc

Writes MODEL_DIR/best.keras (the model, taking RGB 0-255 pixels at the input size the
file implies, 224 or 227, and giving logits), classes.json (the 1,000 ILSVRC-2012
synsets in Caffe's order; --names_file adds names) and import_record.json. Then
`evaluate --model_dir=MODEL_DIR --data_dir=...`, `export`, `predict` and
`train --init_from=MODEL_DIR` use it. A file of another structure is refused, naming the
first mismatch (exit 2); nothing in the file is executed. The library is
`alexnet_tf.pretrained`.
"""

from __future__ import annotations

from absl import flags

from alexnet_tf.core import cli

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The import_weights command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("onnx", None, "An ONNX file of bvlc_alexnet (the ONNX model zoo's).")
    flags.DEFINE_string("npy", None, "caffe-tensorflow's bvlc_alexnet.npy.")
    flags.DEFINE_string("model_dir", None, "Where the model directory is written.")
    flags.DEFINE_string(
        "names_file", None, "Lines 'SYNSET<TAB>name' (ImageNet's synset_words.txt)."
    )
    flags.DEFINE_list(
        "mean_rgb", None, "The pixel mean the model subtracts, R,G,B (default: Caffe's ImageNet)."
    )


def main(argv):
    cli.no_arguments(argv)
    cli.require("model_dir")
    if bool(FLAGS.onnx) == bool(FLAGS.npy):
        cli.usage_error("give one of --onnx=FILE or --npy=FILE.")
    mean = None
    if FLAGS.mean_rgb:
        try:
            mean = tuple(float(v) for v in FLAGS.mean_rgb)
        except ValueError:
            mean = ()
        if len(mean) != 3:
            cli.usage_error(f"--mean_rgb must be three numbers R,G,B. Received: {FLAGS.mean_rgb}")
    from alexnet_tf.pretrained import bvlc
    from alexnet_tf.pretrained.source import SourceError

    path = FLAGS.onnx or FLAGS.npy
    try:
        record = bvlc.import_file(path, FLAGS.model_dir, FLAGS.names_file, mean)
    except SourceError as e:
        cli.usage_error(f"{path} is not bvlc_alexnet: {e}")
    print(record["checksum"])
    options = ", ".join(f"{k}={v}" for k, v in record["options"].items())
    print(
        f"imported {record['format']} ({record['parameters']:,} parameters, "
        f"{record['num_classes']} classes; {options}) into {FLAGS.model_dir}/best.keras"
    )


def run() -> None:
    """The `alexnet-import-weights` command."""
    cli.run(main, "import_weights", define_flags)


if __name__ == "__main__":
    run()
