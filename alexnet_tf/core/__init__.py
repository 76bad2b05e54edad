"""What every part of the package stands on, with no TensorFlow (a program checks its
flags with these before TensorFlow loads): `constants` (sizes, file and shard names,
ImageNet statistics), `options` (the network's options, declared once), `precision` (which
dtype policy a run computes in, and why), `rundir` (the files of a run directory and an
export base), `files` (whole-file writes under temporary names), `keras_file` (what a
`.keras` file holds, read without loading it) and `cli` (the command-line edge every
program shares)."""
