"""The dry-run planner (DESIGN.md section 4, "Dry run is a planner").

``plan_drill`` observes the CURRENT state with probes only (no mutating call, no
``--dr-execute`` needed) and lists every mutating call the whole drill would make, in order,
assuming its own planned calls succeed: the state is modelled forward (after the planned
promotion the DR instance is the writer, after stage 4 the DR deployments run at the failover
replicas, ...). Failover stages use the very decision functions the stages execute
(``call_builders.scale_deployments_calls``, ``promotion_calls``, ``failover_pair_changes``,
``nodegroup_calls``). With database access (``target.database``) failover 2 also lists its
one data-plane write: an ``insert`` into the canary table of the promoted database
(``service`` "postgresql"); the game day's RDS canary writes before the outage are not stage
calls and are not listed. Failback stages are planned from the description below, kept in ONE place
(``FAILBACK_*`` constants and ``_plan_failback``) so ``failback.py`` can align with it:

- failback 1: ``stop_db_instance`` of an old writer in us-east-1 found (or expected back)
  beside the promoted one (split-brain fence);
- failback 2: ``create_db_instance_read_replica`` in us-east-1 of the failback replica, named
  as the stage names it (``failback_names.choose`` over the primary region's instances as
  found: the name of ``topology.primary.rds_instance`` / ``topology.failback_replica`` not in
  use there; with both in use a placeholder saying which to delete, and a note that the stage
  would refuse), with the promoted instance's ARN as source and ``SourceRegion`` us-west-2,
  and, when the database is encrypted (read from the instances as found), ``KmsKeyId`` the
  primary region's key (``topology.primary.kms_key_id``; without one the plan says the stage
  would refuse);
- failback 3: one change batch replacing the failover pair by a weighted pair (primary 0, DR
  100: no traffic moves), then weights 10/90, 50/50, 90/10, 100/0 (primary/DR);
- failback 4: DR deployments to 0 (write fence), promote the failback replica, primary
  deployments back to their pre-drill replicas (when they differ), delete the old promoted DR
  instance (with a final snapshot), create a fresh DR replica from the new writer
  (``KmsKeyId`` the DR key, ``topology.secondary.kms_key_id``, when encrypted), restore
  the failover pair, DR node group back to its standby scaling, DR deployments back to
  ``DR_STANDBY_REPLICAS``.

Not supported: predicting Route 53 health-check failover (the plan lists the explicit change;
stage 3 skips it when the pair already switched), guards (a plan lists calls, it does not
judge whether ``guard_promotion`` would allow them; its predictions are recorded in the
decision log), DynamoDB and MSK (no mutating calls are planned for them), and values only
known after a call (new ARNs are derived from the promoted instance's account).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from botocore.exceptions import ClientError

from maip_drlib.actions.route53 import alias_record, record_set_dict
from maip_drlib.config import ScalingConfig, Topology
from maip_drlib.drill import (
    failback_names,
    failover,
    replica_kms,
    traffic,
)
from maip_drlib.drill.call_builders import (
    desired_replicas,
    dr_writer,
    failover_pair_changes,
    nodegroup_calls,
    promotion_calls,
    route_calls,
    scale_deployments_calls,
)
from maip_drlib.drill.clients_landing import clients_region, route_state
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.drill_ids import data_plane_drill_id
from maip_drlib.drill.guards import dr_replica
from maip_drlib.drill.outcome import PlannedCall
from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.facts import AlbFact, RdsRoles, RecordSetFact
from maip_drlib.probes import eks as eks_probes
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes.rds_encryption import storage_encryption
from maip_drlib.probes.route53 import parse_record_set

__all__ = ["FAILBACK_WEIGHTS", "WEIGHTED_SET_IDENTIFIERS", "PlannedCall", "plan_drill"]

FAILBACK_1, FAILBACK_2, FAILBACK_3, FAILBACK_4 = (f"failback {n}" for n in range(1, 5))
# Weighted shift of failback 3, (primary, DR); the replacement batch starts at FAILBACK_START.
FAILBACK_START = (0, 100)
FAILBACK_WEIGHTS: tuple[tuple[int, int], ...] = traffic.DEFAULT_STEPS
# (primary, DR) weighted sets, named as failback.py / traffic.py name them.
WEIGHTED_SET_IDENTIFIERS = (traffic.set_identifier("weighted", "us-east-1"),
                            traffic.set_identifier("weighted", "us-west-2"))
DR_STANDBY_REPLICAS = 1
# Failover 3 changes the records only while clients still land in the primary region.
ROUTE_CONDITION = ("clients still land in {region} when failover 3 starts (Route 53's failover "
                   "routing moves them by itself once the primary's health check fails)")
ROUTE53_REGION = "us-east-1"  # Route 53 is global; its control plane lives in us-east-1


@dataclass
class _Model:
    """What the planner believes the platform looks like, moved forward call by call."""

    roles: RdsRoles
    primary_desired: dict[str, int] | None
    dr_desired: dict[str, int]
    dr_scaling: ScalingConfig | None
    clients_region: str | None
    zone_id: str | None
    records: tuple[RecordSetFact, ...]
    dr_alb: AlbFact | None
    primary_alb: AlbFact | None
    observed_records: tuple[RecordSetFact, ...] = ()  # the pair as found, before any change
    notes: list[str] = field(default_factory=list)


def _observe(ctx: DrillContext) -> _Model:
    topology, handles = ctx.topology, ctx.handles
    notes: list[str] = []
    roles = rds_probes.find_writer_and_replicas(handles, topology)
    notes += [str(item) for item in roles.unreachable_regions]
    try:
        primary_desired: dict[str, int] | None = desired_replicas(
   handles.primary, topology.namespace)
    except (Unreachable, NotFound) as error:
        primary_desired = None
        notes.append(f"primary deployments unknown: {error}")
    dr_desired = desired_replicas(handles.secondary, topology.namespace)
    place = topology.secondary
    dr_scaling = eks_probes.nodegroup_state(handles.secondary, place.eks_cluster,
                                            place.nodegroup, include_updates=False).scaling
    region, seen = clients_region(ctx)
    notes.append(f"clients now: {seen}")
    zone_id, records, dr_alb = None, (), None
    try:
        zone_id, records, dr_alb = route_state(ctx)
    except (ClientError, Unreachable) as error:
        notes.append(f"Route 53 unreadable ({error}); its changes are listed without ids")
    try:
        primary_alb: AlbFact | None = elb_probes.load_balancer(handles.primary,
                                                               topology.primary.alb_name)
    except (Unreachable, NotFound) as error:
        primary_alb = None
        notes.append(f"primary ALB unknown: {error}")
    return _Model(roles, primary_desired, dr_desired, dr_scaling, region, zone_id,
                  tuple(records), dr_alb, primary_alb, tuple(records), notes)


def plan_drill(ctx: DrillContext, *,
               phases: tuple[str, ...] = ("failover", "failback")) -> list[PlannedCall]:
    """Every mutating call of the drill's ``phases`` from the current state; none is made."""
    unknown = set(phases) - {"failover", "failback"}
    if unknown:
        raise ValueError(f"unknown phases {sorted(unknown)}; use failover and/or failback")
    ctx.say("planning from the current state (read-only)")
    model = _observe(ctx)
    pre_drill_primary = dict(model.primary_desired or {})
    calls: list[PlannedCall] = []
    if "failover" in phases:
        calls += _plan_failover(ctx, model)
    if "failback" in phases:
        calls += _plan_failback(ctx, model, pre_drill_primary)
    ctx.decisions.record("plan", f"{len(calls)} mutating calls planned", phases=list(phases),
                         notes=model.notes, planned=ctx.options.planned)
    return calls


