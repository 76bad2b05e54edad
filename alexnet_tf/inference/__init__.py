"""Using a trained model: `saving` (loading `.keras` files for inference, unpinned, and
the class list of a run), `evaluate` (centre and 10-crop error), `serving` (the graph TF
Serving runs: bytes in, top-5 out), `export` (SavedModel and warm-up records) and
`predict` (top-5 for image files). The programs are `python -m alexnet_tf.evaluate`,
`.export` and `.predict`.
"""
