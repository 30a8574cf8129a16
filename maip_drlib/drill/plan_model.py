"""What the dry-run planner believes the platform looks like, moved forward stage by stage.

``observe`` reads the current state with probes only (nothing is written); each stage's
planner (``plan_failover.py``, ``plan_failback.py``, named in ``registry.STAGES``) lists its
calls from this model and then moves the model forward as if they had succeeded.
``failback_facts`` derives, once, what several failback stages share (the promoted instance,
the failback replica's name, encryption, the weighted records). Not supported: state the
probes cannot read (each gap is a note in the plan, and a placeholder in the calls).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from maip_drlib.actions.route53 import alias_record, record_set_dict
from maip_drlib.config import ScalingConfig
from maip_drlib.drill import failback_names, replica_kms, traffic
from maip_drlib.drill.call_builders import desired_replicas, dr_writer
from maip_drlib.drill.clients_landing import clients_region, route_state
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.facts import AlbFact, RdsRoles, RecordSetFact
from maip_drlib.probes import eks as eks_probes
from maip_drlib.probes import elb as elb_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes.rds_encryption import storage_encryption

FAILBACK_2 = "failback 2"
# (primary, DR) weighted sets, named as failback.py / traffic.py name them.
WEIGHTED_SET_IDENTIFIERS = (traffic.set_identifier("weighted", "us-east-1"),
                            traffic.set_identifier("weighted", "us-west-2"))


@dataclass(frozen=True)
class FailbackFacts:
    """What the failback stages' plans share, derived once when failback is first planned."""

    promoted_id: str
    promoted_arn: str
    old_writers: tuple[str, ...]  # failback 1 fences these
    replica_name: str  # failback 2 creates it, failback 4 promotes it
    encrypted: bool | None
    weighted: tuple[dict, ...]  # the (primary, DR) weighted records, weight unset


@dataclass
class PlanModel:
    """The platform as the planner believes it is; moved forward call by call."""

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
    pre_drill_primary: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failback: FailbackFacts | None = None

    def failback_facts(self, ctx: DrillContext) -> FailbackFacts:
        """The failback stages' shared facts, from the model as failback starts."""
        if self.failback is None:
            self.failback = _derive_failback(ctx, self)
        return self.failback


def observe(ctx: DrillContext) -> PlanModel:
    """The current state, read with probes only."""
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
    return PlanModel(roles, primary_desired, dr_desired, dr_scaling, region, zone_id,
                     tuple(records), dr_alb, primary_alb, tuple(records),
                     dict(primary_desired or {}), notes)


def _derive_failback(ctx: DrillContext, model: PlanModel) -> FailbackFacts:
    topology = ctx.topology
    primary = topology.primary.region
    promoted = dr_writer(model.roles, topology)
    promoted_id = promoted.identifier if promoted else topology.secondary.rds_instance
    promoted_arn = promoted.arn if promoted and promoted.arn else f"<ARN of {promoted_id}>"
    # The old writer beside the promoted one, or the one expected back with us-east-1.
    old_writers = [item.identifier for item in model.roles.writers if item.region == primary]
    if not old_writers and any(item.region == primary for item in model.roles.unreachable_regions):
        old_writers = [f"<the writer back in {primary}: "
                       f"{' or '.join(rds_probes.primary_writer_names(topology))}>"]
    name = _failback_replica_name(ctx, model, promoted.identifier if promoted else None,
                                  tuple(old_writers))
    return FailbackFacts(promoted_id, promoted_arn, tuple(old_writers), name,
                         _encrypted(ctx, model, promoted_id), tuple(_weighted_records(ctx, model)))


def _failback_replica_name(ctx: DrillContext, model: PlanModel, promoted_id: str | None,
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


def _encrypted(ctx: DrillContext, model: PlanModel, promoted_id: str) -> bool | None:
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


def kms_parameter(ctx: DrillContext, model: PlanModel, stage: str,
                  side: replica_kms.Side) -> dict[str, str]:
    """The ``KmsKeyId`` parameter of a replica created in ``side``'s region ({} unencrypted);
    a placeholder, and a note that the stage would refuse, when no key is configured."""
    if not model.failback_facts(ctx).encrypted:
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


def _weighted_records(ctx: DrillContext, model: PlanModel) -> list[dict]:
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


def with_weights(records: tuple[dict, ...], weights: tuple[int, int]) -> list[dict]:
    """``records`` with the (primary, DR) ``weights``."""
    return [dict(record, Weight=weight) for record, weight in zip(records, weights, strict=True)]


def original_pair(model: PlanModel) -> list[dict]:
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
