"""Test set-up: two logical CPU devices, so two-device tower placement is testable here."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def demo_records(tmp_path_factory):
    """make(train_per_class, validation_per_class, train_shards=2, validation_shards=1):
    a small demo data set (six shape classes) converted to TFRecords; returns its dir."""
    from alexnet_tf import demo_data, tfrecords

    def make(train_per_class, validation_per_class, train_shards=2, validation_shards=1):
        root = tmp_path_factory.mktemp("demo_records")
        raw = demo_data.write_raw(
            str(root / "raw"),
            train_per_class=train_per_class,
            validation_per_class=validation_per_class,
        )
        out = str(root / "tfr")
        tfrecords.convert(
            raw,
            out,
            train_shards=train_shards,
            validation_shards=validation_shards,
            num_workers=1,
            names_file=os.path.join(raw, "names.txt"),
            progress=False,
        )
        return out

    return make