# --- Failover --------------------------------------------------------------------------------


def _plan_failover(ctx: DrillContext, model: _Model) -> list[PlannedCall]:
    topology = ctx.topology
    primary, secondary = topology.primary.region, topology.secondary.region
    calls: list[PlannedCall] = []
    if ctx.options.planned and model.primary_desired is not None:
        calls += scale_deployments_calls(failover.STAGE_1, primary, topology.namespace,
                                         model.primary_desired, 0)
        model.primary_desired = dict.fromkeys(model.primary_desired, 0)
    calls += promotion_calls(failover.STAGE_2, model.roles, topology)
    model.roles = _promoted(model.roles, topology)
    if ctx.target.database is not None:  # the data plane: one real write proves the promotion
        from maip_drlib.actions.postgres import KIND_WRITE, TABLE

        calls.append(PlannedCall(failover.STAGE_2, "postgresql", secondary, "insert", {
            "instance": topology.secondary.rds_instance, "table": TABLE, "kind": KIND_WRITE}))
    if model.clients_region != secondary:
        if model.dr_alb is not None:
            changes = failover_pair_changes(model.records, model.dr_alb)
            calls += [replace(call, condition=ROUTE_CONDITION.format(region=model.clients_region))
                      for call in route_calls(failover.STAGE_3, model.zone_id or "?",
                                              changes)]
            model.records = _apply(model.records, changes)
        else:
            model.notes.append("failover 3: a Route 53 change may be needed; records unread")
        model.clients_region = secondary
    place = topology.secondary
    calls += nodegroup_calls(failover.STAGE_4, secondary, place.eks_cluster,
                             place.nodegroup, model.dr_scaling,
                             topology.failover_scaling)
    model.dr_scaling = topology.failover_scaling
    calls += scale_deployments_calls(failover.STAGE_4, secondary, topology.namespace,
                                     model.dr_desired, topology.failover_replicas)
    model.dr_desired = dict.fromkeys(model.dr_desired, topology.failover_replicas)
    return calls


