"""The RDS facts failback works from: the roles of both regions, the promoted DR writer, and
bounded waits for an instance's status and for a replica to catch up.

``rds_roles`` refuses when an RDS API does not answer (failback needs both regions);
``promoted_writer`` is the one available writer in the DR region; ``wait_lag`` decides "caught
up" by WAL position, heartbeat or replayed commit (``catch_up.py``), never by ``ReplicaLag``
alone. ``continuity`` is failback 2's data continuity check on the data plane (the drill's rows
on the promoted writer are on the failback replica).

Not supported: Aurora clusters, more than one writer in the DR region.
"""

from __future__ import annotations

from collections.abc import Callable

from maip_drlib.actions import rds as rds_actions
from maip_drlib.drill import catch_up
from maip_drlib.drill.catch_up import ReplicaCatchUp
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.drill_ids import data_plane_drill_id
from maip_drlib.errors import CheckFailed
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitSpec, wait_for

STAGE_2 = "failback 2"


def rds_roles(ctx: DrillContext, stage: str) -> RdsRoles:
    roles = rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology)
    if roles.unreachable_regions:
        raise CheckFailed(f"{stage}: an RDS API does not answer", resource="rds",
                          expected="RDS APIs of both regions answer",
                          observed="; ".join(map(str, roles.unreachable_regions)))
    return roles


def promoted_writer(ctx: DrillContext, roles: RdsRoles, stage: str) -> DbInstanceFact:
    """The writer in the DR region (the promoted instance) that failback starts from."""
    region = ctx.topology.secondary.region
    found = [w for w in roles.writers if w.region == region and w.status == "available"]
    if len(found) != 1:
        raise CheckFailed(f"{stage}: failback needs one available writer in the DR region "
                          "(the promoted instance)", region=region, resource="rds",
                          expected="one available writer", observed=str(roles))
    return found[0]


def terminal_status(fact: DbInstanceFact) -> str | None:
    if fact.status in rds_actions.TERMINAL_STATUSES or fact.status.startswith("incompatible-"):
        return f"{fact.identifier} is {fact.status}"
    return None


def wait_db(ctx: DrillContext, handle: RegionHandle, identifier: str, what: str,
             success: Callable[[DbInstanceFact], bool], deadline_s: float) -> DbInstanceFact:
    spec = WaitSpec(description=f"RDS {identifier} in {handle.region} {what}",
                    deadline_s=deadline_s, poll_initial_s=ctx.poll.initial_s,
                    poll_max_s=ctx.poll.max_s)
    return wait_for(spec, lambda: rds_probes.db_instance(handle, identifier),
                    success=success, failure=terminal_status).value


def wait_lag(ctx: DrillContext, handle: RegionHandle, replica: str, deadline_s: float, *,
              since: float | None = None, limit_s: float = 0.0) -> ReplicaCatchUp:
    """Wait until ``replica`` replayed every write made before ``since`` (writes stopped), or
    is within ``limit_s``: decided by WAL position, heartbeat or replayed commit
    (``drill.catch_up``), never by ``ReplicaLag`` alone; the method is in the result."""
    pair = catch_up.pair_of(ctx, handle, replica)
    return catch_up.wait_caught_up(ctx, pair, since=since, limit_s=limit_s,
                                   deadline_s=deadline_s)


def continuity(ctx: DrillContext, promoted: DbInstanceFact, replica: str,
                drill_id: str | None, deadline_s: float) -> str:
    """Data continuity DR writer -> failback replica (data plane only; '' without access).

    Raises ``CheckFailed`` naming the missing rows (recorded as a decision first).
    """
    if ctx.target.database is None:
        return ""
    from maip_drlib.probes import postgres as pg_probes
    from maip_drlib.rpo.rds_continuity import data_continuity

    key = data_plane_drill_id(drill_id, ctx)
    access = ctx.target.database
    source = pg_probes.connection_spec(ctx.handles.by_name(promoted.region), access,
                                       promoted.identifier)
    destination = pg_probes.connection_spec(ctx.handles.primary, access, replica)
    ctx.say(f"{STAGE_2}: checking that the rows of drill {key} on {promoted.identifier} are "
            f"on {replica}")
    try:
        fact = data_continuity(source, destination, key, settle_s=min(deadline_s, 60.0))
    except CheckFailed as error:
        ctx.decisions.record(STAGE_2, "data continuity failed", error=str(error))
        raise
    ctx.decisions.record(STAGE_2, "data continuity", fact=str(fact))
    return str(fact)
