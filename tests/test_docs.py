"""The docs name what holds their promises: every test docs/reliability.md names exists,
and every row of its table names at least one."""

import os
import re

import pytest
from trainer import ROOT

pytestmark = pytest.mark.quick


def test_every_test_the_reliability_page_names_exists():
    text = open(os.path.join(ROOT, "docs", "reliability.md"), encoding="utf-8").read()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    named = []
    for row in rows[1:]:  # the header row names none
        refs = re.findall(r"`(test_\w+\.py)?::(test_\w+)`|`(test_\w+\.py)` \(every test\)", row)
        assert refs, row[:80]
        module = None
        for file, name, whole in refs:
            module = file or whole or module
            named.append((module, name))
    for module, name in named:
        source = open(os.path.join(ROOT, "tests", module), encoding="utf-8").read()
        assert not name or f"def {name}(" in source, f"{module}::{name}"
