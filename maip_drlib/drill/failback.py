"""Failback stages 1-4 (DESIGN.md section 4), one function each over a ``DrillContext``.

Every stage recognises work already done (a re-run makes no second mutating call), puts every
mutation behind ``require_execute``, reports progress with ``ctx.say`` and records decisions in
``ctx.decisions``; it returns a ``StageOutcome`` or raises (``CheckFailed``, ``GuardRefused``,
``ConfigError``, ``WaitTimeout`` ...).

1. the primary is back (EKS ACTIVE, nodes Ready, its Kubernetes and RDS APIs answer) and the old
   writer accepts no writes: a restored old writer beside the promoted one is split brain; it
   is detected, recorded and fenced by stopping it (RDS refuses to stop an instance that has
   read replicas: that stops the stage with the replicas named).
2. resync: the DynamoDB global table ACTIVE in both regions, and a heartbeat item written to
   the canary table in each region read back in the other within a limit (its measured delay
   recorded; ``drill.dynamodb_heartbeat``: ``ReplicationLatency`` has no datapoint without
   writes); the failback replica created in the primary region from the promoted instance
   (its ARN, ``SourceRegion``) and caught up. Its name is whichever of the primary region's
   two names (``topology.primary.rds_instance``, ``topology.failback_replica``) is not in use
   there (``drill.failback_names``): after a completed failback the writer has one of them;
   with both in use the stage refuses before any write, naming the instance to delete first.
3. weighted shift (``traffic.py``) with a soak per step; a degraded step shifts back to the
   last good weights and fails naming the step, region, metric and figure.
4. steady state by planned switchover. Writes are stopped at the application by scaling every
   deployment of the namespace in BOTH regions to 0: after stage 3 the primary's pods serve the
   traffic but still write (cross-region) to the writer in DR, and DR's pods write to it too;
   the write outage lasts from there to the promotion and is recorded. Then the failback
   replica's lag must read zero, it is promoted, the primary's deployments come back at
   ``topology.failover_replicas``, the old promoted DR instance is deleted (with a final
   snapshot) and a fresh DR replica created from the new writer, the failover pair restored and
   DR scaled back to its standby capacity.

Data plane (only when the target has database access, ``target.database``; without it both
stages are exactly the control-plane checks): stage 1 also asks the restored old writer's
database (``probes.postgres.database_role``): PostgreSQL saying it is a writer (not in
recovery) is split brain, handled as the RDS roles' split brain (recorded, fenced by stopping
it before any traffic shift); a database that does not answer is recorded, not a verdict.
Stage 2, once the failback replica is caught up, runs ``rpo.rds_continuity.data_continuity``
from the DR writer to the failback replica for the drill id (``drill_id``, else the
failover's ``STAGE_DRILL_ID``) and fails naming the missing rows.

Not supported: fencing at the network (security groups) or by revoking credentials; Aurora;
reconciling writes the old writer took while it was split brain (stage 1 reports it; the data
is left on the stopped instance). The fenced old writer is left stopped, not deleted: RDS starts
a stopped instance again by itself after seven days, so delete it (after reconciling) before
then; stage 4 records this as a decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import ClientError

from maip_drlib.actions import eks as eks_actions
from maip_drlib.actions import rds as rds_actions
from maip_drlib.config import ScalingConfig
from maip_drlib.drill import catch_up, failback_names, preconditions, replica_kms, traffic
from maip_drlib.drill.catch_up import ReplicaCatchUp
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.deadlines import deadline_s as platform_deadline
from maip_drlib.drill.drill_ids import data_plane_drill_id
from maip_drlib.drill.dynamodb_heartbeat import replicate_heartbeat
from maip_drlib.drill.guards import require_execute
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.errors import CheckFailed, NotFound, Unreachable
from maip_drlib.facts import DbInstanceFact, NodesFact, RdsRoles
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes import dynamodb as dynamodb_probes
from maip_drlib.probes import eks as eks_probes
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes import route53 as route53_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitSpec, wait_for

STAGE_1 = "failback 1"
STAGE_2 = "failback 2"
STAGE_3 = "failback 3"
STAGE_4 = "failback 4"
DEFAULT_STOP_DEADLINE_S = 900.0
DEFAULT_SYNC_DEADLINE_S = 900.0
DEFAULT_DELETE_DEADLINE_S = 1800.0


def _roles(ctx: DrillContext, stage: str) -> RdsRoles:
    roles = rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology)
    if roles.unreachable_regions:
        raise CheckFailed(f"{stage}: an RDS API does not answer", resource="rds",
                          expected="RDS APIs of both regions answer",
                          observed="; ".join(map(str, roles.unreachable_regions)))
    return roles


def _promoted_writer(ctx: DrillContext, roles: RdsRoles, stage: str) -> DbInstanceFact:
    """The writer in the DR region (the promoted instance) that failback starts from."""
    region = ctx.topology.secondary.region
    found = [w for w in roles.writers if w.region == region and w.status == "available"]
    if len(found) != 1:
        raise CheckFailed(f"{stage}: failback needs one available writer in the DR region "
                          "(the promoted instance)", region=region, resource="rds",
                          expected="one available writer", observed=str(roles))
    return found[0]


def _terminal(fact: DbInstanceFact) -> str | None:
    if fact.status in rds_actions.TERMINAL_STATUSES or fact.status.startswith("incompatible-"):
        return f"{fact.identifier} is {fact.status}"
    return None


def _wait_db(ctx: DrillContext, handle: RegionHandle, identifier: str, what: str,
             success: Callable[[DbInstanceFact], bool], deadline_s: float) -> DbInstanceFact:
    spec = WaitSpec(description=f"RDS {identifier} in {handle.region} {what}",
                    deadline_s=deadline_s, poll_initial_s=ctx.poll.initial_s,
                    poll_max_s=ctx.poll.max_s)
    return wait_for(spec, lambda: rds_probes.db_instance(handle, identifier),
                    success=success, failure=_terminal).value


def _wait_lag(ctx: DrillContext, handle: RegionHandle, replica: str, deadline_s: float, *,
              since: float | None = None, limit_s: float = 0.0) -> ReplicaCatchUp:
    """Wait until ``replica`` replayed every write made before ``since`` (writes stopped), or
    is within ``limit_s``: decided by WAL position, heartbeat or replayed commit
    (``drill.catch_up``), never by ``ReplicaLag`` alone; the method is in the result."""
    pair = catch_up.pair_of(ctx, handle, replica)
    return catch_up.wait_caught_up(ctx, pair, since=since, limit_s=limit_s,
                                   deadline_s=deadline_s)


# --- Stage 1 -------------------------------------------------------------------------------


def stage_1_primary_restored(ctx: DrillContext, *,
                             stop_deadline_s: float = DEFAULT_STOP_DEADLINE_S) -> StageOutcome:
    """The primary is back and healthy; a restored old writer (split brain) is fenced."""
    preconditions.require(ctx, "failback", 1)
    stop_deadline_s = platform_deadline(ctx, stop_deadline_s)
    handle, place = ctx.handles.primary, ctx.topology.primary
    ctx.say(f"{STAGE_1}: checking EKS {place.eks_cluster} and nodes in {handle.region}")
    cluster = eks_probes.cluster_status(handle, place.eks_cluster)
    if cluster.status != "ACTIVE":
        raise CheckFailed("primary EKS cluster not ACTIVE", region=handle.region,
                          resource=place.eks_cluster, expected="ACTIVE", observed=cluster.status)
    nodes = kube_probes.nodes(handle)
    if not isinstance(nodes, NodesFact):
        raise Unreachable(str(nodes), region=handle.region, target=nodes.target,
                          elapsed_s=nodes.elapsed_s)
    if not nodes.nodes or nodes.not_ready:
        raise CheckFailed("primary nodes not Ready", region=handle.region,
                          resource=f"context {nodes.context}", expected="all nodes Ready",
                          observed=str(nodes))
    roles = _roles(ctx, STAGE_1)
    promoted = _promoted_writer(ctx, roles, STAGE_1)
    old_writers = [w for w in roles.writers if w.identifier != promoted.identifier
                   or w.region != promoted.region]
    old_writers += _database_writers(ctx, roles, promoted, old_writers)
    actions: list[str] = []
    fenced: list[str] = [str(f) for f in roles.fenced]
    if old_writers and ctx.options.planned:
        ctx.decisions.record(STAGE_1, "planned failover: old writer still available beside "
                             "the promoted one (fenced at the application); stopping it",
                             promoted=str(promoted), old_writers=[str(w) for w in old_writers])
    elif old_writers:
        ctx.decisions.record(STAGE_1, "split brain detected: old writer restored beside the "
                             "promoted one", promoted=str(promoted),
                             old_writers=[str(w) for w in old_writers])
    for old in old_writers:
        fenced.append(str(_fence(ctx, old, actions, stop_deadline_s)))
    if not old_writers:
        ctx.decisions.record(STAGE_1, "no split brain", promoted=str(promoted),
                             fenced=fenced)
    summary = (f"primary back: {cluster}; {nodes}; writer {promoted.identifier} "
               f"({promoted.region}); " + (f"split brain fenced: {', '.join(fenced)}"
                                           if old_writers else "no old writer accepts writes"))
    ctx.say(f"{STAGE_1}: {summary}")
    return StageOutcome(STAGE_1, summary, tuple(actions), {
        "cluster": str(cluster), "nodes": str(nodes), "promoted_writer": str(promoted),
        "split_brain": bool(old_writers), "fenced": fenced,
    })


def _database_writers(ctx: DrillContext, roles: RdsRoles, promoted: DbInstanceFact,
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
        found += _database_writer(ctx, name, promoted, known)
    return found


def _database_writer(ctx: DrillContext, name: str, promoted: DbInstanceFact,
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


def _fence(ctx: DrillContext, old: DbInstanceFact, actions: list[str],
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
    stopped = _wait_db(ctx, handle, old.identifier, "to be stopped (fenced)",
                       lambda fact: fact.status == "stopped", deadline_s)
    ctx.decisions.record(STAGE_1, failback_names.FENCED_DECISION, **evidence,
                         now=stopped.status)
    return stopped


# --- Stage 2 -------------------------------------------------------------------------------


def stage_2_resync(ctx: DrillContext, *, max_dynamodb_latency_s: float = 5.0,
                   max_replica_lag_s: float = 60.0,
                   deadline_s: float = DEFAULT_SYNC_DEADLINE_S,
                   drill_id: str | None = None) -> StageOutcome:
    """DynamoDB in sync both ways; the failback replica created from the promoted instance
    in the primary region and caught up (lag under ``max_replica_lag_s``); with database
    access, every row of the drill on the DR writer is on the replica (data continuity)."""
    preconditions.require(ctx, "failback", 2)
    deadline_s = platform_deadline(ctx, deadline_s)
    kms_key = replica_kms.replica_key(ctx, STAGE_2, ctx.topology.secondary.rds_instance,
                                      "secondary", "primary")  # before any write
    naming = failback_names.require_name(  # before any write
        ctx, STAGE_2, _promoted_writer(ctx, _roles(ctx, STAGE_2), STAGE_2).identifier)
    table = ctx.topology.dynamodb_table
    dynamodb_probes.require_active_in_both(ctx.handles, table)
    latencies = []
    require_execute(ctx, STAGE_2, f"writing a heartbeat item into {ctx.topology.canary_table} "
                    "in each region (DynamoDB replication)")
    for sender in ctx.handles:
        receiver = next(h for h in ctx.handles if h.region != sender.region)
        beat = replicate_heartbeat(ctx, sender, receiver, deadline_s=deadline_s,
                                   drill_id=data_plane_drill_id(drill_id, ctx))
        if beat.delay_s > max_dynamodb_latency_s:
            raise CheckFailed("DynamoDB replication slower than the limit",
                              region=receiver.region, resource=beat.table,
                              expected=f"heartbeat read within {max_dynamodb_latency_s:g}s",
                              observed=str(beat))
        latencies.append(str(beat))
    roles = _roles(ctx, STAGE_2)
    if roles.split_brain:
        raise CheckFailed("split brain: more than one writer; run failback stage 1 first",
                          resource="rds", expected="one writer", observed=str(roles))
    promoted = _promoted_writer(ctx, roles, STAGE_2)
    primary, name = ctx.handles.primary, naming.name
    assert name is not None  # require_name refused otherwise
    actions: list[str] = []
    try:
        existing: DbInstanceFact | None = rds_probes.db_instance(primary, name)
    except NotFound:
        existing = None
    if existing is not None and existing.source_id == promoted.identifier:
        ctx.decisions.record(STAGE_2, "failback replica already exists", replica=str(existing))
        ctx.say(f"{STAGE_2}: {name} already replicates {promoted.identifier}")
    else:
        require_execute(ctx, STAGE_2, f"creating {name} in {primary.region}")
        ctx.say(f"{STAGE_2}: creating {name} in {primary.region} from {promoted.arn}")
        actions.append(f"rds:CreateDBInstanceReadReplica {name} ({primary.region}) from "
                       f"{promoted.arn} SourceRegion={promoted.region}"
                       + (f" KmsKeyId={kms_key}" if kms_key else ""))
    created = rds_actions.create_cross_region_replica(
        primary, ctx.handles.by_name(promoted.region), name, promoted.identifier,
        deadline_s=platform_deadline(ctx, rds_actions.DEFAULT_REPLICA_DEADLINE_S),
        poll_max_s=ctx.poll.max_s, kms_key_id=kms_key,
        kms_key_setting=replica_kms.setting_name("primary")).value
    lag = _wait_lag(ctx, primary, name, deadline_s, limit_s=max_replica_lag_s)
    ctx.decisions.record(STAGE_2, "resynced", replica=str(created), replica_lag=str(lag),
                         dynamodb=latencies)
    continuity = _continuity(ctx, promoted, name, drill_id, deadline_s)
    summary = f"{created}; {lag}; " + "; ".join(latencies)
    if continuity:
        summary += f"; data continuity: {continuity}"
    ctx.say(f"{STAGE_2}: {summary}")
    facts: dict[str, object] = {"failback_replica": str(created),
                                "replica_lag_s": lag.seconds, "dynamodb": latencies,
                                "replica_lag_decided_by": lag.method}
    if continuity:
        facts["data_continuity"] = continuity
    return StageOutcome(STAGE_2, summary, tuple(actions), facts)


def _continuity(ctx: DrillContext, promoted: DbInstanceFact, replica: str,
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


# --- Stage 3 -------------------------------------------------------------------------------


def stage_3_weighted_shift(
    ctx: DrillContext, *,
    steps: tuple[traffic.Weights, ...] = traffic.DEFAULT_STEPS,
    soak_s: float, max_5xx_per_min: float, max_latency_s: float,
    before_step: Callable[[int, traffic.Weights], None] | None = None,
) -> StageOutcome:
    """Shift traffic back step by step (primary/DR percent); stop and shift back on degradation.

    ``before_step(index, weights)`` runs before each step's weights are set (a hook for
    rehearsals and tests). A re-run resumes at the step whose weights are in place (re-soaking
    it); at (100, 0) it does nothing.
    """
    checked = traffic.validate_steps(steps)
    preconditions.require(ctx, "failback", 3)
    limits = traffic.SoakThresholds(max_5xx_per_min, max_latency_s)
    handle = ctx.handles.primary
    zone = route53_probes.hosted_zone(handle, ctx.topology.hosted_zone)
    primary_alb = elb_probes.load_balancer(ctx.handles.primary, ctx.topology.primary.alb_name)
    dr_alb = elb_probes.load_balancer(ctx.handles.secondary, ctx.topology.secondary.alb_name)
    albs = (primary_alb, dr_alb)
    pair = traffic.find_pair(ctx, zone.zone_id, primary_alb, dr_alb)
    if pair is None:
        raise CheckFailed("no failover or weighted pair points at the two ALBs",
                          resource=ctx.topology.record_name,
                          expected=f"records aliasing {primary_alb.dns_name} and "
                                   f"{dr_alb.dns_name}", observed="none")
    actions: list[str] = []
    if pair.kind == "failover":  # not yet shifting: the primary must be able to serve first
        _primary_services_back(ctx, actions)
    if pair.kind == "failover":
        require_execute(ctx, STAGE_3, "replacing the failover pair by a weighted pair")
        ctx.say(f"{STAGE_3}: replacing the failover pair by a weighted pair (0/100)")
        traffic.replace_failover_with_weighted(ctx, zone.zone_id, pair, primary_alb, dr_alb,
                                               (0, 100))
        actions.append("route53:ChangeResourceRecordSets failover pair -> weighted 0/100")
        ctx.decisions.record(STAGE_3, "failover pair replaced by weighted pair", weights=[0, 100])
        replaced = traffic.find_pair(ctx, zone.zone_id, primary_alb, dr_alb)
        if replaced is None or replaced.kind != "weighted":
            raise CheckFailed("the weighted pair is not in place after the change",
                              resource=ctx.topology.record_name, expected="weighted pair",
                              observed=str(replaced))
        pair = replaced
    current = pair.weights or (0, 100)
    start = checked.index(current) if current in checked else 0
    if current == checked[-1]:
        ctx.decisions.record(STAGE_3, "already at the last step", weights=list(current))
        summary = f"traffic already at {current[0]}/{current[1]} (primary/DR)"
        return StageOutcome(STAGE_3, summary, tuple(actions), {"weights": list(current)})
    last_good = current if current not in checked else (
        checked[start - 1] if start > 0 else (0, 100))
    soaked: list[dict[str, object]] = []
    for index in range(start, len(checked)):
        weights = checked[index]
        if before_step is not None:
            before_step(index, weights)
        if pair.weights != weights:
            require_execute(ctx, STAGE_3, f"setting weights {weights[0]}/{weights[1]}")
            ctx.say(f"{STAGE_3}: step {index + 1}: weights {weights[0]}/{weights[1]}")
            traffic.set_pair_weights(ctx, zone.zone_id, pair, weights)
            actions.append(f"route53:ChangeResourceRecordSets weights {weights[0]}/{weights[1]}")
            pair = traffic.find_pair(ctx, zone.zone_id, primary_alb, dr_alb) or pair
        result = traffic.soak(ctx, albs, limits, soak_s)
        if result.degradation is not None:
            _shift_back(ctx, zone.zone_id, pair, last_good, index, weights, result, actions)
        soaked.append({"step": index + 1, "weights": list(weights), "polls": result.polls,
                       "readings": [str(r) for r in result.last_readings]})
        ctx.decisions.record(STAGE_3, f"step {index + 1} good", weights=list(weights),
                             polls=result.polls, endpoint=result.last_endpoint,
                             readings=[str(r) for r in result.last_readings])
        last_good = weights
    summary = (f"traffic shifted {' -> '.join(f'{p}/{d}' for p, d in checked[start:])} "
               f"(primary/DR) with a {soak_s:g}s soak per step")
    ctx.say(f"{STAGE_3}: {summary}")
    return StageOutcome(STAGE_3, summary, tuple(actions), {"steps": soaked})


def _shift_back(ctx: DrillContext, zone_id: str, pair: traffic.RecordPair,
                last_good: traffic.Weights, index: int, weights: traffic.Weights,
                result: traffic.SoakResult, actions: list[str]) -> None:
    found = result.degradation
    if found is None:
        return
    ctx.say(f"{STAGE_3}: step {index + 1} degraded ({found}); shifting back to "
            f"{last_good[0]}/{last_good[1]}")
    if pair.weights != last_good:
        require_execute(ctx, STAGE_3, f"shifting back to {last_good[0]}/{last_good[1]}")
        traffic.set_pair_weights(ctx, zone_id, pair, last_good)
        actions.append(f"route53:ChangeResourceRecordSets weights {last_good[0]}/{last_good[1]}")
    ctx.decisions.record(STAGE_3, f"step {index + 1} degraded: shifted back",
                         weights=list(weights), shifted_back_to=list(last_good),
                         region=found.region, resource=found.resource, metric=found.metric,
                         figure=found.figure, limit=found.limit, actions=list(actions))
    raise CheckFailed(
        f"weighted shift step {index + 1} ({weights[0]}/{weights[1]} primary/DR) degraded: "
        f"{found.metric} {found.figure}; shifted back to {last_good[0]}/{last_good[1]}",
        region=found.region, resource=found.resource, expected=f"<= {found.limit}",
        observed=found.figure)


# --- Stage 4 -------------------------------------------------------------------------------


def stage_4_steady_state(ctx: DrillContext, *, standby_replicas: int = 1,
                         max_replica_lag_s: float = 60.0,
                         deadline_s: float = DEFAULT_SYNC_DEADLINE_S,
                         delete_deadline_s: float = DEFAULT_DELETE_DEADLINE_S) -> StageOutcome:
    """Planned switchover back to the primary, a fresh DR replica, the failover pair, DR at
    standby (see the module docstring for the order and why writes stop in both regions).

    Its precondition (weights 100/0 to the primary, each record aliasing its own region's
    ALB, the failback replica replicating from the DR writer) is checked before writes stop.
    """
    preconditions.require(ctx, "failback", 4)
    deadline_s = platform_deadline(ctx, deadline_s)
    delete_deadline_s = platform_deadline(ctx, delete_deadline_s)
    topo, primary, secondary = ctx.topology, ctx.handles.primary, ctx.handles.secondary
    new_writer = _failback_replica_name(ctx)
    dr_kms_key = replica_kms.replica_key(ctx, STAGE_4, new_writer, "primary",
                                         "secondary")  # before writes stop
    actions: list[str] = []
    failback = rds_probes.db_instance(primary, new_writer)
    if failback.role == "replica":
        _stop_writes(ctx, actions)
        lag = _wait_lag(ctx, primary, new_writer, deadline_s, since=time.time())
        ctx.decisions.record(STAGE_4, "lag zero: promoting the failback replica",
                             replica=str(failback), lag=str(lag))
        require_execute(ctx, STAGE_4, f"promoting {new_writer}")
        ctx.say(f"{STAGE_4}: promoting {new_writer} in {primary.region}")
        actions.append(f"rds:PromoteReadReplica {new_writer} ({primary.region})")
        failback = rds_actions.promote_read_replica(
            primary, new_writer, poll_max_s=ctx.poll.max_s,
            deadline_s=platform_deadline(ctx, rds_actions.DEFAULT_PROMOTE_DEADLINE_S)).value
    elif failback.is_writer and failback.status in rds_actions.SETTLING_STATUSES:
        ctx.say(f"{STAGE_4}: {failback}: waiting until it is available (a resumed promotion)")
        failback = rds_actions.wait_for_standalone_writer(
            primary, new_writer, poll_max_s=ctx.poll.max_s,
            deadline_s=platform_deadline(ctx, rds_actions.DEFAULT_PROMOTE_DEADLINE_S)).value
    elif not (failback.is_writer and failback.status == "available"):
        raise CheckFailed("failback replica is neither a replica nor an available writer",
                          region=primary.region, resource=new_writer,
                          expected="replica of the DR writer, or available writer",
                          observed=str(failback))
    _scale_deployments(ctx, primary, topo.failover_replicas, actions)
    dr_replica = _fresh_dr_replica(ctx, failback, actions, delete_deadline_s, dr_kms_key)
    lag = _wait_lag(ctx, secondary, dr_replica.identifier, deadline_s,
                    limit_s=max_replica_lag_s)
    _restore_pair(ctx, actions)
    _scale_dr_nodegroup(ctx, topo.secondary.standby_scaling, actions)
    _scale_deployments(ctx, secondary, standby_replicas, actions)
    roles = _roles(ctx, STAGE_4)
    if roles.fenced:
        ctx.decisions.record(STAGE_4, "fenced old writer left stopped: RDS starts a stopped "
                             "instance again after seven days; reconcile and delete it before",
                             fenced=[str(f) for f in roles.fenced])
    summary = (f"writer {failback.identifier} ({failback.region}); DR replica "
               f"{dr_replica.identifier} ({lag}); failover pair restored; DR at standby")
    ctx.say(f"{STAGE_4}: {summary}")
    return StageOutcome(STAGE_4, summary, tuple(actions), {
        "writer": str(failback), "dr_replica": str(dr_replica), "dr_replica_lag_s": lag.seconds,
        "dr_replica_lag_decided_by": lag.method,
        "fenced": [str(f) for f in roles.fenced],
    })


def _failback_replica_name(ctx: DrillContext) -> str:
    """Failback 2's replica under either primary name (replicating from the DR writer), or
    the writer it was promoted to (a resumed stage 4)."""
    roles = _roles(ctx, STAGE_4)
    promoted = preconditions.dr_writer_of(roles, ctx.topology)
    found = ((failback_names.failback_replica(roles, ctx.topology, promoted) if promoted
              else None) or failback_names.primary_writer(roles, ctx.topology))
    if found is None:
        raise CheckFailed(f"{STAGE_4}: no failback replica in the primary region; run "
                          "failback 2 first", region=ctx.topology.primary.region,
                          resource=" or ".join(rds_probes.primary_writer_names(ctx.topology)),
                          expected="a replica of the DR writer", observed=str(roles))
    return found.identifier


def _running(handle: RegionHandle, namespace: str, replicas: int) -> list[str]:
    return [f"{d.name}={d.desired}" for d in kube_probes.deployments(handle, namespace)
            if d.desired != replicas]


def _primary_services_back(ctx: DrillContext, actions: list[str]) -> None:
    """A planned failover fenced the primary's services at 0 (failover 1): bring them back to
    the failover capacity, and wait until ready, before any traffic is weighted to the primary
    ALB, whose targets would otherwise be unhealthy (Route 53 then keeps answering DR). After
    an unplanned failover the restored region's services are already up: nothing to do."""
    handle, namespace = ctx.handles.primary, ctx.topology.namespace
    replicas = ctx.topology.failover_replicas
    fenced = [d.name for d in kube_probes.deployments(handle, namespace) if d.desired == 0]
    if not fenced:
        return
    require_execute(ctx, STAGE_3, f"scaling {len(fenced)} fenced primary deployments to "
                                  f"{replicas}")
    ctx.say(f"{STAGE_3}: the primary's services were fenced at 0: scaling them to {replicas} "
            f"in {handle.region} before shifting traffic")
    from maip_drlib.actions import kube as kube_actions
    from maip_drlib.drill import scale_wait
    from maip_drlib.drill.deadlines import DEPLOYMENTS_DEADLINE_S

    kube_actions.scale_deployments(handle, namespace, replicas)
    scale_wait.wait_deployments_ready(
        handle, namespace, replicas, deadline_s=platform_deadline(ctx, DEPLOYMENTS_DEADLINE_S),
        poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s)
    ctx.decisions.record(STAGE_3, "fenced primary services scaled back before the shift",
                         deployments=fenced, replicas=replicas)
    actions.append(f"kubernetes:scale {namespace} --all --replicas={replicas} ({handle.region})")


