"""The notebooks run top to bottom on the demo data (parameters replaced as papermill
would), make their pictures, and the plotting tools work on the run they leave."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from PIL import Image
from trainer import ROOT

NOTEBOOKS = ("01_input_pipeline", "02_train_and_evaluate", "03_what_the_network_learned")


VALIDATION_PER_CLASS = 5


@pytest.fixture(scope="module")
def executed(module_tmp, demo_records):
    """Each notebook run top to bottom, on a small demo data set (the full-size model)."""
    root = module_tmp
    data_dir = demo_records(10, VALIDATION_PER_CLASS)
    params = (
        f'DATA_DIR = "{data_dir}"\nMODEL_DIR = "{root / "run"}"\n'
        'MIXED_PRECISION = "float32"\n'  # tests pin their precision
        "EPOCHS = 2\nSTEPS_PER_EPOCH = 2\n"  # the demo's recipe, a few steps of it
    )
    books = {}
    for name in NOTEBOOKS:  # in order: 03 reads the run 02 makes
        book = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), as_version=4)
        cell = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += "\n" + params  # later assignments win, as papermill injects them
        NotebookClient(
            book, timeout=900, kernel_name="python3", resources={"metadata": {"path": ROOT}}
        ).execute()
        books[name] = book
    return books, root


def _images(book):
    return sum(
        1 for c in book.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    )


def test_notebooks_run_and_draw(executed):
    books, root = executed
    assert _images(books["01_input_pipeline"]) >= 5
    assert _images(books["02_train_and_evaluate"]) >= 1
    assert _images(books["03_what_the_network_learned"]) >= 3
    text = "".join(
        o.get("text", "")
        for c in books["02_train_and_evaluate"].cells
        for o in c.get("outputs", [])
    )
    validation_images = 6 * VALIDATION_PER_CLASS
    assert "10 crop(s): top-1 error" in text and f"over {validation_images} images" in text
    assert os.path.exists(root / "run" / "best.keras")


def test_plot_tools_write_pngs(executed, tmp_path):
    _, root = executed
    for tool, out in (("plot_history.py", "h.png"), ("show_filters.py", "f.png")):
        r = subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "tools", tool),
                str(root / "run"),
                f"--out={tmp_path / out}",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        assert r.returncode == 0, r.stderr[-2000:]
        with Image.open(tmp_path / out) as image:
            assert image.width > 100 and image.height > 100
    with Image.open(tmp_path / "f.png") as grid:  # two towers of 48 kernels: 3 x 4-px rows each
        assert grid.height > grid.width / 3
    r = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "plot_history.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "history.json does not exist" in r.stderr
