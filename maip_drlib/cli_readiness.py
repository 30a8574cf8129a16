"""``maip-dr readiness``: the read-only preflight of both regions, printed as a table."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import click

from maip_drlib.cli_targets import running_target
from maip_drlib.readiness import CheckResult, ReadinessInputs, Thresholds, run_readiness
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import Resolver, SimulationResolver, SystemResolver

EXIT_OK, EXIT_CHECK_FAILED, EXIT_ENVIRONMENT = 0, 1, 4


def _table(results: list[CheckResult]) -> str:
    name_width = max(len(r.name) for r in results)
    region_width = max(len(r.region) for r in results)
    lines = [f"{'CHECK':<{name_width}}  {'REGION':<{region_width}}  RESULT  SECONDS  DETAIL"]
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        lines.append(f"{r.name:<{name_width}}  {r.region:<{region_width}}  {verdict:<6}  "
                     f"{r.elapsed_s:7.2f}  {r.detail}")
    return "\n".join(lines)


def exit_code_for(results: list[CheckResult]) -> int:
    if all(r.passed for r in results):
        return EXIT_OK
    if all(r.error_kind == "unreachable" for r in results):
        return EXIT_ENVIRONMENT
    return EXIT_CHECK_FAILED


@click.command("readiness")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def readiness_command(ctx: click.Context, as_json: bool) -> None:
    """Read-only preflight of both regions; safe at any time, also against production.

    Exit codes: 0 every check passed; 1 a check failed; 2 bad input; 4 nothing reachable.
    """
    with running_target(ctx) as (config, target):
        resolver: Resolver = (SimulationResolver(target.control_url) if target.control_url
                              else SystemResolver())
        handles = build_region_handles(target, config.topology)
        started = time.monotonic()
        try:
            results = run_readiness(ReadinessInputs(handles, config.topology, target, resolver,
                                                    Thresholds()))
        finally:
            handles.close()
        elapsed = time.monotonic() - started
    passed = sum(r.passed for r in results)
    if as_json:
        click.echo(json.dumps({"target": target.name, "kind": target.kind,
                               "simulated": target.simulated, "elapsed_s": round(elapsed, 3),
                               "results": [asdict(r) for r in results]}, indent=2))
    else:
        banner = " (SIMULATED platform)" if target.simulated else ""
        click.echo(f"Readiness of target {target.name!r} [{target.kind}]{banner}: "
                   f"{config.topology.primary.region} + {config.topology.secondary.region}")
        click.echo(_table(results))
        click.echo(f"{passed}/{len(results)} checks passed in {elapsed:.2f}s")
    ctx.exit(exit_code_for(results))
