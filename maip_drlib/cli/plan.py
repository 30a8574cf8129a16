"""``maip-dr plan``: the dry run, every mutating call the drill would make from the current
state, none made (its handles refuse every write)."""

from __future__ import annotations

import click

from maip_drlib.cli.output import (
    output_options,
    start_output,
    supports_output,
)


@supports_output
@click.command("plan")
@click.option("--phase", "phases", multiple=True, type=click.Choice(["failover", "failback"]),
              help="Plan only this phase (repeatable; default both).")
@click.option("--drill-id", default=None, metavar="ID",
              help="The drill id the game day will run under (gameday --drill-id): names "
                   "what the drill names by it, such as failback 4's final snapshot "
                   "(<instance>-failback-<drill id>); without it the plan shows a placeholder.")
@output_options
@click.pass_context
def plan_command(ctx: click.Context, phases: tuple[str, ...], drill_id: str | None,
                 as_json: bool, quiet: bool) -> None:
    """Dry run: every mutating call the drill would make from the current state; none made.

    Read-only: it needs no safety flag and takes no lease. Exit codes: 0 planned; 2 bad
    input; 4 target unreachable; 130 interrupted.
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    from maip_drlib.cli.drill_options import check_drill_id
    from maip_drlib.cli.targets import running_target
    from maip_drlib.drill.context import DrillContext, PollPolicy
    from maip_drlib.drill.planner import plan_drill
    from maip_drlib.regions import build_region_handles
    from maip_drlib.resolvers import resolver_for

    check_drill_id(drill_id)
    with running_target(ctx) as (config, target):
        resolver = resolver_for(target)
        handles = build_region_handles(target, config.topology)
        try:
            context = DrillContext(handles=handles, topology=config.topology, target=target,
                                   resolver=resolver, poll=PollPolicy.for_target(target),
                                   drill_id=drill_id)
            calls = plan_drill(context, phases=phases or ("failover", "failback"))
        finally:
            handles.close()
    banner = " (SIMULATED)" if target.simulated else ""
    output.document({"target": {"name": target.name, "kind": target.kind,
                                "simulated": target.simulated},
                     "calls": [c.as_dict() for c in calls]})
    for index, call in enumerate(calls, 1):
        params = ", ".join(f"{k}={v}" for k, v in call.parameters.items())
        output.result(f"{index:3d}. [{call.stage}] {call.service}:{call.operation} "
                      f"({call.region}) {params}"
                      + (f" -- only if {call.condition}" if call.condition else ""))
    output.verdict(f"Plan against {target.name!r} [{target.kind}]{banner}: {len(calls)} "
                   "mutating calls, none made")
