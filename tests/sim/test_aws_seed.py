"""The seeded MAIP topology, read back through boto3 exactly as the runbook queries it, plus the
metrics published from the faults and the simulated DNS answer.

One moto server and one seed for the module; tests restore the faults they change.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath
import pytest
from maip_cli_helpers import wait_until

from maip_drlib.config import Topology
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.dns_answer import answer_for
from maip_drlib.sim.aws.metrics import MetricPublisher
from maip_drlib.sim.aws.patches.dynamodb_item_replication import pending_deliveries
from maip_drlib.sim.aws.seed import REPLICATOR_NAME, SeedResult, seed_topology
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

TOPOLOGY = Topology()
EAST, WEST = TOPOLOGY.primary.region, TOPOLOGY.secondary.region


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState((EAST, WEST))


@pytest.fixture(scope="module")
def server(faults: FaultState) -> Iterator[MotoServer]:
    moto_server = MotoServer(faults, SimClock(time_scale=0.6))
    moto_server.start()
    yield moto_server
    moto_server.stop()


@pytest.fixture(scope="module")
def seeded(server: MotoServer) -> SeedResult:
    assert server.endpoint_url is not None
    return seed_topology(server.endpoint_url, TOPOLOGY)


@pytest.fixture
def url(seeded: SeedResult, faults: FaultState) -> Iterator[str]:
    yield seeded.endpoint_url
    for region in (EAST, WEST):
        faults.restore_region(region)


def test_seeding_closed_its_clients(seeded: SeedResult) -> None:
    from maip_drlib.sim.aws import seed_clients

    assert not [key for key in seed_clients._clients if key[2] == seeded.endpoint_url]


def _metric(url: str, region: str, namespace: str, name: str,
            dimensions: dict[str, str]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return sim_client("cloudwatch", region, url).get_metric_statistics(
        Namespace=namespace, MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
        Period=300, Statistics=["Average"],
    )["Datapoints"]


def test_rds_writer_and_replica_answer_the_runbook_status_queries(url: str) -> None:
    writer = sim_client("rds", EAST, url).describe_db_instances(
        DBInstanceIdentifier=TOPOLOGY.primary.rds_instance)
    replica = sim_client("rds", WEST, url).describe_db_instances(
        DBInstanceIdentifier=TOPOLOGY.secondary.rds_instance)
    assert jmespath.search("DBInstances[0].DBInstanceStatus", writer) == "available"
    assert jmespath.search("DBInstances[0].DBInstanceStatus", replica) == "available"
    writer_instance, replica_instance = writer["DBInstances"][0], replica["DBInstances"][0]
    assert writer_instance["BackupRetentionPeriod"] > 0
    assert replica_instance["ReadReplicaSourceDBInstanceIdentifier"] == writer_instance[
        "DBInstanceArn"]
    assert writer_instance["ReadReplicaDBInstanceIdentifiers"] == [
        replica_instance["DBInstanceArn"]]


def test_dynamodb_global_table_lists_its_replica_in_both_regions(url: str) -> None:
    for region, other in ((EAST, WEST), (WEST, EAST)):
        described = sim_client("dynamodb", region, url).describe_table(
            TableName=TOPOLOGY.dynamodb_table)
        assert jmespath.search("Table.Replicas", described) == [
            {"RegionName": other, "ReplicaStatus": "ACTIVE"}]


def test_msk_replicator_is_listed_running_by_the_runbook_filter(
    url: str, seeded: SeedResult
) -> None:
    listed = sim_client("kafka", WEST, url).list_replicators()
    query = ("Replicators[?contains(ReplicatorName, 'maip')]"
             ".{Name:ReplicatorName,State:ReplicatorState}")
    assert jmespath.search(query, listed) == [{"Name": REPLICATOR_NAME, "State": "RUNNING"}]
    assert listed["Replicators"][0]["ReplicatorArn"] == seeded.replicator_arn
    for region in (EAST, WEST):
        clusters = sim_client("kafka", region, url).list_clusters_v2()["ClusterInfoList"]
        assert [(c["ClusterName"], c["State"]) for c in clusters] == [
            (TOPOLOGY.region(region).msk_cluster, "ACTIVE")]


def test_eks_clusters_and_node_groups_sit_at_standby_scaling(url: str) -> None:
    for place in (TOPOLOGY.primary, TOPOLOGY.secondary):
        eks = sim_client("eks", place.region, url)
        assert eks.describe_cluster(name=place.eks_cluster)["cluster"]["status"] == "ACTIVE"
        scaling = eks.describe_nodegroup(clusterName=place.eks_cluster,
                                         nodegroupName=place.nodegroup)["nodegroup"][
            "scalingConfig"]
        expected = place.standby_scaling
        assert scaling == {"minSize": expected.min_size, "maxSize": expected.max_size,
                           "desiredSize": expected.desired_size}


def test_failover_pair_aliases_the_albs_read_from_elbv2(url: str, seeded: SeedResult) -> None:
    route53 = sim_client("route53", EAST, url)
    zones = route53.list_hosted_zones()
    zone_id = jmespath.search(
        f"HostedZones[?Name=='{TOPOLOGY.hosted_zone}'].Id", zones)[0]
    assert zone_id.endswith(seeded.hosted_zone_id)
    records = [r for r in route53.list_resource_record_sets(HostedZoneId=zone_id)[
        "ResourceRecordSets"] if r["Name"] == f"{TOPOLOGY.record_name}." and r["Type"] == "A"]
    by_role = {r["Failover"]: r for r in records}
    assert set(by_role) == {"PRIMARY", "SECONDARY"}
    for role, place in (("PRIMARY", TOPOLOGY.primary), ("SECONDARY", TOPOLOGY.secondary)):
        balancer = sim_client("elbv2", place.region, url).describe_load_balancers(
            Names=[place.alb_name])["LoadBalancers"][0]
        alias = by_role[role]["AliasTarget"]
        assert alias == {"HostedZoneId": balancer["CanonicalHostedZoneId"],
                         "DNSName": balancer["DNSName"], "EvaluateTargetHealth": True}
        assert by_role[role]["HealthCheckId"] == seeded.health_check_ids[place.region]
        assert seeded.alb_dns_names[place.region] == balancer["DNSName"]
        health_check = route53.get_health_check(
            HealthCheckId=seeded.health_check_ids[place.region])["HealthCheck"]
        config = health_check["HealthCheckConfig"]
        assert (config["Type"], config["ResourcePath"], config["FullyQualifiedDomainName"]) == (
            "HTTPS", TOPOLOGY.health_path, balancer["DNSName"])
        targets = sim_client("elbv2", place.region, url).describe_target_health(
            TargetGroupArn=seeded.regions[place.region].target_group_arn)[
            "TargetHealthDescriptions"]
        assert targets and {t["TargetHealth"]["State"] for t in targets} == {"healthy"}
    assert seeded.alb_hosted_zone_ids[EAST] != seeded.alb_hosted_zone_ids[WEST]


def test_metrics_are_published_with_full_dimensions_for_the_runbook_query(
    url: str, faults: FaultState, seeded: SeedResult
) -> None:
    faults.set_lag("dynamodb", 1.5)
    faults.set_lag("rds", 4.0)
    faults.set_lag("msk", 2.0)
    faults.set_endpoint(EAST, http_status=503)
    publisher = MetricPublisher(url, faults, TOPOLOGY, period_s=60)
    # ReplicationLatency exists only for items delivered: the first round's simulated
    # application writes (pods Ready) are delivered 1.5 s later, the next round publishes them.
    assert {p.region for p in publisher.publish_once()} == {EAST, WEST}
    wait_until("the simulated writes to be delivered", lambda: pending_deliveries() == 0,
               timeout_s=30)
    published = publisher.publish_once()
    assert {p.region for p in published} == {EAST, WEST}
    dynamo = _metric(url, EAST, "AWS/DynamoDB", "ReplicationLatency",
                     {"TableName": TOPOLOGY.dynamodb_table, "ReceivingRegion": WEST})
    assert dynamo and 1500.0 <= dynamo[-1]["Average"] < 1500.0 + 5000.0  # measured delay
    replica_lag = _metric(url, WEST, "AWS/RDS", "ReplicaLag",
                          {"DBInstanceIdentifier": TOPOLOGY.secondary.rds_instance})
    assert replica_lag and replica_lag[-1]["Average"] == 4.0
    msk = _metric(url, WEST, "AWS/Kafka", "ReplicationLatency",
                  {"ReplicatorName": REPLICATOR_NAME})
    assert msk and msk[-1]["Average"] == 2000.0
    alb_dimension = seeded.regions[EAST].alb_arn.split(":loadbalancer/")[1]
    assert alb_dimension.startswith(f"app/{TOPOLOGY.primary.alb_name}/")
    errors = _metric(url, EAST, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count",
                     {"LoadBalancer": alb_dimension})
    assert errors and errors[-1]["Average"] > 0
    faults.set_endpoint(EAST)


def test_a_region_in_outage_gets_no_metrics(url: str, faults: FaultState) -> None:
    faults.region_outage(EAST, "refuse")
    published = MetricPublisher(url, faults, TOPOLOGY, period_s=60).publish_once()
    assert published and {p.region for p in published} == {WEST}


def test_publisher_thread_stops_within_its_bound(url: str, faults: FaultState) -> None:
    publisher = MetricPublisher(url, faults, TOPOLOGY, period_s=0.05)
    publisher.start()
    publisher.stop()
    assert publisher._thread is None


def _seen_at_once(server: MotoServer, judge: Any) -> None:
    """Route 53's checkers adopt ``judge`` now (the delay is pinned in test_route53_health)."""
    server.runtime.health.set_region_healthy(judge)
    server.runtime.health.settle()


