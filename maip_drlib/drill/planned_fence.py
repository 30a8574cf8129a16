"""A planned failover's first stage: fence the primary at the application, then wait for lag zero.

``fence_primary`` (failover 1 under ``--dr-planned``): every deployment of the services'
namespace in the primary region scaled to 0 (behind ``require_execute``), then a wait until no
pod and, with database access, no service session is left on the old writer
(``guards.observe_fencing``), then until the DR replica has replayed every write
(``catch_up``: WAL position, heartbeat or a commit replayed after writes stopped). The
evidence is recorded as the stage's decision. Not supported: fencing at the database (RDS will
not stop an instance that has read replicas).
"""

from __future__ import annotations

import time

from maip_drlib.drill.call_builders import desired_replicas, dr_writer, scale_deployments_calls
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.deadlines import FENCE_DEADLINE_S, LAG_ZERO_DEADLINE_S, deadline_s
from maip_drlib.drill.guards import (
    dr_replica,
    observe_fencing,
    primary_writer_state,
    require_execute,
)
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.errors import CheckFailed, WaitTimeout
from maip_drlib.facts import ApiUnreachable
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.waits import WaitSpec, wait_for

STAGE_1 = "failover 1"


def fence_primary(ctx: DrillContext) -> StageOutcome:
    """Failover 1 of a planned failover: the primary fenced, the DR replica caught up."""
    primary, namespace = ctx.handles.primary, ctx.topology.namespace
    ctx.say(f"planned failover: fencing the primary application in {primary.region}")
    nodes = kube_probes.nodes(primary)
    if isinstance(nodes, ApiUnreachable):
        raise CheckFailed(
            "planned failover needs the primary reachable to fence it; if it is down, run an "
            "unplanned failover with --dr-declare-outage",
            region=primary.region, resource=primary.kube_context, expected="API answers",
            observed=str(nodes),
        )
    desired = desired_replicas(primary, namespace)
    calls = scale_deployments_calls(STAGE_1, primary.region, namespace, desired, 0)
    actions: list[str] = []
    if calls:
        require_execute(ctx, STAGE_1, f"scaling {len(calls)} primary deployments to 0")
        ctx.say(f"scaling every deployment in {namespace} ({primary.region}) to 0")
        from maip_drlib.actions import kube as kube_actions

        kube_actions.scale_all_deployments(primary, namespace, 0,
                                           deadline_s=deadline_s(ctx, FENCE_DEADLINE_S),
                                           poll_initial_s=ctx.poll.initial_s,
                                           poll_max_s=ctx.poll.max_s)
        actions.append(f"kubernetes {primary.region}: scale {len(calls)} deployments in "
                       f"{namespace} to 0")
    ctx.say("waiting until no pod of the services is left in the primary region"
            + (" and no service session on its writer" if ctx.target.database else "")
            + " (writes stopped at the application)")
    writer = primary_writer_state(ctx).writer
    try:
        fencing = wait_for(
            WaitSpec(f"no pod of {namespace} ({primary.region}) and no service session left",
                     deadline_s=deadline_s(ctx, FENCE_DEADLINE_S),
                     poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s),
            lambda: observe_fencing(ctx, writer.identifier if writer else None),
            success=lambda evidence: evidence.fenced,
        ).value
    except WaitTimeout as timeout:
        raise CheckFailed(f"{STAGE_1}: the primary application is not fenced: {timeout}",
                          region=primary.region, resource=namespace,
                          expected="no pod and no service session left",
                          observed=str(timeout.last_observed)) from timeout
    fenced_at = time.time()  # writes proven stopped by now (the catch-up's "since")
    facts: dict[str, object] = {"fenced_deployments": sorted(desired), "before": desired,
                                "fencing": str(fencing)}
    roles = rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology)
    replica = dr_replica(roles, ctx.topology)
    if replica is None and dr_writer(roles, ctx.topology) is not None:
        facts["replica_lag"] = "the DR instance is already the writer"
    elif replica is None:
        raise CheckFailed("no DR read replica found to wait for", region=ctx.handles.secondary
                          .region, resource="rds", expected="one replica", observed=str(roles))
    else:
        from maip_drlib.drill import catch_up

        ctx.say(f"waiting until {replica.identifier} has replayed every write (WAL position, "
                "heartbeat or a commit replayed after writes stopped; never ReplicaLag alone)")
        lag = catch_up.wait_caught_up(
            ctx, catch_up.pair_of(ctx, ctx.handles.secondary, replica.identifier),
            since=fenced_at, deadline_s=deadline_s(ctx, LAG_ZERO_DEADLINE_S))
        facts["replica_lag"] = str(lag)
        facts["lag_decided_by"] = lag.method
    ctx.decisions.record(STAGE_1, "primary fenced", **{k: str(v) for k, v in facts.items()})
    return StageOutcome(STAGE_1, f"primary fenced: {len(desired)} deployments at 0, "
                        f"{facts['replica_lag']}", tuple(actions), facts)
