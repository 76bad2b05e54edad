"""Each private Keras/TF name keras_internals.py uses is still there and still behaves as
that module assumes; a failure names the hook, so a Keras or TF upgrade that breaks one
is found here, not deep in a training run."""

import inspect
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.model import keras_internals

pytestmark = pytest.mark.quick  # the inner-loop tier: python -m pytest -m quick


def _compiled():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _params(fn):
    return list(inspect.signature(fn).parameters)


def check_compute_loss():
    assert {"x", "y", "y_pred", "sample_weight", "training"} <= set(
        _params(keras.Model._compute_loss)
    )


def check_loss_tracker():
    assert isinstance(_compiled()._loss_tracker, keras.metrics.Mean)


def check_maybe_symbolic_build():
    assert _params(keras.Model._maybe_symbolic_build)[1:] == ["iterator", "data_batch"]


def check_symbolic_build():
    assert "data_batch" in _params(keras.Model._symbolic_build)


def check_distribute_strategy():
    assert hasattr(_compiled(), "_distribute_strategy")


def check_unscale_loss():
    from keras.src.losses import loss

    assert float(loss.unscale_loss_for_distribution(tf.constant(2.0))) == 2.0


def check_epoch_iterator():
    from keras.src.backend.tensorflow.trainer import TFEpochIterator

    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 3)), np.arange(4))).batch(2)
    iterator = TFEpochIterator(
        distribute_strategy=tf.distribute.get_strategy(), x=ds, steps_per_epoch=2
    )
    first = keras_internals.first_batch(iterator)
    np.testing.assert_array_equal(first[1], [0, 1])
    iterator.reset()  # after a reset the epoch starts again
    np.testing.assert_array_equal(keras_internals.first_batch(iterator)[1], [0, 1])


def check_num_workers():
    # MultiWorkerMirroredStrategy sets up collectives for the whole process: a process
    # of its own, with a one-worker TF_CONFIG.
    code = (
        "import tensorflow as tf\n"
        "from alexnet_tf.model import keras_internals\n"
        "s = tf.distribute.MultiWorkerMirroredStrategy()\n"
        "print(keras_internals.num_workers(s), s.extended._num_workers)\n"
    )
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_CONFIG": json.dumps(
            {"cluster": {"worker": ["127.0.0.1:0"]}, "task": {"type": "worker", "index": 0}}
        ),
    }
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[-2:] == ["1", "1"], r.stdout


def check_variable_index():
    variables = [keras.Variable(np.zeros(2)), keras.Variable(np.zeros(3))]
    optimizer = keras.optimizers.SGD(momentum=0.9)
    optimizer.build(variables)
    indices = [keras_internals.variable_index(optimizer, v) for v in variables]
    assert indices == [0, 1]
    assert [tuple(optimizer.momentums[i].shape) for i in indices] == [(2,), (3,)]


CHECKS = dict(
    zip(
        keras_internals.HOOKS,
        [
            check_compute_loss,
            check_loss_tracker,
            check_maybe_symbolic_build,
            check_symbolic_build,
            check_distribute_strategy,
            check_unscale_loss,
            check_epoch_iterator,
            check_num_workers,
            check_variable_index,
        ],
        strict=True,
    )
)


@pytest.mark.parametrize("hook", keras_internals.HOOKS)
def test_private_hook_still_works(hook):
    try:
        CHECKS[hook]()
    except Exception as e:  # noqa: BLE001 - any failure means the hook changed
        pytest.fail(
            f"Keras/TF private hook {hook!r} changed (verified on "
            f"{keras_internals.VERIFIED_ON}; now keras {keras.__version__}, tensorflow "
            f"{tf.__version__}): {type(e).__name__}: {e}"
        )


def test_installed_versions_are_the_pinned_ones():
    """setup.py pins the minor versions the hooks were verified on."""
    for name, version in keras_internals.VERIFIED_ON.items():
        installed = {"keras": keras.__version__, "tensorflow": tf.__version__}[name]
        assert installed.split(".")[:2] == version.split(".")[:2], (name, installed)
