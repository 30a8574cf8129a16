"""The dry-run plan of each failback stage (named in ``registry.STAGES``).

What each stage would call, kept in one place so ``failback.py`` and its helpers align with
it (``tests/drill/test_plan_is_what_runs.py`` compares a game day's plan with its calls):

- failback 1: ``stop_db_instance`` of an old writer in us-east-1 found (or expected back)
  beside the promoted one (split-brain fence);
- failback 2: the DynamoDB heartbeats in both regions, then ``create_db_instance_read_replica``
  in us-east-1 of the failback replica, named as the stage names it (``failback_names``), with
  the promoted instance's ARN as source, ``SourceRegion`` us-west-2 and, when the database is
  encrypted, ``KmsKeyId`` the primary region's key;
- failback 3: the primary's services back if a planned failover fenced them, one change batch
  replacing the failover pair by a weighted pair (primary 0, DR 100: no traffic moves), then
  weights 10/90, 50/50, 90/10, 100/0 (primary/DR);
- failback 4: writes stop at the application in both regions, the failback replica is
  promoted, the primary's deployments come back at the failover replicas, the old promoted DR
  instance is deleted with a final snapshot, a fresh DR replica is created from the new
  writer, the failover pair restored, the DR node group back to its standby scaling and the DR
  deployments back to ``DR_STANDBY_REPLICAS``.

Not supported: values only known after a call (new ARNs are derived from the promoted
instance's account).
"""

from __future__ import annotations

from maip_drlib.actions.route53 import record_set_dict
from maip_drlib.drill import failback_names, traffic
from maip_drlib.drill.call_builders import nodegroup_calls, route_calls, scale_deployments_calls
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.drill_ids import data_plane_drill_id
from maip_drlib.drill.outcome import PlannedCall
from maip_drlib.drill.plan_model import PlanModel, kms_parameter, original_pair, with_weights

FAILBACK_1, FAILBACK_2, FAILBACK_3, FAILBACK_4 = (f"failback {n}" for n in range(1, 5))
# Weighted shift of failback 3, (primary, DR); the replacement batch starts at FAILBACK_START.
FAILBACK_START = (0, 100)
FAILBACK_WEIGHTS: tuple[tuple[int, int], ...] = traffic.DEFAULT_STEPS
DR_STANDBY_REPLICAS = 1