def _promoted(roles: RdsRoles, topology: Topology) -> RdsRoles:
    """The roles after the DR replica's promotion (unlinked, a writer)."""
    if dr_writer(roles, topology) is not None:
        return roles
    replica = dr_replica(roles, topology)
    if replica is None:
        return roles
    writer = replace(replica, role="writer", source=None, status="available")
    old = tuple(replace(item, replicas=()) for item in roles.writers)
    return RdsRoles(writers=(*old, writer),
                    replicas=tuple(item for item in roles.replicas if item != replica),
                    unreachable_regions=roles.unreachable_regions, fenced=roles.fenced)


def _apply(records: tuple[RecordSetFact, ...], changes: list[dict]) -> tuple[RecordSetFact, ...]:
    by_key = {(fact.type, fact.set_identifier): fact for fact in records}
    for change in changes:
        fact = parse_record_set(dict(change["ResourceRecordSet"]))
        if change["Action"] == "DELETE":
            by_key.pop((fact.type, fact.set_identifier), None)
        else:
            by_key[(fact.type, fact.set_identifier)] = fact
    return tuple(by_key.values())


# --- Failback --------------------------------------------------------------------------------


def _plan_failback(ctx: DrillContext, model: _Model,
                   pre_drill_primary: Mapping[str, int]) -> list[PlannedCall]:
    topology = ctx.topology
    primary, secondary = topology.primary.region, topology.secondary.region
    calls: list[PlannedCall] = []
    promoted = dr_writer(model.roles, topology)
    promoted_id = promoted.identifier if promoted else topology.secondary.rds_instance
    promoted_arn = promoted.arn if promoted and promoted.arn else f"<ARN of {promoted_id}>"
    # 1: fence an old writer beside the promoted one (or the one expected back with us-east-1).
    old_writers = [item.identifier for item in model.roles.writers if item.region == primary]
    if not old_writers and any(item.region == primary for item in model.roles.unreachable_regions):
        old_writers = [f"<the writer back in {primary}: "
                       f"{' or '.join(rds_probes.primary_writer_names(topology))}>"]
    calls += [PlannedCall(FAILBACK_1, "rds", primary, "stop_db_instance",
                          {"DBInstanceIdentifier": name}) for name in old_writers]
    # 2: the failback replica in us-east-1 from the promoted instance (source as ARN).
    new_id = _failback_replica_name(ctx, model, promoted.identifier if promoted else None,
                                    tuple(old_writers))
    encrypted = _encrypted(ctx, model, promoted_id)
    drill = data_plane_drill_id(None, ctx)
    calls += [PlannedCall(FAILBACK_2, "dynamodb", region, "put_item", {  # the heartbeats
        "TableName": topology.canary_table,
        "Item": {"pk": f"heartbeat#{drill}#{region}", "seq": "<microseconds at the write>"}})
        for region in (primary, secondary)]
    calls.append(PlannedCall(FAILBACK_2, "rds", primary, "create_db_instance_read_replica", {
        "DBInstanceIdentifier": new_id, "SourceDBInstanceIdentifier": promoted_arn,
        "SourceRegion": secondary, **_kms(ctx, model, encrypted, FAILBACK_2, "primary")}))
    # 3: the primary's services back if a planned failover fenced them at 0, then the failover
    # pair -> weighted pair, then the weighted shift.
    desired_now = model.primary_desired or {}
    if desired_now and not all(desired_now.values()):  # every deployment is patched
        calls += scale_deployments_calls(FAILBACK_3, primary, topology.namespace,
                                         desired_now, topology.failover_replicas)
        model.primary_desired = dict.fromkeys(desired_now, topology.failover_replicas)
    zone_id = model.zone_id or "?"
    weighted = _weighted_records(ctx, model)
    replace_batch = [{"Action": "DELETE", "ResourceRecordSet": record_set_dict(fact)}
                     for fact in model.records if fact.kind == "failover"]
    replace_batch += [{"Action": "CREATE", "ResourceRecordSet": record}
                      for record in _with_weights(weighted, FAILBACK_START)]
    calls += route_calls(FAILBACK_3, zone_id, replace_batch)
    for weights in FAILBACK_WEIGHTS:
        upserts = [{"Action": "UPSERT", "ResourceRecordSet": record}
                   for record in _with_weights(weighted, weights)]
        calls += route_calls(FAILBACK_3, zone_id, upserts)
    # 4: steady state. Writes stop at the application in BOTH regions (failback.py stage 4:
    # the primary's pods write cross-region to the DR writer too), the replica is promoted, the
    # primary's deployments come back at the topology's failover replicas.
    namespace = topology.namespace
    if model.primary_desired is None:  # unreadable now: the same services as DR, assumed
        model.notes.append("primary deployments assumed to be DR's at failback 4")
    primary_now = (model.primary_desired if model.primary_desired is not None
                   else dict(pre_drill_primary) or dict.fromkeys(model.dr_desired, 1))
    calls += scale_deployments_calls(FAILBACK_4, primary, namespace, primary_now, 0)
    calls += scale_deployments_calls(FAILBACK_4, secondary, namespace,
                                     model.dr_desired, 0)
    calls.append(PlannedCall(FAILBACK_4, "rds", primary, "promote_read_replica",
                             {"DBInstanceIdentifier": new_id}))
    calls += scale_deployments_calls(FAILBACK_4, primary, namespace,
                                     dict.fromkeys(primary_now, 0),
                                     topology.failover_replicas)
    snapshot = (failback_names.final_snapshot_name(promoted_id, ctx.drill_id) if ctx.drill_id
                else f"{promoted_id}-failback-<UTC time of the call>")
    calls.append(PlannedCall(FAILBACK_4, "rds", secondary, "delete_db_instance", {
        "DBInstanceIdentifier": promoted_id, "SkipFinalSnapshot": False,
        "FinalDBSnapshotIdentifier": snapshot}))
    new_arn = (promoted_arn.replace(f":{secondary}:", f":{primary}:")
               .replace(f":db:{promoted_id}", f":db:{new_id}"))
    calls.append(PlannedCall(FAILBACK_4, "rds", secondary, "create_db_instance_read_replica", {
        "DBInstanceIdentifier": topology.secondary.rds_instance,
        "SourceDBInstanceIdentifier": new_arn, "SourceRegion": primary,
        **_kms(ctx, model, encrypted, FAILBACK_4, "secondary")}))
    restore = [{"Action": "DELETE", "ResourceRecordSet": record}
               for record in _with_weights(weighted, FAILBACK_WEIGHTS[-1])]
    restore += [{"Action": "CREATE", "ResourceRecordSet": record}
                for record in _original_pair(model)]
    calls += route_calls(FAILBACK_4, zone_id, restore)
    place = topology.secondary
    calls += nodegroup_calls(FAILBACK_4, secondary, place.eks_cluster, place.nodegroup,
                             model.dr_scaling, place.standby_scaling)
    calls += scale_deployments_calls(FAILBACK_4, secondary, namespace,
                                     dict.fromkeys(model.dr_desired, 0),
                                     DR_STANDBY_REPLICAS)
    return calls


