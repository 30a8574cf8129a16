"""The mutating calls a stage needs, decided from observed state by pure functions.

Each stage and the dry-run planner (``planner.py``) ask the same functions, so that the plan
names the calls the stage makes (``plan_check.py`` compares them on a real game day):
deployments to scale, the node group's scaling, the DR replica's promotion, the Route 53
change that points the PRIMARY failover record at the DR ALB. An empty list means the work is
done (a re-run makes no call).

Not supported: calls whose need cannot be judged from the state alone (they are decided in
the stage and listed by the planner with a ``condition``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from maip_drlib.actions import route53 as route53_actions
from maip_drlib.config import ScalingConfig, Topology
from maip_drlib.drill.guards import dr_replica
from maip_drlib.drill.outcome import PlannedCall
from maip_drlib.errors import CheckFailed
from maip_drlib.facts import AlbFact, DbInstanceFact, RdsRoles, RecordSetFact
from maip_drlib.probes import kube as kube_probes
from maip_drlib.regions import RegionHandle


def scale_deployments_calls(stage: str, region: str, namespace: str,
                            desired: Mapping[str, int], replicas: int) -> list[PlannedCall]:
    """One scale call per deployment when any is not at ``replicas`` (all are patched)."""
    if all(count == replicas for count in desired.values()):
        return []
    return [PlannedCall(stage, "kubernetes", region, "patch_namespaced_deployment_scale",
                        {"namespace": namespace, "name": name, "replicas": replicas})
            for name in desired]


def nodegroup_calls(stage: str, region: str, cluster: str, nodegroup: str,
                    current: ScalingConfig | None, wanted: ScalingConfig) -> list[PlannedCall]:
    if current == wanted:
        return []
    return [PlannedCall(stage, "eks", region, "update_nodegroup_config", {
        "clusterName": cluster, "nodegroupName": nodegroup,
        "scalingConfig": {"minSize": wanted.min_size, "maxSize": wanted.max_size,
                          "desiredSize": wanted.desired_size},
    })]


def dr_writer(roles: RdsRoles, topology: Topology) -> DbInstanceFact | None:
    """A writer in the secondary region: the promotion already happened."""
    return next((fact for fact in roles.writers if fact.region == topology.secondary.region),
                None)


def promotion_calls(stage: str, roles: RdsRoles, topology: Topology) -> list[PlannedCall]:
    """The promotion of the DR replica, or nothing when the DR region already has a writer."""
    if dr_writer(roles, topology) is not None:
        return []
    replica = dr_replica(roles, topology)
    if replica is None:
        raise CheckFailed(
            "no single read replica found in the DR region to promote",
            region=topology.secondary.region, resource=", ".join(topology.rds_candidates),
            expected="one replica", observed=str(roles),
        )
    return [PlannedCall(stage, "rds", replica.region, "promote_read_replica",
                        {"DBInstanceIdentifier": replica.identifier})]


def failover_pair_changes(records: Sequence[RecordSetFact], dr_alb: AlbFact) -> list[dict]:
    """The change batch that points the PRIMARY failover record at the DR ALB (empty: done).

    The record keeps its health check (the primary endpoint's), so failback can put the pair
    back as it was; with both records aliasing the DR ALB, clients reach DR either way.
    """
    primary = next((fact for fact in records if fact.kind == "failover"
                    and fact.failover == "PRIMARY"), None)
    if primary is None:
        raise CheckFailed(
            "no PRIMARY failover record to change; the suite never adds a simple record",
            resource=records[0].name if records else "record", expected="a failover pair",
            observed=", ".join(map(str, records)) or "no records",
        )
    if primary.alias is not None and primary.alias.dns_name == dr_alb.dns_name.rstrip("."):
        return []
    record = route53_actions.alias_record(
        primary.name, dr_alb.dns_name, dr_alb.canonical_zone_id, record_type=primary.type,
        evaluate_target_health=True, set_identifier=primary.set_identifier, failover="PRIMARY",
        health_check_id=primary.health_check_id,
    )
    return [{"Action": "UPSERT", "ResourceRecordSet": record}]


def route_calls(stage: str, zone_id: str, changes: list[dict]) -> list[PlannedCall]:
    if not changes:
        return []
    return [PlannedCall(stage, "route53", "us-east-1", "change_resource_record_sets",
                        {"HostedZoneId": zone_id, "ChangeBatch": {"Changes": changes}})]


def desired_replicas(handle: RegionHandle, namespace: str) -> dict[str, int]:
    """Each deployment of ``namespace`` and its desired replicas (what the builders take)."""
    return {item.name: item.desired for item in kube_probes.deployments(handle, namespace)}
