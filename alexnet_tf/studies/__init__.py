"""Experiments built on the library: `ablations` (the paper's ablations as one study,
behind tools/run_ablations.py) and `speed` (the measured speed of every stage, behind
`python -m alexnet_tf.benchmark`).
"""
