"""The game day's DynamoDB and RDS canaries: started on the primary before the outage,
stopped at it, their acknowledged writes kept for the RPO phase (``canaries.py`` writes them;
MSK's are ``msk_canaries.py``). Writes go through the game day's consented write gate.

Not supported: canaries on a resumed drill (only the attempt that ran readiness and the outage
writes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from maip_drlib.evidence.journal import Journal
from maip_drlib.write_gate import WriteGate

if TYPE_CHECKING:
    from maip_drlib.drill.gameday import GamedayPlan
    from maip_drlib.regions import RegionHandles
    from maip_drlib.rpo import PacedCanaryWriter


def gameday_handles(plan: GamedayPlan, *, writes: WriteGate | None = None) -> RegionHandles:
    """The game day's own handles (canaries, summary); an assumed role's session is named
    ``maip-dr-<drill id>`` as in the pytest phases. Writes only with ``writes`` (consent is
    checked by the CLI before the game day starts)."""
    from maip_drlib.assumed_role import role_session_name
    from maip_drlib.regions import build_region_handles

    return build_region_handles(plan.target, plan.topology, writes=writes,
                                session_name=role_session_name(plan.attempt.drill_id))


def start_dynamodb_canaries(plan: GamedayPlan, journal: Journal) -> PacedCanaryWriter | None:
    """Canaries into the primary until the outage (game days only); None if it cannot."""
    from maip_drlib.drill.canaries import CanaryPlan, start_writer
    from maip_drlib.errors import DRError

    lag = 0.0
    if plan.control is not None:  # a simulation: size the window from the lag it simulates
        lag = float(plan.control.status().get("faults", {}).get("lag_seconds", {})
                    .get("dynamodb", 0.0))
    canary_plan = CanaryPlan.for_target(plan.target, expected_lag_s=lag,
                                        window_s=plan.canary_window_s)
    plan.canary_plan = canary_plan
    handles = gameday_handles(plan, writes=WriteGate.consented(target=plan.target.name))
    try:
        writer = start_writer(handles.primary, plan.topology, plan.attempt.drill_id,
                              canary_plan)
    except DRError as error:
        journal.record("canary", event="not started", error=str(error))
        plan.echo(f"maip-dr: canaries not started ({error}); RPO will read 'not measured'")
        return None
    journal.record("canary", event="started", interval_s=canary_plan.interval_s,
                   table=plan.topology.canary_table, region=plan.topology.primary.region)
    plan.echo(f"maip-dr: writing canaries to {plan.topology.canary_table} in "
              f"{plan.topology.primary.region} every {canary_plan.interval_s:g}s")
    return writer


def start_rds_canaries(plan: GamedayPlan, journal: Journal) -> PacedCanaryWriter | None:
    """RDS canaries into the primary PostgreSQL writer until the outage (database access
    only; None without it or when the writer cannot start: the row reads not measured)."""
    access = plan.target.database
    if access is None:
        return None
    from maip_drlib.drill.canaries import CanaryPlan, start_rds_writer
    from maip_drlib.errors import DRError
    from maip_drlib.probes import rds as rds_probes

    canary_plan = CanaryPlan.for_target(plan.target)
    handles = gameday_handles(plan, writes=WriteGate.consented(target=plan.target.name))
    try:
        # The writer of the primary's two names (after a failback it may be the other one).
        instance = rds_probes.primary_writer_name(handles.primary, plan.topology)
        writer = start_rds_writer(handles.primary, plan.topology, access,
                                  plan.attempt.drill_id, canary_plan)
    except DRError as error:
        journal.record("canary", store="rds", event="not started", error=str(error))
        plan.echo(f"maip-dr: RDS canaries not started ({error}); RDS RPO will read "
                  "'not measured'")
        return None
    finally:
        handles.close()
    journal.record("canary", store="rds", event="started", interval_s=canary_plan.interval_s,
                   instance=instance, region=plan.topology.primary.region)
    plan.echo(f"maip-dr: writing RDS canaries to {instance} in "
              f"{plan.topology.primary.region} every {canary_plan.interval_s:g}s")
    return writer


def finish_canaries(plan: GamedayPlan, journal: Journal, writer: PacedCanaryWriter,
                    store: str = "dynamodb") -> None:
    from maip_drlib.drill.canaries import CanaryPlan, finish_writer

    path = finish_writer(writer, plan.attempt.path, plan.attempt.drill_id,
                         plan.canary_plan or CanaryPlan.for_target(plan.target),
                         wait_for_outage=plan.outage_injected, store=store)
    acknowledged = len(writer.acknowledged)
    fields = {"store": store} if store != "dynamodb" else {}
    journal.record("canary", event="stopped", acknowledged=acknowledged,
                   reason=writer.stopped_reason, file=path.name, **fields)
    label = "canaries" if store == "dynamodb" else f"{store.upper()} canaries"
    plan.echo(f"maip-dr: {label} stopped after {acknowledged} acknowledged "
              f"({writer.stopped_reason or ''})")