def _scale_deployments(ctx: DrillContext, handle: RegionHandle, replicas: int,
                       actions: list[str]) -> None:
    namespace = ctx.topology.namespace
    off = _running(handle, namespace, replicas)
    if not off:
        return
    require_execute(ctx, STAGE_4, f"scaling {namespace} in {handle.region} to {replicas}")
    ctx.say(f"{STAGE_4}: scaling every deployment of {namespace} in {handle.region} to "
            f"{replicas}")
    # Imported here: it loads the kubernetes package, which collecting the scenarios does not
    # need.
    from maip_drlib.actions import kube as kube_actions
    from maip_drlib.drill import scale_wait
    from maip_drlib.drill.deadlines import DEPLOYMENTS_DEADLINE_S

    kube_actions.scale_deployments(handle, namespace, replicas)
    if replicas:  # the wait names Pending pods' reasons (capacity) in its progress and error
        scale_wait.wait_deployments_ready(
            handle, namespace, replicas, deadline_s=platform_deadline(ctx, DEPLOYMENTS_DEADLINE_S),
            poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s)
    actions.append(f"kubernetes:scale {namespace} --all --replicas={replicas} ({handle.region})")


def _stop_writes(ctx: DrillContext, actions: list[str]) -> None:
    namespace = ctx.topology.namespace
    running = {h.region: _running(h, namespace, 0) for h in ctx.handles}
    if any(running.values()):
        ctx.decisions.record(STAGE_4, "stopping writes at the application: every deployment "
                             "in both regions to 0 (write outage until the promotion)",
                             running=running)
    for handle in ctx.handles:
        _scale_deployments(ctx, handle, 0, actions)
    # Writes stop when no pod is left (Terminating pods still write over their grace period)
    # and, with database access, no session of the services remains on the DR writer.
    from maip_drlib.drill.deadlines import FENCE_DEADLINE_S
    from maip_drlib.drill.guards import FencingEvidence, observe_fencing
    from maip_drlib.errors import WaitTimeout

    writer = _promoted_writer(ctx, _roles(ctx, STAGE_4), STAGE_4)
    writer_handle = ctx.handles.by_name(writer.region)

    def observe() -> tuple[FencingEvidence, ...]:
        return tuple(observe_fencing(ctx, writer.identifier, handle=handle,
                                     writer_handle=writer_handle) for handle in ctx.handles)

    ctx.say(f"{STAGE_4}: waiting until no pod of {namespace} is left in either region"
            + (f" and no service session on {writer.identifier}" if ctx.target.database
               else "") + " (writes stopped)")
    try:
        stopped = wait_for(
            WaitSpec(f"no pod of {namespace} in either region and no service session on "
                     f"{writer.identifier}", deadline_s=platform_deadline(ctx, FENCE_DEADLINE_S),
                     poll_initial_s=ctx.poll.initial_s, poll_max_s=ctx.poll.max_s),
            observe, success=lambda found: all(item.fenced for item in found)).value
    except WaitTimeout as timeout:
        raise CheckFailed(f"{STAGE_4}: writes did not stop at the application: {timeout}",
                          resource=namespace, expected="no pod and no service session left",
                          observed=str(timeout.last_observed)) from timeout
    ctx.decisions.record(STAGE_4, "writes stopped at the application",
                         evidence=[str(item) for item in stopped])


