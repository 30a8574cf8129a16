"""docs/simulation-fidelity.md stays true: every test it names as pinning a behaviour exists
(a renamed or deleted test would leave a behaviour claimed but unpinned)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "simulation-fidelity.md"


def _named_tests(text: str) -> list[tuple[str, str | None]]:
    """(file, test name or None) for each `tests/...py` and following `::name` reference."""
    found: list[tuple[str, str | None]] = []
    current: str | None = None
    for file, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", text):
        if file:
            current = file
            found.append((file, name or None))
        elif name and current:
            found.append((current, name))
    return found


def test_every_pinning_test_the_page_names_exists() -> None:
    named = _named_tests(DOC.read_text())
    assert len(named) > 20  # the page names its tests
    missing = [(file, name) for file, name in named
               if not (ROOT / file).is_file()
               or (name and f"def {name}(" not in (ROOT / file).read_text())]
    assert missing == []
