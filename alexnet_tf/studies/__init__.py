"""Experiments built on the library: `ablations` (the paper's ablations as one study,
behind tools/run_ablations.py), `figure1` (its Figure 1, ReLU against tanh, on
cuda-convnet's 18pct network or a modern one; `layers` holds the pieces that network
needs), `speed` (the measured speed of every stage, behind
`python -m alexnet_tf.benchmark`), `photos` (a corpus of natural photographs for
measuring the converter and the input pipeline, behind tools/make_photo_corpus.py),
`image_sets` (real labelled sets that packages ship, as image folders, behind
tools/make_image_set.py) and `baseline` (classic models on the same split as a run, behind
tools/baseline.py).
"""