def _fresh_dr_replica(ctx: DrillContext, writer: DbInstanceFact, actions: list[str],
                      delete_deadline_s: float, kms_key_id: str | None) -> DbInstanceFact:
    """The DR replica of the new writer (``kms_key_id``: the DR key, encrypted source); its
    wait is sized for a cross-region snapshot copy and restore
    (``rds_actions.DEFAULT_REPLICA_DEADLINE_S``)."""
    secondary, name = ctx.handles.secondary, ctx.topology.secondary.rds_instance
    try:
        old: DbInstanceFact | None = rds_probes.db_instance(secondary, name)
    except NotFound:
        old = None
    if old is not None and old.source_id == writer.identifier:
        ctx.decisions.record(STAGE_4, "fresh DR replica already exists", replica=str(old))
    else:
        if old is not None:
            if old.role == "replica" or old.replicas:
                raise CheckFailed("refusing to delete the old DR instance: it is not a "
                                  "standalone instance", region=secondary.region,
                                  resource=name, expected="standalone, no replicas",
                                  observed=str(old))
            require_execute(ctx, STAGE_4, f"deleting the old promoted instance {name}")
            snapshot = failback_names.final_snapshot_name(name, ctx.drill_id)
            ctx.say(f"{STAGE_4}: deleting {name} in {secondary.region} (final snapshot "
                    f"{snapshot})")
            with aws_api(secondary, "rds"):
                secondary.client("rds").delete_db_instance(
                    DBInstanceIdentifier=name, SkipFinalSnapshot=False,
                    FinalDBSnapshotIdentifier=snapshot)
            actions.append(f"rds:DeleteDBInstance {name} ({secondary.region}) final snapshot "
                           f"{snapshot}")
            ctx.decisions.record(STAGE_4, "old promoted DR instance deleted", instance=str(old),
                                 final_snapshot=snapshot)
            _wait_gone(ctx, secondary, name, delete_deadline_s)
        require_execute(ctx, STAGE_4, f"creating {name} in {secondary.region}")
        ctx.say(f"{STAGE_4}: creating {name} in {secondary.region} from {writer.arn}")
        actions.append(f"rds:CreateDBInstanceReadReplica {name} ({secondary.region}) from "
                       f"{writer.arn} SourceRegion={writer.region}"
                       + (f" KmsKeyId={kms_key_id}" if kms_key_id else ""))
    return rds_actions.create_cross_region_replica(
        secondary, ctx.handles.by_name(writer.region), name, writer.identifier,
        deadline_s=platform_deadline(ctx, rds_actions.DEFAULT_REPLICA_DEADLINE_S),
        poll_max_s=ctx.poll.max_s, kms_key_id=kms_key_id,
        kms_key_setting=replica_kms.setting_name("secondary")).value


