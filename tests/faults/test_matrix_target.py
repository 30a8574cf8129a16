"""``--write-fault-matrix``: the generated table is written to docs/fault-matrix.md only.

The README links the fault matrix and holds no generated table; a README.md target is refused
before any row runs, and the documented regeneration command names docs/fault-matrix.md alone.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _faults_conftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faults_conftest_under_test",
                                                  Path(__file__).with_name("conftest.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_readme_target_is_refused() -> None:
    conftest = _faults_conftest()
    for value in ("README.md", "docs/README.md", "./readme.md"):
        with pytest.raises(pytest.UsageError, match=r"docs/fault-matrix\.md only"):
            conftest.matrix_target(value)
    assert conftest.matrix_target("docs/fault-matrix.md") == Path("docs/fault-matrix.md")
    assert conftest.matrix_target(None) is None


def test_the_matrix_lives_in_docs_only() -> None:
    doc = (ROOT / "docs" / "fault-matrix.md").read_text()
    assert doc.count("<!-- matrix -->") == 1 and doc.count("<!-- /matrix -->") == 1
    assert "| kill-failback-4 |" in doc
    assert "<!-- matrix -->" not in (ROOT / "README.md").read_text()
    commands = [line for line in doc.splitlines() if "--write-fault-matrix" in line]
    assert commands and all("README" not in line for line in commands)
