"""The dry-run planner from the seeded state: its exact call list, and no mutating call.

The same simulation then hosts the promotion-fault test: it needs the seeded, never promoted
replica, and the planner leaves the state as it found it. Its database is encrypted (the
topology names a KMS key per region), so the replicas are planned with ``KmsKeyId``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from itertools import groupby

import pytest

from maip_drlib.config import DatabaseAccess, Topology
from maip_drlib.drill.context import DrillContext, DrillOptions, OutageDeclaration, PollPolicy
from maip_drlib.drill.failover import stage_2_promote
from maip_drlib.drill.planner import plan_drill
from maip_drlib.errors import CheckFailed
from maip_drlib.probes import kube
from maip_drlib.regions import RegionHandles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.aws.seed_rds import with_simulated_kms_keys
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(with_simulated_kms_keys(Topology()), time_scale=0.2) as running:
        yield running


def context(simulation: Simulation, handles: RegionHandles, **options: object) -> DrillContext:
    target = simulation.target()
    return DrillContext(handles=handles, topology=simulation.topology, target=target,
                        resolver=SimulationResolver(target.control_url),
                        options=DrillOptions(**options),  # type: ignore[arg-type]
                        poll=PollPolicy(0.1, 0.3))


def described(handles: RegionHandles, simulation: Simulation) -> dict[str, object]:
    """What the describe calls say, minus fields that move on their own."""
    topology = simulation.topology
    state: dict[str, object] = {}
    for handle in handles:
        place = topology.region(handle.region)
        state[f"rds {handle.region}"] = [
            (db["DBInstanceIdentifier"], db["DBInstanceStatus"],
             db.get("ReadReplicaSourceDBInstanceIdentifier"))
            for db in handle.client("rds").describe_db_instances()["DBInstances"]]
        state[f"eks {handle.region}"] = handle.client("eks").describe_nodegroup(
            clusterName=place.eks_cluster, nodegroupName=place.nodegroup)["nodegroup"][
            "scalingConfig"]
        state[f"kube {handle.region}"] = kube.deployments(handle, topology.namespace)
    zone = handles.primary.client("route53").list_hosted_zones()["HostedZones"][0]["Id"]
    state["route53"] = handles.primary.client("route53").list_resource_record_sets(
        HostedZoneId=zone)["ResourceRecordSets"]
    return state


def test_plan_from_the_seeded_state(handles: RegionHandles, simulation: Simulation) -> None:
    before = described(handles, simulation)
    ctx = context(simulation, handles, execute=False)
    calls = plan_drill(ctx)
    assert described(handles, simulation) == before  # no mutating call was made
    steps = [(stage, operation, region, len(list(group)))
             for (stage, operation, region), group in groupby(
                 calls, key=lambda call: (call.stage, call.operation, call.region))]
    assert steps == [
        ("failover 2", "promote_read_replica", "us-west-2", 1),
        ("failover 3", "change_resource_record_sets", "us-east-1", 1),
        ("failover 4", "update_nodegroup_config", "us-west-2", 1),
        ("failover 4", "patch_namespaced_deployment_scale", "us-west-2", 8),
        ("failback 1", "stop_db_instance", "us-east-1", 1),
        ("failback 2", "put_item", "us-east-1", 1),  # the DynamoDB heartbeats
        ("failback 2", "put_item", "us-west-2", 1),
        ("failback 2", "create_db_instance_read_replica", "us-east-1", 1),
        ("failback 3", "change_resource_record_sets", "us-east-1", 5),
        ("failback 4", "patch_namespaced_deployment_scale", "us-east-1", 8),  # writes stop in
        ("failback 4", "patch_namespaced_deployment_scale", "us-west-2", 8),  # both regions
        ("failback 4", "promote_read_replica", "us-east-1", 1),
        ("failback 4", "patch_namespaced_deployment_scale", "us-east-1", 8),  # back up
        ("failback 4", "delete_db_instance", "us-west-2", 1),
        ("failback 4", "create_db_instance_read_replica", "us-west-2", 1),
        ("failback 4", "change_resource_record_sets", "us-east-1", 1),
        ("failback 4", "update_nodegroup_config", "us-west-2", 1),
        ("failback 4", "patch_namespaced_deployment_scale", "us-west-2", 8),
    ]
    by_operation = {(call.stage, call.operation): call.parameters for call in calls}
    assert by_operation[("failover 2", "promote_read_replica")] == {
        "DBInstanceIdentifier": "maip-prod-postgres-replica"}
    failback_replica = by_operation[("failback 2", "create_db_instance_read_replica")]
    assert failback_replica["DBInstanceIdentifier"] == "maip-prod-postgres-new"
    source = str(failback_replica["SourceDBInstanceIdentifier"])
    assert source.startswith("arn:aws:rds:us-west-2:")
    assert failback_replica["SourceRegion"] == "us-west-2"
    assert failback_replica["KmsKeyId"] == "alias/maip-rds"  # the primary's key: encrypted
    assert by_operation[("failback 4", "delete_db_instance")]["FinalDBSnapshotIdentifier"] == (
        "maip-prod-postgres-replica-failback-<UTC time of the call>")  # no drill id here
    assert "clients still land in us-east-1" in str(next(
        c.condition for c in calls if c.stage == "failover 3"))
    fresh_dr = by_operation[("failback 4", "create_db_instance_read_replica")]
    assert fresh_dr["KmsKeyId"] == "alias/maip-rds"  # topology.secondary.kms_key_id
    route = by_operation[("failover 3", "change_resource_record_sets")]["ChangeBatch"]
    record = route["Changes"][0]["ResourceRecordSet"]  # type: ignore[index]
    assert record["Failover"] == "PRIMARY" and "us-west-2" in record["AliasTarget"]["DNSName"]
    dr_zone = simulation.seed.alb_hosted_zone_ids["us-west-2"]  # type: ignore[union-attr]
    assert record["AliasTarget"]["HostedZoneId"] == dr_zone
    weights = [[change["ResourceRecordSet"]["Weight"]
                for change in call.parameters["ChangeBatch"]["Changes"]  # type: ignore[index]
                if change["Action"] != "DELETE"]
               for call in calls if call.stage == "failback 3"]
    assert weights == [[0, 100], [10, 90], [50, 50], [90, 10], [100, 0]]
    assert ctx.decisions.entries[-1].stage == "plan"


def test_plan_says_a_replica_would_be_refused_without_its_region_kms_key(
        handles: RegionHandles, simulation: Simulation) -> None:
    ctx = context(simulation, handles, execute=False)
    topology = replace(ctx.topology, primary=replace(ctx.topology.primary, kms_key_id=None))
    calls = plan_drill(replace(ctx, topology=topology), phases=("failback",))
    keys = {call.stage: call.parameters.get("KmsKeyId") for call in calls
            if call.operation == "create_db_instance_read_replica"}
    assert keys == {"failback 2": "<not configured: topology.primary.kms_key_id>",
                    "failback 4": "alias/maip-rds"}
    notes = ctx.decisions.entries[-1].evidence["notes"]
    assert ("failback 2 would refuse: the database is encrypted and "
            "topology.primary.kms_key_id is not configured") in notes


def test_plan_lists_the_data_plane_write_with_database_access(
        handles: RegionHandles, simulation: Simulation) -> None:
    ctx = context(simulation, handles, execute=False)
    ctx = replace(ctx, target=replace(ctx.target, database=DatabaseAccess(
        secret_ids=(("us-west-2", "db-secret"),))))
    calls = plan_drill(ctx, phases=("failover",))
    stage_2 = [(call.service, call.operation, call.region, call.parameters)
               for call in calls if call.stage == "failover 2"]
    assert stage_2 == [
        ("rds", "promote_read_replica", "us-west-2",
         {"DBInstanceIdentifier": "maip-prod-postgres-replica"}),
        ("postgresql", "insert", "us-west-2",
         {"instance": "maip-prod-postgres-replica", "table": "maip_dr.canaries", "kind": "write"}),
    ]


def test_planned_failover_plan_fences_first(handles: RegionHandles,
                                            simulation: Simulation) -> None:
    calls = plan_drill(context(simulation, handles, planned=True), phases=("failover",))
    fence = [call for call in calls if call.stage == "failover 1"]
    assert len(fence) == 8 and {call.parameters["replicas"] for call in fence} == {0}
    assert all(call.region == "us-east-1" for call in fence)


def test_promotion_fault_fails_stage_2_at_once(handles: RegionHandles,
                                               simulation: Simulation) -> None:
    simulation.faults.region_outage("us-east-1")
    simulation.faults.set_promotion("fail")
    ctx = context(simulation, handles, execute=True,
                  declared_outage=OutageDeclaration.now("us-east-1 down"))
    started = time.monotonic()
    with pytest.raises(CheckFailed, match="failed") as failed:
        stage_2_promote(ctx)
    assert time.monotonic() - started < 15  # the deadline is longer: it stopped on "failed"
    assert failed.value.resource == "maip-prod-postgres-replica"