def _failback_replica_name(ctx: DrillContext, model: _Model, promoted_id: str | None,
                           fenced: tuple[str, ...]) -> str:
    """Failback 2's name by the stage's own rule over the primary region as found now (no
    drill stage creates or deletes a primary-region instance before failback 2); ``fenced``:
    the old writers failback 1 is planned to fence."""
    try:
        chosen = failback_names.choose(ctx.topology, failback_names.read(ctx), promoted_id,
                                       fenced)
    except (ClientError, Unreachable) as error:
        model.notes.append(f"failback 2: the primary region's instances unread ({error}); "
                           f"the name shown is {ctx.topology.failback_replica}, the stage "
                           "takes the one not in use")
        return ctx.topology.failback_replica
    if chosen.name is not None:
        return chosen.name
    model.notes.append(chosen.refusal(FAILBACK_2).replace(
        f"{FAILBACK_2}: refusing to start:", f"{FAILBACK_2} would refuse:"))
    return f"<no free name: delete {chosen.delete_first or 'the older instance'} first>"


def _encrypted(ctx: DrillContext, model: _Model, promoted_id: str) -> bool | None:
    """Whether the database is encrypted at rest (a replica is encrypted as its source, so
    the first instance of the chain that answers tells): None when none answers."""
    topology, handles = ctx.topology, ctx.handles
    for handle, name in ((handles.secondary, promoted_id),
                         (handles.primary, topology.failback_replica),
                         (handles.primary, topology.primary.rds_instance)):
        try:
            return storage_encryption(handle, name).encrypted
        except NotFound:
            continue
        except (ClientError, Unreachable) as error:
            model.notes.append(f"RDS encryption of {name} unread: {error}")
    model.notes.append("RDS encryption unknown: KmsKeyId may be needed by failback 2 and 4")
    return None


