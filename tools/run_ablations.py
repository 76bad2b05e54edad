"""From a checkout, `python tools/run_ablations.py [FLAGS]` runs the installed program
`alexnet-run-ablations`: `alexnet_tf/run_ablations.py` holds it, with its flags and their help."""

from alexnet_tf.run_ablations import run

if __name__ == "__main__":
    run()
