"""The package's layering, read from every import in it (function-level ones included):
no circle, and no arrow up. From the bottom: core/ (no TensorFlow), data/, model/; then
training/, inference/ and pretrained/, which do not import each other; then studies/
and applications; the programs at the package root import anything below them and
nothing imports them."""

import ast
import os

import pytest
from trainer import ROOT

PACKAGE = os.path.join(ROOT, "alexnet_tf")
# Each subpackage's floor; a module may import its own subpackage or a lower floor.
FLOORS = {
    "core": 0,
    "data": 1,
    "model": 2,
    "training": 3,
    "inference": 3,
    "pretrained": 3,
    "studies": 4,
    "applications": 4,
}
PROGRAM_FLOOR = 5


def _modules() -> dict:
    """{dotted name: path} of every module in the package."""
    found = {}
    for directory, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(directory, file)
                rel = os.path.relpath(path, ROOT)[: -len(".py")]
                found[rel.replace(os.sep, ".").removesuffix(".__init__")] = path
    return found


def _imports(path: str, name: str, modules: dict) -> set:
    """The package's modules that `path` imports anywhere in it."""
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def _graph() -> dict:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _floor(name: str) -> tuple:
    """(floor, part) of a module: its subpackage's, or the programs' at the root."""
    parts = name.split(".")
    if len(parts) == 1:
        return -1, "package"  # alexnet_tf/__init__.py: its face, importing nothing
    part = parts[1]
    if part in FLOORS:
        return FLOORS[part], part
    return PROGRAM_FLOOR, name


@pytest.mark.quick
def test_no_module_imports_upward_or_sideways():
    wrong = []
    for source, targets in _graph().items():
        floor, part = _floor(source)
        for target in targets:
            target_floor, target_part = _floor(target)
            if target_part == part or target_floor < floor:
                continue
            wrong.append(f"{source} -> {target}")
    assert not wrong, "\n".join(sorted(wrong))


@pytest.mark.quick
def test_no_import_circle():
    graph = _graph()
    state, circles = {}, []

    def visit(name, path):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                circles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, "\n".join(circles)


@pytest.mark.quick
def test_the_scan_sees_function_level_imports():
    """A test that cannot fail is a defect: the scan reads an import inside a function."""
    graph = _graph()
    assert "alexnet_tf.training.run" in graph["alexnet_tf.train"]  # imported inside main()
    assert _floor("alexnet_tf.train") == (PROGRAM_FLOOR, "alexnet_tf.train")