@pytest.fixture
def judge_restored(server: MotoServer) -> Iterator[None]:
    yield
    _seen_at_once(server, server.runtime.health._default_region_healthy)


@pytest.mark.usefixtures("judge_restored")
def test_dns_answer_follows_the_failover_pair(url: str, seeded: SeedResult,
                                              server: MotoServer) -> None:
    # an earlier test's outage may still be in the checkers' view (they recover only after
    # FailureThreshold polls): start from what the endpoints are now
    server.runtime.health.settle()
    healthy = answer_for(TOPOLOGY.record_name)
    assert (healthy.region, healthy.alb_dns_name) == (EAST, seeded.alb_dns_names[EAST])
    assert healthy.record_set_identifier == seeded.record_set_identifiers[EAST]
    _seen_at_once(server, lambda region: region != EAST)
    failed_over = answer_for(TOPOLOGY.record_name)
    assert (failed_over.region, failed_over.alb_dns_name) == (WEST, seeded.alb_dns_names[WEST])


@pytest.mark.usefixtures("judge_restored")
def test_dns_answer_splits_weighted_records_by_weight(url: str, seeded: SeedResult,
                                                      server: MotoServer) -> None:
    name = f"shift.{TOPOLOGY.hosted_zone}"
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": name, "Type": "A", "SetIdentifier": region, "Weight": weight,
        "AliasTarget": {"HostedZoneId": seeded.alb_hosted_zone_ids[region],
                        "DNSName": seeded.alb_dns_names[region], "EvaluateTargetHealth": True}}}
        for region, weight in ((EAST, 10), (WEST, 90))]
    sim_client("route53", EAST, url).change_resource_record_sets(
        HostedZoneId=seeded.hosted_zone_id, ChangeBatch={"Changes": changes})
    rng = random.Random(7)
    answers = [answer_for(name, rng=rng).region for _ in range(2000)]
    east_share = answers.count(EAST) / len(answers)
    assert 0.07 < east_share < 0.13
    _seen_at_once(server, lambda region: region != WEST)
    assert {answer_for(name, rng=rng).region for _ in range(20)} == {EAST}


def test_health_checks_map_to_the_region_of_their_alb(server: MotoServer,
                                                      seeded: SeedResult) -> None:
    for region, health_check_id in seeded.health_check_ids.items():
        fqdn = seeded.alb_dns_names[region]
        assert server.runtime.health.region_of(health_check_id, fqdn) == region
