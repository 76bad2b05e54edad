"""From a checkout, `python tools/make_image_set.py [FLAGS]` runs the installed program
`alexnet-make-image-set`: `alexnet_tf/make_image_set.py` holds it, with its flags and their help."""

from alexnet_tf.make_image_set import run

if __name__ == "__main__":
    run()
