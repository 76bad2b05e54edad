"""From a checkout, `python tools/show_filters.py [FLAGS]` runs the installed program
`alexnet-show-filters`: `alexnet_tf/show_filters.py` holds it, with its flags and their help."""

from alexnet_tf.show_filters import run

if __name__ == "__main__":
    run()
