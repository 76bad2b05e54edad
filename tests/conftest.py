"""Test set-up: two logical CPU devices, so two-device tower placement is testable here."""

import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """The tiers do not overlap: `quick` is the inner loop, `slow` what the default run
    leaves out; a test marked both would run in neither the way its tier promises."""
    both = [
        item.nodeid for item in items if {"quick", "slow"} <= {m.name for m in item.iter_markers()}
    ]
    if both:
        raise pytest.UsageError("marked both quick and slow: " + ", ".join(both))


def pytest_report_header(config):
    free = shutil.disk_usage(config._tmp_path_factory.getbasetemp()).free
    return (
        f"free disk in the temporary dir: {free / 2**30:.1f} GiB "
        "(the suite's peak, measured: 2.7 GiB; a full-size model dir holds about 1.5 GB)"
    )


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory, request):
    """A temporary dir shared by one module's tests; removed when they all passed, since a
    trained model dir in it holds about 1.5 GB."""
    path = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    failed_before = request.session.testsfailed
    yield path
    if request.session.testsfailed == failed_before:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_records(tmp_path_factory):
    """make(train_per_class, validation_per_class, train_shards=2, validation_shards=1):
    a small demo data set (six shape classes) converted to TFRecords; returns its dir.
    Each set is made once per session and shared: tests read it and write elsewhere."""
    from alexnet_tf.data import demo, tfrecords

    made = {}

    def make(train_per_class, validation_per_class, train_shards=2, validation_shards=1):
        key = (train_per_class, validation_per_class, train_shards, validation_shards)
        if key in made:
            return made[key]
        root = tmp_path_factory.mktemp("demo_records")
        raw = demo.write_raw(
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
        made[key] = out
        return out

    return make


@pytest.fixture
def drawn_figures(monkeypatch):
    """Every matplotlib figure saved while the test runs, in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = []
    original = plt.Figure.savefig

    def keep(fig, *args, **kwargs):
        drawn.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", keep)
    return drawn
