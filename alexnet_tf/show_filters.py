"""The paper's Figure 3 for a trained model: conv1's kernels as RGB tiles, tower a's
rows above tower b's, written as a PNG.

    alexnet-show-filters runs/demo [--checkpoint=best] [--out=runs/demo/conv1.png]
"""

from absl import flags

from alexnet_tf.core import cli
from alexnet_tf.core.rundir import RunDir

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The show_filters command's flags (defined when it runs: importing defines none)."""
    flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
    flags.DEFINE_string("out", None, "Output PNG (default: MODEL_DIR/conv1_kernels.png).")
    flags.DEFINE_integer("scale", 4, "Pixels per kernel pixel.")


def main(argv):
    if len(argv) != 2:
        cli.usage_error("give one MODEL_DIR.")
    from PIL import Image

    from alexnet_tf.inference import saving
    from alexnet_tf.model import filters

    try:
        path = saving.resolve_checkpoint(argv[1], FLAGS.checkpoint)
    except FileNotFoundError as e:
        cli.usage_error(str(e))
    grid = filters.filter_grid(saving.load_for_inference(path), scale=FLAGS.scale)
    out = FLAGS.out or RunDir(argv[1]).filters_png
    Image.fromarray(grid).save(out)
    print(out)


def run() -> None:
    """The `alexnet-show-filters` command."""
    cli.run(main, "show_filters", define_flags)


if __name__ == "__main__":
    run()
