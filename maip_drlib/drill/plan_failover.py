"""The dry-run plan of each failover stage (named in ``registry.STAGES``).

Each function lists the mutating calls its stage would make from the model (``plan_model``)
and moves the model forward as if they had succeeded. They use the very decision functions
the stages execute (``call_builders``). Not supported: predicting Route 53 health-check
failover (failover 3's change is listed with the condition under which the stage makes it).
"""

from __future__ import annotations

from dataclasses import replace

from maip_drlib.config import Topology
from maip_drlib.drill import failover
from maip_drlib.drill.call_builders import (
    dr_writer,
    failover_pair_changes,
    nodegroup_calls,
    promotion_calls,
    route_calls,
    scale_deployments_calls,
)
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.guards import dr_replica
from maip_drlib.drill.outcome import PlannedCall
from maip_drlib.drill.plan_model import PlanModel
from maip_drlib.facts import RdsRoles, RecordSetFact
from maip_drlib.probes.route53 import parse_record_set

# Failover 3 changes the records only while clients still land in the primary region.
ROUTE_CONDITION = ("clients still land in {region} when failover 3 starts (Route 53's failover "
                   "routing moves them by itself once the primary's health check fails)")


def stage_1(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """A planned failover fences the primary at the application: its deployments to 0."""
    if not ctx.options.planned or model.primary_desired is None:
        return []
    calls = scale_deployments_calls(failover.STAGE_1, ctx.topology.primary.region,
                                    ctx.topology.namespace, model.primary_desired, 0)
    model.primary_desired = dict.fromkeys(model.primary_desired, 0)
    return calls


def stage_2(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """The DR replica's promotion, and with database access its one proving write."""
    topology = ctx.topology
    calls = promotion_calls(failover.STAGE_2, model.roles, topology)
    model.roles = _promoted(model.roles, topology)
    if ctx.target.database is not None:  # the data plane: one real write proves the promotion
        from maip_drlib.actions.postgres import KIND_WRITE, TABLE

        calls.append(PlannedCall(failover.STAGE_2, "postgresql", topology.secondary.region,
                                 "insert", {"instance": topology.secondary.rds_instance,
                                            "table": TABLE, "kind": KIND_WRITE}))
    return calls


def stage_3(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """The failover pair's change, made only while clients still land in the primary."""
    secondary = ctx.topology.secondary.region
    if model.clients_region == secondary:
        return []
    calls: list[PlannedCall] = []
    if model.dr_alb is not None:
        changes = failover_pair_changes(model.records, model.dr_alb)
        calls = [replace(call, condition=ROUTE_CONDITION.format(region=model.clients_region))
                 for call in route_calls(failover.STAGE_3, model.zone_id or "?", changes)]
        model.records = _apply(model.records, changes)
    else:
        model.notes.append("failover 3: a Route 53 change may be needed; records unread")
    model.clients_region = secondary
    return calls


def stage_4(ctx: DrillContext, model: PlanModel) -> list[PlannedCall]:
    """The DR node group and deployments to the failover capacity."""
    topology = ctx.topology
    place = topology.secondary
    calls = nodegroup_calls(failover.STAGE_4, place.region, place.eks_cluster, place.nodegroup,
                            model.dr_scaling, topology.failover_scaling)
    model.dr_scaling = topology.failover_scaling
    calls += scale_deployments_calls(failover.STAGE_4, place.region, topology.namespace,
                                     model.dr_desired, topology.failover_replicas)
    model.dr_desired = dict.fromkeys(model.dr_desired, topology.failover_replicas)
    return calls


def stage_5(_ctx: DrillContext, _model: PlanModel) -> list[PlannedCall]:
    """Failover 5 checks that DR serves traffic: it writes nothing."""
    return []


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