def _wait_gone(ctx: DrillContext, handle: RegionHandle, name: str, deadline_s: float) -> None:
    def observe() -> str:
        try:
            return rds_probes.db_instance(handle, name).status
        except NotFound:
            return "gone"

    spec = WaitSpec(description=f"RDS {name} in {handle.region} to be deleted",
                    deadline_s=deadline_s, poll_initial_s=ctx.poll.initial_s,
                    poll_max_s=ctx.poll.max_s)
    wait_for(spec, observe, success=lambda status: status == "gone")


def _restore_pair(ctx: DrillContext, actions: list[str]) -> None:
    zone = route53_probes.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
    primary_alb = elb_probes.load_balancer(ctx.handles.primary, ctx.topology.primary.alb_name)
    dr_alb = elb_probes.load_balancer(ctx.handles.secondary, ctx.topology.secondary.alb_name)
    pair = traffic.find_pair(ctx, zone.zone_id, primary_alb, dr_alb)
    if pair is not None and pair.kind == "failover":
        if traffic.failover_pair_restored((pair.primary, pair.secondary), primary_alb.dns_name,
                                          dr_alb.dns_name):
            return
        raise CheckFailed("the failover pair does not point each record at its own region's "
                          "ALB", resource=ctx.topology.record_name,
                          expected=f"PRIMARY -> {primary_alb.dns_name}, SECONDARY -> "
                                   f"{dr_alb.dns_name}", observed=str(pair))
    if pair is None:
        raise CheckFailed("no weighted pair to turn back into the failover pair",
                          resource=ctx.topology.record_name, expected="weighted pair",
                          observed="none")
    if pair.weights != (100, 0):
        raise CheckFailed("traffic is not all on the primary; finish failback stage 3 first",
                          resource=ctx.topology.record_name, expected="weights 100/0",
                          observed=str(pair))
    require_execute(ctx, STAGE_4, "restoring the failover pair")
    ctx.say(f"{STAGE_4}: restoring the failover pair of {ctx.topology.record_name}")
    traffic.restore_failover_pair(ctx, zone.zone_id, pair, primary_alb, dr_alb)
    actions.append("route53:ChangeResourceRecordSets weighted pair -> failover pair")
    ctx.decisions.record(STAGE_4, "failover pair restored", was=str(pair))


def _scale_dr_nodegroup(ctx: DrillContext, scaling: ScalingConfig, actions: list[str]) -> None:
    handle, dr = ctx.handles.secondary, ctx.topology.secondary
    state = eks_probes.nodegroup_state(handle, dr.eks_cluster, dr.nodegroup)
    if state.scaling == scaling:
        return
    require_execute(ctx, STAGE_4, f"scaling {dr.nodegroup} back to standby")
    ctx.say(f"{STAGE_4}: scaling {dr.nodegroup} to min={scaling.min_size} "
            f"desired={scaling.desired_size} max={scaling.max_size}")
    eks_actions.update_nodegroup_scaling(handle, dr.eks_cluster, dr.nodegroup, scaling,
                                         poll_max_s=ctx.poll.max_s)
    actions.append(f"eks:UpdateNodegroupConfig {dr.nodegroup} min={scaling.min_size} "
                   f"desired={scaling.desired_size} max={scaling.max_size}")
