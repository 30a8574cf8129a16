"""Every probe against the whole embedded simulation, through boto3, kubernetes and requests,
then a primary-region outage: probes answer "unreachable" within seconds, and come back."""

from __future__ import annotations

import re
import time

import pytest
from maip_cli_helpers import wait_until

from maip_drlib.config import Target
from maip_drlib.errors import Unreachable
from maip_drlib.facts import ApiUnreachable, NodesFact, ReplicationLag
from maip_drlib.probes import dynamodb, eks, elb, endpoint, kube, msk, rds, route53
from maip_drlib.readiness import ReadinessInputs, Thresholds, run_readiness
from maip_drlib.regions import RegionHandles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim

OUTAGE_VERDICT_CEILING_S = 5.0  # a probe of a downed region answers within a few seconds


def test_eks_clusters_and_dr_nodegroup(handles: RegionHandles, simulation: Simulation) -> None:
    topology = simulation.topology
    assert eks.cluster_status(handles.primary, topology.primary.eks_cluster).status == "ACTIVE"
    state = eks.nodegroup_state(handles.secondary, topology.secondary.eks_cluster,
                                topology.secondary.nodegroup)
    assert state.status == "ACTIVE"
    assert state.scaling is not None and state.scaling.desired_size == 2
    assert state.updates_in_progress == ()


def test_kubernetes_facts_in_both_regions(handles: RegionHandles,
                                          simulation: Simulation) -> None:
    namespace = simulation.topology.namespace
    primary_nodes = kube.nodes(handles.primary)
    assert isinstance(primary_nodes, NodesFact)
    assert len(primary_nodes.ready) == 8 and not primary_nodes.not_ready
    primary = {d.name: d for d in kube.deployments(handles.primary, namespace)}
    dr = {d.name: d for d in kube.deployments(handles.secondary, namespace)}
    assert set(primary) == set(dr) and len(primary) == 8
    assert all(d.desired == 4 for d in primary.values())
    assert all(d.desired == 1 for d in dr.values())
    pods = kube.pods(handles.secondary, namespace)
    assert len(pods) == 8 and all(p.ready and p.phase == "Running" for p in pods)
    services = kube.services(handles.secondary, namespace)
    assert {s.name for s in services} == set(dr)


def test_rds_roles_are_discovered(handles: RegionHandles, simulation: Simulation) -> None:
    roles = rds.find_writer_and_replicas(handles, simulation.topology)
    assert roles.writer is not None and roles.writer.identifier == "maip-prod-postgres"
    assert roles.writer.region == "us-east-1" and roles.writer.backup_retention_days > 0
    replicas = roles.replicas_of(roles.writer)
    assert [(r.identifier, r.region) for r in replicas] == [
        ("maip-prod-postgres-replica", "us-west-2")]
    lag = rds.replica_lag(handles.secondary, "maip-prod-postgres-replica")
    assert lag.seconds is not None and lag.seconds < 60


def test_route53_pair_health_and_dr_alb(handles: RegionHandles, simulation: Simulation) -> None:
    topology = simulation.topology
    zone = route53.hosted_zone(handles.primary, topology.hosted_zone)
    records = route53.record_sets(handles.primary, zone.zone_id, topology.record_name, "A")
    failover = {r.failover: r for r in records if r.kind == "failover"}
    assert set(failover) == {"PRIMARY", "SECONDARY"}
    alb = elb.load_balancer(handles.secondary, topology.secondary.alb_name)
    assert alb.state == "active"
    assert failover["SECONDARY"].alias is not None
    assert failover["SECONDARY"].alias.dns_name.rstrip(".").lower() == alb.dns_name.lower()
    assert alb.canonical_zone_id != "Z35SXDOTRQ7X7K"  # us-east-1's ALB zone, not us-west-2's
    for record in failover.values():
        assert route53.health_check_status(handles.primary, record.health_check_id).healthy


def _measured(lag: ReplicationLag) -> ReplicationLag | None:
    return lag if lag.seconds is not None else None


