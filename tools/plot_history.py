"""From a checkout, `python tools/plot_history.py [FLAGS]` runs the installed program
`alexnet-plot-history`: `alexnet_tf/plot_history.py` holds it, with its flags and their help."""

from alexnet_tf.plot_history import run

if __name__ == "__main__":
    run()