def _kms(ctx: DrillContext, model: _Model, encrypted: bool | None, stage: str,
         side: replica_kms.Side) -> dict[str, str]:
    """The ``KmsKeyId`` parameter of a replica created in ``side``'s region ({} unencrypted);
    a placeholder, and a note that the stage would refuse, when no key is configured."""
    if not encrypted:
        return {}
    key = getattr(ctx.topology, side).kms_key_id
    if key:
        return {"KmsKeyId": key}
    setting = replica_kms.setting_name(side)
    model.notes.append(f"{stage} would refuse: the database is encrypted and {setting} is "
                       "not configured")
    return {"KmsKeyId": f"<not configured: {setting}>"}


def _health_check(records: tuple[RecordSetFact, ...], role: str) -> str | None:
    return next((fact.health_check_id for fact in records if fact.failover == role), None)


def _weighted_records(ctx: DrillContext, model: _Model) -> list[dict]:
    """The (primary, DR) weighted records, with the pair's health checks, weight unset."""
    topology = ctx.topology
    name = topology.record_name
    result = []
    for set_id, alb, role, place in (
        (WEIGHTED_SET_IDENTIFIERS[0], model.primary_alb, "PRIMARY", topology.primary),
        (WEIGHTED_SET_IDENTIFIERS[1], model.dr_alb, "SECONDARY", topology.secondary),
    ):
        dns = alb.dns_name if alb else f"<DNS name of {place.alb_name}, from ELBv2>"
        zone = alb.canonical_zone_id if alb else f"<zone id of {place.alb_name}, from ELBv2>"
        check = _health_check(model.observed_records, role)
        result.append(alias_record(name, dns, zone, set_identifier=set_id, weight=0,
                                   health_check_id=check))
    return result


def _with_weights(records: list[dict], weights: tuple[int, int]) -> list[dict]:
    return [dict(record, Weight=weight) for record, weight in zip(records, weights, strict=True)]


def _original_pair(model: _Model) -> list[dict]:
    """The failover pair as it should be: PRIMARY -> primary ALB, SECONDARY -> DR ALB."""
    result = []
    for fact in sorted((item for item in model.observed_records if item.kind == "failover"),
                       key=lambda item: item.failover or ""):
        record = record_set_dict(fact)
        alb = model.primary_alb if fact.failover == "PRIMARY" else model.dr_alb
        if alb is not None:
            record["AliasTarget"] = {"HostedZoneId": alb.canonical_zone_id,
                                     "DNSName": alb.dns_name, "EvaluateTargetHealth": True}
        result.append(record)
    return result
