"""``maip-dr readiness``: the read-only Gherkin preflight of both regions (pytest -m readiness).

Without a config the pytest run hosts the embedded simulation itself. Extra arguments go to
pytest. Exit codes: 0 every check passed; 1 a check failed; 2 bad input; 4 nothing reachable.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import click

from maip_drlib.drill import summary
from maip_drlib.drill.pytest_runner import run_scenarios

PASSTHROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


@click.command("readiness", context_settings=PASSTHROUGH)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON at the end.")
@click.pass_context
def readiness_command(ctx: click.Context, as_json: bool) -> None:
    """Read-only preflight of both regions; safe at any time, also against production.

    Extra arguments go to pytest (e.g. -k rds). Exit codes: 0 every check passed; 1 a check
    failed; 2 bad input; 4 nothing reachable.
    """
    from maip_drlib.cli_targets import load_target

    root = ctx.find_root().obj
    target = load_target(ctx)  # validated at the edge: a bad config exits 2 before pytest
    dr_args: list[str] = []
    if root.get("config_path") is not None:
        dr_args += ["--dr-config", str(Path(root["config_path"]).resolve())]
    if root.get("target_name"):
        dr_args += ["--dr-target", root["target_name"]]
    banner = " (SIMULATED platform)" if target.simulated else ""
    click.echo(f"Readiness of target {target.name!r} [{target.kind}]{banner}", err=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="maip-readiness-") as folder:
        results_path = Path(folder) / "results.json"
        run = run_scenarios("readiness", "readiness", results_path=results_path,
                            dr_args=dr_args, extra_args=list(ctx.args))
    code = summary.exit_code(run.results, [run.exit_code])
    if as_json:
        click.echo(json.dumps({"elapsed_s": round(time.monotonic() - started, 3),
                               "exit_code": code, "results": run.results}, indent=2))
    else:
        passed = sum(r["outcome"] == "passed" for r in run.results)
        click.echo(f"\nreadiness of {target.name!r} [{target.kind}]{banner}: {passed}/"
                   f"{len(run.results)} scenarios passed in {time.monotonic() - started:.1f}s "
                   f"(exit {code})")
    ctx.exit(code)
