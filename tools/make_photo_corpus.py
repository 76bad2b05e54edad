"""From a checkout, `python tools/make_photo_corpus.py [FLAGS]` runs the installed
program `alexnet-make-photo-corpus`: `alexnet_tf/make_photo_corpus.py` holds it, with its
flags and their help."""

from alexnet_tf.make_photo_corpus import run

if __name__ == "__main__":
    run()
