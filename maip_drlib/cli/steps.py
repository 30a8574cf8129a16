"""``maip-dr steps``: the step catalogue, every phrase a feature file can use.

Generated from the step definitions (``maip_drlib.step_catalogue``), so a team writes its own
scenarios (``--features DIR``, docs/own-checks.md) without reading Python. ``--grep TEXT``
keeps the steps whose phrase, parameters or description contain TEXT (case-insensitive);
``--json`` prints one document. Reads no target and calls nothing. Exit codes: 0 printed; 2
bad input (also: no step matches ``--grep``).
"""

from __future__ import annotations

import click

from maip_drlib.cli.output import output_options, start_output, supports_output
from maip_drlib.errors import ConfigError


@supports_output
@click.command("steps")
@click.option("--grep", "grep", default=None, metavar="TEXT",
              help="Only the steps whose phrase, parameters or description contain TEXT "
                   "(case-insensitive).")
@output_options
@click.pass_context
def steps_command(ctx: click.Context, grep: str | None, as_json: bool, quiet: bool) -> None:
    """The step catalogue: every Given/When/Then phrase, its parameters and what it checks.

    Write your own checks with these phrases in a .feature file tagged @readiness and run it
    with 'maip-dr readiness --features DIR' (docs/own-checks.md). Steps marked "(mutating)"
    change the platform and run only in @destructive scenarios with consent. Reads no
    target. Exit codes: 0 printed; 2 bad input or no step matches --grep.
    """
    from maip_drlib.step_catalogue import load_catalogue, render

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    entries = load_catalogue()
    if grep is not None:
        entries = [entry for entry in entries if entry.matches(grep)]
        if not entries:
            raise ConfigError(f"no step matches {grep!r} (run 'maip-dr steps' for all)",
                              key="--grep")
    output.document({"steps": [entry.as_dict() for entry in entries]})
    output.result(render(entries))
    output.verdict(f"{len(entries)} step{'' if len(entries) == 1 else 's'}")
