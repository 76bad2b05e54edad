"""From a checkout, `python tools/baseline.py [FLAGS]` runs the installed program
`alexnet-baseline`: `alexnet_tf/baseline.py` holds it, with its flags and their help."""

from alexnet_tf.baseline import run

if __name__ == "__main__":
    run()