def test_dynamodb_and_msk(handles: RegionHandles, simulation: Simulation) -> None:
    topology = simulation.topology
    table = dynamodb.global_table(handles.primary, topology.dynamodb_table)
    assert table.status == "ACTIVE" and table.replica_status("us-west-2") == "ACTIVE"
    # A datapoint exists only for items delivered (the simulated services write each round).
    latency = wait_until("a ReplicationLatency datapoint us-east-1 -> us-west-2",
                         lambda: _measured(dynamodb.replication_latency(
                             handles.primary, topology.dynamodb_table, "us-west-2")),
                         timeout_s=30)
    assert latency.seconds < 5
    clusters = msk.clusters(handles.secondary, (topology.secondary.msk_cluster,))
    assert [c.state for c in clusters] == ["ACTIVE"]
    replicators = msk.replicators(handles.secondary, topology.replicator_name_contains)
    assert [r.state for r in replicators] == ["RUNNING"]


def test_endpoint_through_the_simulated_dns(target: Target) -> None:
    assert target.control_url is not None
    health = endpoint.endpoint_health(target.public_endpoint_url + "/actuator/health",
                                      resolver=SimulationResolver(target.control_url),
                                      ca_bundle=target.ca_bundle)
    assert health.up, str(health)
    assert health.components["db"] == "UP"
    assert "region us-east-1" in (health.resolved_address or "")


def test_readiness_passes_then_lag_fault_names_store(handles: RegionHandles, target: Target,
                                                     simulation: Simulation) -> None:
    inputs = ReadinessInputs(handles, simulation.topology, target,
                             SimulationResolver(target.control_url or ""),
                             Thresholds.from_gherkin())
    results = run_readiness(inputs)
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    # Deliveries now take 8 s: the datapoint of the first one late exists only once it landed.
    simulation.faults.set_lag("dynamodb", 8.0)
    try:
        deadline = time.monotonic() + 30
        while True:  # the metric publisher picks the fault up within its period
            failed = [r for r in run_readiness(inputs) if not r.passed]
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        simulation.faults.set_lag("dynamodb", 0.5)
    assert [r.name for r in failed] == ["DynamoDB replication latency"]
    assert "us-west-2" in failed[0].detail and "over threshold" in failed[0].detail
    figure = re.search(r"dynamodb lag of \S+ \(us-west-2\): (\d+\.\d{3})s", failed[0].detail)
    assert figure and 8.0 <= float(figure.group(1)) < 8.0 + 5.0, failed[0].detail  # measured


def test_primary_outage_is_unreachable_fast_and_recovers(
        handles: RegionHandles, target: Target, simulation: Simulation) -> None:
    topology = simulation.topology
    simulation.faults.region_outage("us-east-1")
    try:
        started = time.monotonic()
        nodes = kube.nodes(handles.primary)
        assert isinstance(nodes, ApiUnreachable), nodes
        with pytest.raises(Unreachable):
            rds.db_instance(handles.primary, topology.primary.rds_instance)
        elapsed = time.monotonic() - started
        assert elapsed < OUTAGE_VERDICT_CEILING_S, f"outage verdict took {elapsed:.1f}s"
        # Route 53 is global and survives; the failover pair now answers with DR.
        zone = route53.hosted_zone(handles.primary, topology.hosted_zone)
        assert zone.name == topology.hosted_zone
        assert rds.db_instance(handles.secondary, topology.secondary.rds_instance).status == (
            "available")
        # Route 53's checkers see the outage after RequestInterval x FailureThreshold of
        # simulated time; then the failover pair answers with DR
        def dr_answers() -> object:
            health = endpoint.endpoint_health(
                target.public_endpoint_url + "/actuator/health",
                resolver=SimulationResolver(target.control_url or ""), ca_bundle=target.ca_bundle)
            return "region us-west-2" in (health.resolved_address or "") and health

        wait_until("the failover pair to answer with DR", dr_answers, timeout_s=60)
    finally:
        simulation.faults.restore_region("us-east-1")
    deadline = time.monotonic() + 10
    while not isinstance(kube.nodes(handles.primary), NodesFact):
        assert time.monotonic() < deadline, "primary Kubernetes API did not come back"
        time.sleep(0.2)
    assert rds.db_instance(handles.primary, topology.primary.rds_instance).status == "available"
