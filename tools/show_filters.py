"""The paper's Figure 3 for a trained model: conv1's kernels as RGB tiles, tower a's
rows above tower b's, written as a PNG.

    python tools/show_filters.py runs/demo [--checkpoint=best] [--out=runs/demo/conv1.png]
"""

import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("checkpoint", "best", "best | latest | path to a .keras file.")
flags.DEFINE_string("out", None, "Output PNG (default: MODEL_DIR/conv1_kernels.png).")
flags.DEFINE_integer("scale", 4, "Pixels per kernel pixel.")


def main(argv):
    if len(argv) != 2:
        print("show_filters: error: give one MODEL_DIR.", file=sys.stderr)
        sys.exit(2)
    from PIL import Image

    from alexnet_tf import saving, visualize

    try:
        path = saving.resolve_checkpoint(argv[1], FLAGS.checkpoint)
    except FileNotFoundError as e:
        print(f"show_filters: error: {e}", file=sys.stderr)
        sys.exit(2)
    grid = visualize.filter_grid(saving.load_for_inference(path), scale=FLAGS.scale)
    out = FLAGS.out or os.path.join(argv[1], "conv1_kernels.png")
    Image.fromarray(grid).save(out)
    print(out)


if __name__ == "__main__":
    app.run(main)
