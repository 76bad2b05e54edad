"""From a checkout, `python tools/make_tfrecords.py [FLAGS]` runs the installed program
`alexnet-make-tfrecords`: `alexnet_tf/make_tfrecords.py` holds it, with its flags and their help."""

from alexnet_tf.make_tfrecords import run

if __name__ == "__main__":
    run()
