"""docs/reference.md is the `--help` of every maip-dr command, and it is up to date.

Regenerate it with `python tests/lib/reference_doc.py` after adding or changing a command, an
option or a help text.
"""

from __future__ import annotations

import pytest
from reference_doc import REFERENCE, render

from maip_drlib.cli import cli, walk_commands

pytestmark = pytest.mark.unit


def _sections(text: str) -> dict[str, str]:
    return {part.split("\n", 1)[0]: part for part in text.split("\n## ")}


def test_reference_is_up_to_date() -> None:
    written, current = _sections(REFERENCE.read_text()), _sections(render())
    stale = sorted(name for name in written.keys() | current.keys()
                   if written.get(name) != current.get(name))
    assert stale == [], ("docs/reference.md is out of date (run python tests/lib/reference_doc.py)"
                         f" in: {', '.join(stale)}")


def test_every_command_and_option_appears_in_the_reference() -> None:
    text = REFERENCE.read_text()
    missing = []
    for command, path in [(cli, "maip-dr"), *walk_commands(cli, "maip-dr")]:
        if f"## `{path}`" not in text:
            missing.append(path)
        section = text.split(f"## `{path}`\n", 1)[-1].split("\n## `", 1)[0]
        for param in command.params:
            for opt in getattr(param, "opts", ()):
                if opt.startswith("-") and opt not in section:
                    missing.append(f"{path} {opt}")
    assert missing == []
