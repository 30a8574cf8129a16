"""Failback 1's old writer: found beside the promoted DR writer (split brain) and fenced.

``database_writers`` asks the databases themselves (with database access: PostgreSQL saying
it is a writer, not in recovery, is split brain even when RDS says otherwise);
``fence`` stops the old writer (``StopDBInstance``, behind ``require_execute``) and waits
until it is stopped. RDS refuses to stop an instance with read replicas: that is reported
with the replicas named, nothing stopped.

Not supported: fencing at the network or by revoking credentials; reconciling the writes the
old writer took while it was split brain (the data is left on the stopped instance).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from maip_drlib.drill import (
    failback_names,
    failback_rds,
    registry,
)
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.guards import require_execute
from maip_drlib.errors import CheckFailed, NotFound, Unreachable
from maip_drlib.facts import DbInstanceFact, RdsRoles
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes import rds as rds_probes

STAGE_1 = registry.stage("failback", 1).name


def database_writers(ctx: DrillContext, roles: RdsRoles, promoted: DbInstanceFact,
                      known: list[DbInstanceFact]) -> list[DbInstanceFact]:
    """The old primary writer when its database says it is a writer (data plane only).

    Without database access nothing is asked (empty). The old writer is an instance of either
    of the primary region's names (``probes.rds.primary_writer_names``) while RDS lists it
    available and not as a replica; its role is asked and recorded also when RDS already
    counts it as a writer (then it is not added twice). A database that does not answer
    (stopped, unreachable) is recorded and is no split brain.
    """
    if ctx.target.database is None:
        return []
    found: list[DbInstanceFact] = []
    for name in rds_probes.primary_writer_names(ctx.topology):
        found += database_writer(ctx, name, promoted, known)
    return found


def database_writer(ctx: DrillContext, name: str, promoted: DbInstanceFact,
                     known: list[DbInstanceFact]) -> list[DbInstanceFact]:
    from maip_drlib.probes import postgres as pg_probes

    handle, access = ctx.handles.primary, ctx.target.database
    if access is None or (name == promoted.identifier and handle.region == promoted.region):
        return []
    try:
        fact = rds_probes.db_instance(handle, name)
    except NotFound:
        return []
    if fact.status != "available" or fact.source_id:
        return []
    ctx.say(f"{STAGE_1}: asking the database of {name} ({handle.region}) whether it is a writer")
    try:
        role = pg_probes.database_role(pg_probes.connection_spec(handle, access, name))
    except (Unreachable, CheckFailed, NotFound) as error:
        ctx.decisions.record(STAGE_1, "old writer's database not asked", instance=name,
                             region=handle.region, error=str(error))
        return []
    ctx.say(f"{STAGE_1}: {role}" + (": split brain" if not role.in_recovery else ""))
    ctx.decisions.record(STAGE_1, f"old writer's database role: {role.role}", role=str(role),
                         split_brain=not role.in_recovery)
    if role.in_recovery or any(w.identifier == name and w.region == handle.region
                               for w in known):
        return []
    return [fact]


def fence(ctx: DrillContext, old: DbInstanceFact, actions: list[str],
           deadline_s: float) -> DbInstanceFact:
    handle = ctx.handles.by_name(old.region)
    evidence = {"instance": old.identifier, "region": old.region, "status": old.status}
    if old.replicas:
        ctx.decisions.record(STAGE_1, "cannot fence: old writer has read replicas",
                             replicas=list(old.replicas), **evidence)
        raise CheckFailed(
            "split brain: the old writer cannot be fenced by stopping it, because RDS refuses "
            "to stop an instance that has read replicas; delete or promote its replicas, or "
            "fence it at the network, then re-run", region=old.region, resource=old.identifier,
            expected="no read replicas (stoppable)", observed=f"replicas: "
            f"{', '.join(old.replicas)}")
    if old.status == "available":
        require_execute(ctx, STAGE_1, f"stopping the old writer {old.identifier}")
        ctx.say(f"{STAGE_1}: fencing {old.identifier} in {old.region} (stop-db-instance)")
        try:
            with aws_api(handle, "rds"):
                handle.client("rds").stop_db_instance(DBInstanceIdentifier=old.identifier)
        except ClientError as error:
            if error_code(error) != "InvalidDBInstanceState":
                raise
            ctx.decisions.record(STAGE_1, "RDS refused to stop the old writer",
                                 error=str(error), **evidence)
            raise CheckFailed(
                "split brain: RDS refused to stop the old writer (an instance with read "
                "replicas, or not in a stoppable state, cannot be stopped); fence it another "
                "way and re-run", region=old.region, resource=old.identifier,
                expected="stop accepted", observed=str(error)) from error
        actions.append(f"rds:StopDBInstance {old.identifier} ({old.region})")
    elif old.status != "stopping":
        raise CheckFailed("split brain: the old writer is in a state it cannot be stopped "
                          "from; re-run when it is available or stopped", region=old.region,
                          resource=old.identifier, expected="available, stopping or stopped",
                          observed=old.status)
    stopped = failback_rds.wait_db(ctx, handle, old.identifier, "to be stopped (fenced)",
                       lambda fact: fact.status == "stopped", deadline_s)
    ctx.decisions.record(STAGE_1, failback_names.FENCED_DECISION, **evidence,
                         now=stopped.status)
    return stopped
