"""alexnet_tf: the AlexNet of Krizhevsky, Sutskever and Hinton (NIPS 2012) in TF 2 / Keras 3."""

from setuptools import find_packages, setup

# Every program, as the command pip installs: NAME = the module alexnet_tf.NAME (with its
# underscores as dashes), whose run() parses the flags and runs it. From a checkout the
# same programs run as `python -m alexnet_tf.NAME` and `python tools/NAME.py`.
PROGRAMS = (
    "train", "evaluate", "export", "predict", "features", "import_weights", "benchmark",
    "check_data", "demo_data", "data_service", "make_tfrecords", "make_image_set",
    "make_photo_corpus", "baseline", "plot_history", "show_filters", "run_ablations",
)  # fmt: skip

setup(
    name="alexnet_tf",
    version="0.1.0",
    description="The paper's two-tower AlexNet: train, evaluate, serve (TF 2 / Keras 3)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["alexnet_tf", "alexnet_tf.*"]),
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            f"alexnet-{name.replace('_', '-')} = alexnet_tf.{name}:run" for name in PROGRAMS
        ]
    },
    install_requires=[
        # Pinned to the minor versions the suite ran on: keras_internals.py uses Keras'
        # private API; tests/test_keras_internals.py must pass before a pin is widened.
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<3.16",
        "tensorflow-datasets>=4.9",
        "absl-py>=2.1",
        "tensorboard>=2.21,<2.22",  # training logs; TF 2.21 no longer installs it
        "numpy>=1.26",
        "pillow>=10",  # make_tfrecords: CMYK, PNG, palette and EXIF-rotated images
        "matplotlib>=3.8",  # learning curves and filter pictures
        "tqdm>=4.60",  # make_tfrecords progress bar
        "scipy>=1.11",  # make_tfrecords --ilsvrc_dir reads the devkit's meta.mat
        "tensorflow-serving-api>=2.21,<2.22",  # the export's warm-up records (PredictionLog)
    ],
    extras_require={
        # import_weights --onnx (reading the ONNX model zoo's bvlc_alexnet), and
        # export --format=onnx (Keras' exporter goes through tf2onnx; onnxruntime checks
        # the file before it is put in place, and runs evaluate --onnx)
        "onnx": ["onnx>=1.16", "tf2onnx>=1.16", "onnxruntime>=1.17"],
        # the photo corpus the converter and input benchmarks read (studies/photos.py)
        "bench": ["scikit-image>=0.22", "scikit-learn>=1.3"],
        # tools/baseline.py's classic models, and the digits set (studies/image_sets.py)
        "baseline": ["scikit-learn>=1.3"],
        # TFLite's interpreter, moving out of TensorFlow (tf.lite.Interpreter without it)
        "tflite": ["ai-edge-litert>=2.0"],
        # onnxruntime: the tests compare imported models with it, nothing else needs it
        "test": [
            "pytest>=8",
            "ruff>=0.6",
            "nbclient>=0.10",
            "nbformat>=5.10",
            "ipykernel>=6",
            "onnx>=1.16",
            "tf2onnx>=1.16",
            "onnxruntime>=1.17",
            "scikit-image>=0.22",
            "scikit-learn>=1.3",
            "ai-edge-litert>=2.0",
        ],
    },
)
