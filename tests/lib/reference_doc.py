"""docs/reference.md: every ``maip-dr`` command's ``--help``, generated from the click commands.

``python tests/lib/reference_doc.py`` writes the file again; ``tests/lib/test_reference_doc.py``
fails when it differs from what the commands print now (a new command or option, a changed
help text). The help is rendered at a fixed width (100 columns), so the file does not depend on
the terminal it was generated in. Not supported: help that depends on the environment (a
default read from an environment variable at import time would make the file machine-specific;
none does today).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from maip_drlib.cli import cli, walk_commands

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
WIDTH = 100

HEADER = """# Command reference

Every `maip-dr` command and option, as its `--help` prints it. Generated from the click commands
by `python tests/lib/reference_doc.py`; `tests/lib/test_reference_doc.py` fails when this file
is out of date, so do not edit it by hand. How the commands behave in general (output, colour,
progress, completion, errors, exit codes): [command-line.md](command-line.md).
"""


def _context(path: str) -> click.Context:
    """The click context chain of ``path`` ('maip-dr sim up'), as the command line builds it."""
    names = path.split()[1:]
    # The group's context_settings (-h as well as --help), as cli.main() applies them; click
    # caches each command's help option on first use, so a context without them would make
    # the text depend on which test built a context first.
    ctx = click.Context(cli, info_name="maip-dr", terminal_width=WIDTH, max_content_width=WIDTH,
                        **cli.context_settings)
    command: click.Command = cli
    for name in names:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        ctx = click.Context(command, info_name=name, parent=ctx, terminal_width=WIDTH,
                            max_content_width=WIDTH)
    return ctx


def anchor(path: str) -> str:
    """GitHub's anchor of the heading ``## `path` ``."""
    return path.lower().replace(" ", "-")


def render() -> str:
    # click (8.2+) builds each command's help option once, from the first context that asks:
    # a test invoking a subgroup directly (without the root's -h) must not change this text.
    for command in [cli, *(command for command, _path in walk_commands(cli, "maip-dr"))]:
        command._help_option = None
    paths = ["maip-dr"] + [path for _command, path in walk_commands(cli, "maip-dr")]
    parts = [HEADER, "\n## Contents\n\n"]
    parts += [f"- [`{path}`](#{anchor(path)})\n" for path in paths]
    for path in paths:
        ctx = _context(path)
        text = ctx.command.get_help(ctx).rstrip()
        parts.append(f"\n## `{path}`\n\n```text\n{text}\n```\n")
    return "".join(parts)


def main() -> int:
    REFERENCE.write_text(render())
    print(f"wrote {REFERENCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