def stage_1(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """Fence an old writer beside the promoted one."""
    primary = ctx.topology.primary.region
    return [PlannedCall(FAILBACK_1, "rds", primary, "stop_db_instance",
                        {"DBInstanceIdentifier": name})
            for name in model.failback_facts(ctx).old_writers]


def stage_2(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """The heartbeats, then the failback replica in us-east-1 from the promoted instance."""
    topology = ctx.topology
    primary, secondary = topology.primary.region, topology.secondary.region
    facts = model.failback_facts(ctx)
    drill = data_plane_drill_id(None, ctx)
    calls = [PlannedCall(FAILBACK_2, "dynamodb", region, "put_item", {
        "TableName": topology.canary_table,
        "Item": {"pk": f"heartbeat#{drill}#{region}", "seq": "<microseconds at the write>"}})
        for region in (primary, secondary)]
    calls.append(PlannedCall(FAILBACK_2, "rds", primary, "create_db_instance_read_replica", {
        "DBInstanceIdentifier": facts.replica_name,
        "SourceDBInstanceIdentifier": facts.promoted_arn, "SourceRegion": secondary,
        **kms_parameter(ctx, model, FAILBACK_2, "primary")}))
    return calls


def stage_3(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """The primary's services back if fenced, the weighted pair, then the weighted shift."""
    topology = ctx.topology
    facts = model.failback_facts(ctx)
    calls: list[PlannedCall] = []
    desired_now = model.primary_desired or {}
    if desired_now and not all(desired_now.values()):  # every deployment is patched
        calls += scale_deployments_calls(FAILBACK_3, topology.primary.region,
                                         topology.namespace, desired_now,
                                         topology.failover_replicas)
        model.primary_desired = dict.fromkeys(desired_now, topology.failover_replicas)
    zone_id = model.zone_id or "?"
    replace_batch = [{"Action": "DELETE", "ResourceRecordSet": record_set_dict(fact)}
                     for fact in model.records if fact.kind == "failover"]
    replace_batch += [{"Action": "CREATE", "ResourceRecordSet": record}
                      for record in with_weights(facts.weighted, FAILBACK_START)]
    calls += route_calls(FAILBACK_3, zone_id, replace_batch)
    for weights in FAILBACK_WEIGHTS:
        upserts = [{"Action": "UPSERT", "ResourceRecordSet": record}
                   for record in with_weights(facts.weighted, weights)]
        calls += route_calls(FAILBACK_3, zone_id, upserts)
    return calls


def stage_4(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """The steady state. Writes stop at the application in BOTH regions (the primary's pods
    write cross-region to the DR writer too), the replica is promoted, the primary's
    deployments come back at the topology's failover replicas, and DR returns to standby."""
    topology = ctx.topology
    primary, secondary = topology.primary.region, topology.secondary.region
    namespace = topology.namespace
    facts = model.failback_facts(ctx)
    if model.primary_desired is None:  # unreadable now: the same services as DR, assumed
        model.notes.append("primary deployments assumed to be DR's at failback 4")
    primary_now = (model.primary_desired if model.primary_desired is not None
                   else dict(model.pre_drill_primary) or dict.fromkeys(model.dr_desired, 1))
    calls = scale_deployments_calls(FAILBACK_4, primary, namespace, primary_now, 0)
    calls += scale_deployments_calls(FAILBACK_4, secondary, namespace, model.dr_desired, 0)
    calls.append(PlannedCall(FAILBACK_4, "rds", primary, "promote_read_replica",
                             {"DBInstanceIdentifier": facts.replica_name}))
    calls += scale_deployments_calls(FAILBACK_4, primary, namespace,
                                     dict.fromkeys(primary_now, 0), topology.failover_replicas)
    promoted_id = facts.promoted_id
    snapshot = (failback_names.final_snapshot_name(promoted_id, ctx.drill_id) if ctx.drill_id
                else f"{promoted_id}-failback-<UTC time of the call>")
    calls.append(PlannedCall(FAILBACK_4, "rds", secondary, "delete_db_instance", {
        "DBInstanceIdentifier": promoted_id, "SkipFinalSnapshot": False,
        "FinalDBSnapshotIdentifier": snapshot}))
    new_arn = (facts.promoted_arn.replace(f":{secondary}:", f":{primary}:")
               .replace(f":db:{promoted_id}", f":db:{facts.replica_name}"))
    calls.append(PlannedCall(FAILBACK_4, "rds", secondary, "create_db_instance_read_replica", {
        "DBInstanceIdentifier": topology.secondary.rds_instance,
        "SourceDBInstanceIdentifier": new_arn, "SourceRegion": primary,
        **kms_parameter(ctx, model, FAILBACK_4, "secondary")}))
    restore = [{"Action": "DELETE", "ResourceRecordSet": record}
               for record in with_weights(facts.weighted, FAILBACK_WEIGHTS[-1])]
    restore += [{"Action": "CREATE", "ResourceRecordSet": record}
                for record in original_pair(model)]
    calls += route_calls(FAILBACK_4, model.zone_id or "?", restore)
    place = topology.secondary
    calls += nodegroup_calls(FAILBACK_4, secondary, place.eks_cluster, place.nodegroup,
                             model.dr_scaling, place.standby_scaling)
    calls += scale_deployments_calls(FAILBACK_4, secondary, namespace,
                                     dict.fromkeys(model.dr_desired, 0), DR_STANDBY_REPLICAS)
    return calls
