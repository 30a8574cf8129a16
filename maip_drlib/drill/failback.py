"""Failback stages 1-4 (DESIGN.md section 4), one function each over a ``DrillContext``.

The stages' parts live beside them: the RDS facts and waits in ``failback_rds.py``, failback
1's old writer in ``old_writer.py``, failback 4's steps in ``steady_state.py``.

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

from maip_drlib.actions import rds as rds_actions
from maip_drlib.drill import (
    failback_names,
    failback_rds,
    old_writer,
    preconditions,
    registry,
    replica_kms,
    resync_verdicts,
    steady_state,
    traffic,
)
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.deadlines import deadline_s as platform_deadline
from maip_drlib.drill.drill_ids import data_plane_drill_id
from maip_drlib.drill.dynamodb_heartbeat import replicate_heartbeat
from maip_drlib.drill.guards import require_execute
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.errors import CheckFailed, NotFound, Unreachable
from maip_drlib.facts import DbInstanceFact, NodesFact
from maip_drlib.probes import dynamodb as dynamodb_probes
from maip_drlib.probes import eks as eks_probes
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes import route53 as route53_probes

STAGE_1, STAGE_2, STAGE_3, STAGE_4 = (stage.name for stage in registry.stages_of("failback"))
DEFAULT_STOP_DEADLINE_S = 900.0
DEFAULT_SYNC_DEADLINE_S = 900.0
DEFAULT_DELETE_DEADLINE_S = 1800.0


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
    roles = failback_rds.rds_roles(ctx, STAGE_1)
    promoted = failback_rds.promoted_writer(ctx, roles, STAGE_1)
    old_writers = [w for w in roles.writers if w.identifier != promoted.identifier
                   or w.region != promoted.region]
    old_writers += old_writer.database_writers(ctx, roles, promoted, old_writers)
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
        fenced.append(str(old_writer.fence(ctx, old, actions, stop_deadline_s)))
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


# --- Stage 2 -------------------------------------------------------------------------------


def stage_2_resync(ctx: DrillContext, *, max_dynamodb_latency_s: float | None = None,
                   max_replica_lag_s: float | None = None,
                   deadline_s: float = DEFAULT_SYNC_DEADLINE_S,
                   drill_id: str | None = None) -> StageOutcome:
    """DynamoDB in sync both ways; the failback replica created from the promoted instance in
    the primary region and caught up; with database access, every row of the drill on the DR
    writer is on the replica. Limits not given, and verdicts: ``drill.resync_verdicts``."""
    limits = resync_verdicts.limits(max_dynamodb_latency_s, max_replica_lag_s)
    preconditions.require(ctx, "failback", 2)
    deadline_s = platform_deadline(ctx, deadline_s)
    kms_key = replica_kms.replica_key(ctx, STAGE_2, ctx.topology.secondary.rds_instance,
                                      "secondary", "primary")  # before any write
    naming = failback_names.require_name(  # before any write
        ctx, STAGE_2,
        failback_rds.promoted_writer(ctx, failback_rds.rds_roles(ctx, STAGE_2), STAGE_2).identifier)
    table = ctx.topology.dynamodb_table
    dynamodb_probes.require_active_in_both(ctx.handles, table)
    latencies, verdicts = [], []
    require_execute(ctx, STAGE_2, f"writing a heartbeat item into {ctx.topology.canary_table} "
                    "in each region (DynamoDB replication)")
    for sender in ctx.handles:
        receiver = next(h for h in ctx.handles if h.region != sender.region)
        beat = replicate_heartbeat(ctx, sender, receiver, deadline_s=deadline_s,
                                   drill_id=data_plane_drill_id(drill_id, ctx))
        verdicts.append(resync_verdicts.heartbeat(sender, receiver, beat, limits).require())
        latencies.append(str(beat))
    roles = failback_rds.rds_roles(ctx, STAGE_2)
    if roles.split_brain:
        raise CheckFailed("split brain: more than one writer; run failback stage 1 first",
                          resource="rds", expected="one writer", observed=str(roles))
    promoted = failback_rds.promoted_writer(ctx, roles, STAGE_2)
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
    lag = failback_rds.wait_lag(ctx, primary, name, deadline_s, limit_s=limits.replica_lag_s)
    verdicts.append(resync_verdicts.caught_up(primary.region, name, lag, limits.replica_lag_s))
    ctx.decisions.record(STAGE_2, "resynced", replica=str(created), replica_lag=str(lag),
                         dynamodb=latencies)
    continuity = failback_rds.continuity(ctx, promoted, name, drill_id, deadline_s)
    summary = f"{created}; {lag}; " + "; ".join(latencies)
    if continuity:
        summary += f"; data continuity: {continuity}"
    ctx.say(f"{STAGE_2}: {summary}")
    facts: dict[str, object] = {"failback_replica": str(created),
                                "replica_lag_s": lag.seconds, "dynamodb": latencies,
                                "replica_lag_decided_by": lag.method,
                                "verdicts": resync_verdicts.as_facts(verdicts)}
    if continuity:
        facts["data_continuity"] = continuity
    return StageOutcome(STAGE_2, summary, tuple(actions), facts)


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
        steady_state.primary_services_back(ctx, actions)
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
                         max_replica_lag_s: float | None = None,
                         deadline_s: float = DEFAULT_SYNC_DEADLINE_S,
                         delete_deadline_s: float = DEFAULT_DELETE_DEADLINE_S) -> StageOutcome:
    """Planned switchover back to the primary, a fresh DR replica, the failover pair, DR at
    standby (see the module docstring for the order and why writes stop in both regions).

    Its precondition (weights 100/0 to the primary, each record aliasing its own region's
    ALB, the failback replica replicating from the DR writer) is checked before writes stop.
    ``max_replica_lag_s`` None: the readiness Gherkin's replica lag budget.
    """
    preconditions.require(ctx, "failback", 4)
    max_replica_lag_s = resync_verdicts.limits(None, max_replica_lag_s).replica_lag_s
    deadline_s = platform_deadline(ctx, deadline_s)
    delete_deadline_s = platform_deadline(ctx, delete_deadline_s)
    topo, primary, secondary = ctx.topology, ctx.handles.primary, ctx.handles.secondary
    new_writer = steady_state.failback_replica_name(ctx)
    dr_kms_key = replica_kms.replica_key(ctx, STAGE_4, new_writer, "primary",
                                         "secondary")  # before writes stop
    actions: list[str] = []
    failback = rds_probes.db_instance(primary, new_writer)
    if failback.role == "replica":
        steady_state.stop_writes(ctx, actions)
        lag = failback_rds.wait_lag(ctx, primary, new_writer, deadline_s, since=time.time())
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
    steady_state.scale_deployments(ctx, primary, topo.failover_replicas, actions)
    dr_replica = steady_state.fresh_dr_replica(ctx, failback, actions, delete_deadline_s,
                                               dr_kms_key)
    lag = failback_rds.wait_lag(ctx, secondary, dr_replica.identifier, deadline_s,
                    limit_s=max_replica_lag_s)
    steady_state.restore_pair(ctx, actions)
    steady_state.scale_dr_nodegroup(ctx, topo.secondary.standby_scaling, actions)
    steady_state.scale_deployments(ctx, secondary, standby_replicas, actions)
    roles = failback_rds.rds_roles(ctx, STAGE_4)
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


