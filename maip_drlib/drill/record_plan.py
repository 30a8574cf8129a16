"""The test plan of a game day, journalled before its first mutating call (``drill.plan``).

``journal_plan`` writes one ``drill.plan`` record into the first attempt's journal, after the
read-only readiness phase and before the canaries, the outage and the first stage: the
scenario (a planned failover, an outage declared by the operator with its reason, or an
outage the simulation injects) and the dry run of ``maip-dr plan`` from the state the platform
is in at that moment (``planner.plan_drill``: every mutating call the drill would make, none
made; the handles it uses refuse every write). The DR test record (``evidence/dr_test_record.py``)
takes the plan from there.

A planner that cannot read the platform (a region that does not answer, an API error) does not
stop the drill: the record then says why the plan is missing. Not supported: a plan for a
resumed attempt (the plan is of the drill as it stood before its first mutation; a resume
keeps the first attempt's), ``--hold-in-dr`` in the plan (the hold mutates nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.errors import DRError
from maip_drlib.evidence.journal import Journal

if TYPE_CHECKING:
    from maip_drlib.drill.gameday import GamedayPlan

PLAN_KIND = "drill.plan"


def option_value(args: list[str], option: str) -> str | None:
    """The value of ``option`` in ``args`` (``--x V`` or ``--x=V``), None when absent."""
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


def scenario_of(plan: GamedayPlan) -> dict[str, Any]:
    """planned / declared (with the operator's reason) / injected by the simulation."""
    reason = option_value(plan.dr_args, "--dr-declare-outage")
    if "--dr-planned" in plan.dr_args:
        return {"kind": "planned", "reason": "planned failover: the primary is fenced at the "
                "application, replica lag zero before the promotion"}
    if plan.outage_injected:
        return {"kind": "injected", "reason": reason,
                "region": plan.topology.primary.region}
    return {"kind": "declared", "reason": reason, "region": plan.topology.primary.region}


def dry_run(plan: GamedayPlan) -> dict[str, Any]:
    """The planner's calls from the current state, or why there are none."""
    from maip_drlib.drill.context import DrillContext, DrillOptions, PollPolicy
    from maip_drlib.drill.planner import plan_drill
    from maip_drlib.regions import build_region_handles
    from maip_drlib.resolvers import resolver_for

    planned = "--dr-planned" in plan.dr_args
    try:
        handles = build_region_handles(plan.target, plan.topology)  # no write gate: read-only
        try:
            context = DrillContext(handles=handles, topology=plan.topology, target=plan.target,
                                   resolver=resolver_for(plan.target),
                                   options=DrillOptions(planned=planned),
                                   poll=PollPolicy.for_target(plan.target),
                                   drill_id=plan.attempt.drill_id)
            calls = plan_drill(context)
            notes = [e.evidence.get("notes") for e in context.decisions.entries
                     if e.stage == "plan"]
        finally:
            handles.close()
    except (DRError, ClientError, BotoCoreError) as error:
        return {"status": "not available", "error": f"{type(error).__name__}: {error}"}
    return {"status": "recorded", "calls": [c.as_dict() for c in calls],
        "notes": notes[0] if notes and notes[0] else []}


def journal_plan(plan: GamedayPlan, journal: Journal) -> None:
    """One ``drill.plan`` record: the scenario and the dry run, before the first mutation."""
    planned = dry_run(plan)
    journal.record(PLAN_KIND, scenario=scenario_of(plan), **planned)
    if planned["status"] == "recorded":
        plan.echo(f"maip-dr: test plan recorded: {len(planned['calls'])} mutating calls "
                  "planned from the current state")
    else:
        plan.echo(f"maip-dr: the dry-run plan could not be made ({planned['error']}); the "
                  "DR test record says so")
