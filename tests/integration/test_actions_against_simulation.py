"""Every mutating action against the embedded simulation: node group scaling, scaling every
deployment, promotion, the failback replica, and Route 53's rule against a simple record
beside the failover pair (refused locally and by the simulated Route 53)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from maip_drlib.actions import eks as eks_actions
from maip_drlib.actions import kube as kube_actions
from maip_drlib.actions import rds as rds_actions
from maip_drlib.actions.route53 import alias_record, change_record_sets
from maip_drlib.errors import ConfigError, GuardRefused
from maip_drlib.facts import NodesFact
from maip_drlib.probes import elb, kube, rds, route53
from maip_drlib.regions import RegionHandles
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim

FAST_POLL_S = 0.3


def test_scale_dr_nodegroup_then_every_deployment(handles: RegionHandles,
                                                  simulation: Simulation) -> None:
    topology = simulation.topology
    dr = topology.secondary
    outcome = eks_actions.update_nodegroup_scaling(
        handles.secondary, dr.eks_cluster, dr.nodegroup, topology.failover_scaling,
        deadline_s=30, poll_max_s=FAST_POLL_S)
    assert outcome.value.status == "Successful"
    scaled = kube_actions.scale_all_deployments(
        handles.secondary, topology.namespace, topology.failover_replicas, deadline_s=60)
    assert not scaled.value.not_ready
    deployments = kube.deployments(handles.secondary, topology.namespace)
    assert {d.ready for d in deployments} == {topology.failover_replicas}
    nodes = kube.nodes(handles.secondary)
    assert isinstance(nodes, NodesFact) and len(nodes.ready) == 8


def test_bad_scaling_is_refused_before_any_call(handles: RegionHandles,
                                                simulation: Simulation) -> None:
    from maip_drlib.config import ScalingConfig

    dr = simulation.topology.secondary
    with pytest.raises(ConfigError, match="min <= desired <= max"):
        eks_actions.update_nodegroup_scaling(handles.secondary, dr.eks_cluster, dr.nodegroup,
                                             ScalingConfig(4, 2, 8), deadline_s=5)


def test_promote_then_failback_replica(handles: RegionHandles, simulation: Simulation) -> None:
    topology = simulation.topology
    promoted = rds_actions.promote_read_replica(
        handles.secondary, topology.secondary.rds_instance, deadline_s=30)
    assert promoted.value.is_writer and promoted.value.status == "available"
    assert promoted.polls > 1  # it passed through "modifying" before it was a writer
    again = rds_actions.promote_read_replica(
        handles.secondary, topology.secondary.rds_instance, deadline_s=30)
    assert again.polls == 1  # recognised as done: no second promotion
    created = rds_actions.create_cross_region_replica(
        handles.primary, handles.secondary, topology.failback_replica,
        topology.secondary.rds_instance, deadline_s=30)
    assert created.value.region == "us-east-1"
    assert created.value.source_id == topology.secondary.rds_instance
    recognised = rds_actions.create_cross_region_replica(
        handles.primary, handles.secondary, topology.failback_replica,
        topology.secondary.rds_instance, deadline_s=30)
    assert recognised.value.identifier == topology.failback_replica
    with pytest.raises(GuardRefused, match="already exists"):
        rds_actions.create_cross_region_replica(
            handles.primary, handles.secondary, topology.primary.rds_instance,
            topology.secondary.rds_instance, deadline_s=5)
    roles = rds.find_writer_and_replicas(handles, topology)
    # The old writer was never fenced in this test: two writers is split brain, and says so.
    assert roles.split_brain


def test_simple_record_beside_failover_pair_is_refused(handles: RegionHandles,
                                                       simulation: Simulation) -> None:
    topology = simulation.topology
    zone = route53.hosted_zone(handles.primary, topology.hosted_zone)
    alb = elb.load_balancer(handles.secondary, topology.secondary.alb_name)
    runbook_change = {"Action": "UPSERT", "ResourceRecordSet": alias_record(
        topology.record_name, alb.dns_name, alb.canonical_zone_id)}
    with pytest.raises(GuardRefused):
        change_record_sets(handles.primary, zone.zone_id, [runbook_change])
    with pytest.raises(ClientError) as refused:  # and the simulated Route 53 refuses it too
        handles.primary.client("route53").change_resource_record_sets(
            HostedZoneId=zone.zone_id, ChangeBatch={"Changes": [runbook_change]})
    assert refused.value.response["Error"]["Code"] == "InvalidChangeBatch"
