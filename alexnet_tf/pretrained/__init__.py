"""Trained weights from elsewhere in the paper's network: Caffe's bvlc_alexnet, from the
ONNX model zoo's file (`onnx_reader`) or caffe-tensorflow's .npy (`caffe_npy`), each read
into a neutral `source.Source` and mapped onto the towers by `bvlc`. The program is
`python -m alexnet_tf.import_weights`.
"""
