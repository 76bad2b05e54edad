"""Using a trained model: `saving` (loading `.keras` files for inference, unpinned, and
the class list of a run), `evaluate` (the error over one or more views), `serving` (the
graph TF Serving runs: bytes in, top-5 out, and fc7 features), `export` (SavedModel and
warm-up records), `session` (a SavedModel run as TF Serving runs it: a TF1 session,
signatures by tensor name, warm-up requests replayed), `tflite` (TFLite flatbuffers,
float32 or quantized, and their interpreter), `onnx_export` (ONNX files for
onnxruntime, TensorRT and Triton, and their runner), `predict` (top-5 for image files) and
`features` (fc7 of image files). The programs are `python -m alexnet_tf.evaluate`,
`.export`, `.predict` and `.features`.
"""
