"""The README lands: at most 15 KB, its links to the user guide resolve, and `.ci/run` still
extracts the test command from it.

The README keeps what the suite is, the two commands, the uses, the safety flags, the exit codes
and where to read more; everything else is in docs/ (indexed by docs/README.md). Three pages are
written by others at the same time (PENDING): a link to one of them is accepted while the file
does not exist yet, and checked like any other once it does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CEILING = 15 * 1024
PENDING = {"install.md", "own-checks.md", "testing.md"}
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _missing_links(page: Path) -> list[str]:
    missing = []
    for target in _LINK.findall(page.read_text()):
        if "://" in target:
            continue
        path = (page.parent / target).resolve()
        if not path.exists() and path.name not in PENDING:
            missing.append(target)
    return missing


def test_the_readme_is_at_most_15_kb() -> None:
    size = len(README.read_bytes())
    assert size <= CEILING, f"README.md is {size} bytes, over {CEILING}: move detail to docs/"


def test_every_docs_link_of_the_readme_exists() -> None:
    links = [t for t in _LINK.findall(README.read_text()) if t.startswith("docs/")]
    assert len(links) >= 10 and "docs/reference.md" in links and "docs/README.md" in links
    assert _missing_links(README) == []


def test_the_user_guide_index_links_every_page_and_every_link_resolves() -> None:
    index = DOCS / "README.md"
    linked = {Path(t).name for t in _LINK.findall(index.read_text())}
    unlisted = sorted(p.name for p in DOCS.glob("*.md") if p.name not in linked | {"README.md"})
    assert unlisted == [], f"docs/README.md does not link {unlisted}"
    for page in sorted(DOCS.glob("*.md")):
        assert _missing_links(page) == [], page.name


def _ci_extract(text: str) -> str:
    """What .ci/run's sed pipeline prints: the lines from the test-command marker to its end
    marker, within them the ```bash fence, without the fence lines."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "<!-- test-command -->" in line)
    end = next(i for i, line in enumerate(lines) if i >= start and "<!-- /test-command -->" in line)
    block = lines[start:end + 1]
    open_ = next(i for i, line in enumerate(block) if line == "```bash")
    close = next(i for i, line in enumerate(block) if i > open_ and line == "```")
    return "\n".join(block[open_ + 1:close])


def test_ci_run_extracts_the_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "sed -n '/<!-- test-command -->/,/<!-- \\/test-command -->/p' README.md" in ci
    assert "sed -n '/^```bash$/,/^```$/p' | sed '1d;$d'" in ci
    command = _ci_extract(README.read_text())
    assert "\n" not in command and "pip install" in command
    # The whole suite (no marker or path selection), on pytest-xdist's workers.
    assert command.endswith("&& pytest -n 4 --dist loadfile"), command
