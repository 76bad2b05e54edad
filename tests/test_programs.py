"""The programs: every module at the package root but `applications` is one, each is a
console script of setup.py, each runs from a checkout as `python -m alexnet_tf.NAME`
(and the tools/ ones as `python tools/NAME.py`), and a wheel built from the checkout and
installed elsewhere gives working commands."""

import ast
import os
import subprocess
import sys

import pytest
from trainer import ENV, ROOT

LIBRARY_AT_ROOT = {"__init__", "applications"}  # the package's face and keras.applications'


def _root_modules():
    return sorted(
        f[: -len(".py")] for f in os.listdir(os.path.join(ROOT, "alexnet_tf")) if f.endswith(".py")
    )


def _declared_programs():
    tree = ast.parse(open(os.path.join(ROOT, "setup.py"), encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "PROGRAMS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py declares no PROGRAMS")


def _command(name):
    return "alexnet-" + name.replace("_", "-")


@pytest.mark.quick
def test_every_root_module_but_the_library_face_is_a_declared_program():
    programs = [m for m in _root_modules() if m not in LIBRARY_AT_ROOT]
    assert sorted(_declared_programs()) == programs
    for name in programs:
        tree = ast.parse(open(os.path.join(ROOT, "alexnet_tf", f"{name}.py")).read())
        assert "run" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, name
    tools = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "tools")) if f.endswith(".py"))
    assert set(tools) <= set(programs)  # each a thin entry point of a program


@pytest.mark.parametrize("how", ["module", "tools"])
def test_the_converter_runs_from_a_checkout_both_ways(how, tmp_path):
    """`python tools/make_tfrecords.py` and `python -m alexnet_tf.make_tfrecords`."""
    program = (
        [os.path.join(ROOT, "tools", "make_tfrecords.py")]
        if how == "tools"
        else ["-m", "alexnet_tf.make_tfrecords"]
    )
    r = subprocess.run(
        [sys.executable, *program, f"--input_dir={tmp_path / 'missing'}",
         f"--output_dir={tmp_path / 'out'}"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 2 and "--input_dir" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from the checkout, installed in a new environment that takes its
    dependencies from this one; returns the environment's bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q", "-w", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    wheel = next(p for p in os.listdir(root) if p.endswith(".whl"))
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(root / wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv / "bin"


@pytest.mark.slow  # builds and installs a wheel, then starts 17 programs
def test_the_installed_wheel_gives_every_command_with_its_flags(installed, tmp_path):
    where = subprocess.run(
        [str(installed / "python"), "-c", "import alexnet_tf; print(alexnet_tf.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    assert str(installed.parent) in where  # the wheel's copy, not the checkout's
    for name in _declared_programs():
        r = subprocess.run(
            [str(installed / _command(name)), "--help"],
            capture_output=True, text=True, env=ENV, cwd=tmp_path,
        )  # fmt: skip
        text = r.stdout + r.stderr
        assert r.returncode in (0, 1) and "Traceback" not in text, (name, text[-2000:])
        listed = [line for line in text.splitlines() if line.lstrip().startswith("--")]
        assert listed, (name, text[-2000:])  # its own flags, not only --helpfull's hint


@pytest.mark.slow  # a conversion and a configuration check through installed commands
def test_the_installed_converter_and_trainer_work_outside_the_checkout(installed, tmp_path):
    from alexnet_tf.data import demo

    raw = demo.write_raw(str(tmp_path / "raw"), train_per_class=2, validation_per_class=1)
    out = tmp_path / "records"
    r = subprocess.run(
        [str(installed / "alexnet-make-tfrecords"), f"--input_dir={raw}", f"--output_dir={out}",
         "--train_shards=1", "--validation_shards=1", "--num_workers=1", "--noprogress"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "metadata.json").exists()
    r = subprocess.run(
        [str(installed / "alexnet-train"), f"--data_dir={out}", f"--model_dir={tmp_path / 'run'}",
         "--check_only"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"data_dir"' in r.stdout
