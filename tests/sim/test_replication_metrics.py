"""The simulation publishes replication metrics only when AWS would (``sim/aws/metrics``).

- DynamoDB ``ReplicationLatency``: only for items delivered since the last round, with their
  measured delay; no write, no datapoint; none toward a region in outage (the write waits
  there, as DynamoDB holds it). Before issue 14 it was published every round in both
  directions from the lag fault, whether anything was written or not.
- RDS ``ReplicaLag`` through the publisher: grows while the source region's application is
  idle, -1 under ``replication-cut`` or a source region in outage.

One moto server and seed for the module (time scale 60: a simulated second is a real one).
The publisher's own simulated traffic is off (``writes_stopped`` true) unless a test says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from maip_cli_helpers import wait_until

from maip_drlib.config import Topology
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.metrics import Datapoint, MetricPublisher
from maip_drlib.sim.aws.patches.dynamodb_item_replication import (
    pending_deliveries,
    take_deliveries,
)
from maip_drlib.sim.aws.seed import DYNAMODB_HASH_KEY, DYNAMODB_RANGE_KEY, seed_topology
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

TOPOLOGY = Topology()
EAST, WEST = TOPOLOGY.primary.region, TOPOLOGY.secondary.region
TABLE = TOPOLOGY.dynamodb_table
REPLICA = TOPOLOGY.secondary.rds_instance


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState((EAST, WEST))


@pytest.fixture(scope="module")
def url(faults: FaultState) -> Iterator[str]:
    server = MotoServer(faults, SimClock(time_scale=60.0))
    server.start()
    assert server.endpoint_url is not None
    seed_topology(server.endpoint_url, TOPOLOGY)
    yield server.endpoint_url
    server.stop()


class Traffic:
    """Whether each region's simulated application writes (the publisher's callback)."""

    def __init__(self) -> None:
        self.idle: set[str] = {EAST, WEST}

    def __call__(self, region: str) -> bool:
        return region in self.idle


@pytest.fixture
def publisher(url: str, faults: FaultState) -> Iterator[tuple[MetricPublisher, Traffic]]:
    traffic = Traffic()
    wait_until("earlier deliveries to land", lambda: pending_deliveries() == 0, timeout_s=30)
    take_deliveries()  # deliveries of earlier tests are not this test's
    yield MetricPublisher(url, faults, TOPOLOGY, period_s=60, writes_stopped=traffic), traffic
    faults.set_replication_cut(False)
    faults.set_lag("dynamodb", 0.5)
    for region in (EAST, WEST):
        faults.restore_region(region)


def _latency(points: list[Datapoint], sender: str, receiver: str) -> list[float]:
    return [p.value for p in points if p.region == sender and p.metric_name == "ReplicationLatency"
            and p.namespace == "AWS/DynamoDB"
            and p.dimensions == (("TableName", TABLE), ("ReceivingRegion", receiver))]


def _replica_lag(points: list[Datapoint]) -> list[float]:
    return [p.value for p in points if p.metric_name == "ReplicaLag" and p.region == WEST
            and p.dimensions == (("DBInstanceIdentifier", REPLICA),)]


def _put(url: str, region: str, key: str) -> None:
    sim_client("dynamodb", region, url).put_item(
        TableName=TABLE, Item={DYNAMODB_HASH_KEY: {"S": key}, DYNAMODB_RANGE_KEY: {"S": "t"}})


def test_no_write_no_replication_latency(publisher: tuple[MetricPublisher, Traffic]) -> None:
    published = publisher[0].publish_once()
    assert {p.region for p in published} == {EAST, WEST}  # the round ran in both regions
    assert _latency(published, EAST, WEST) == [] and _latency(published, WEST, EAST) == []


def test_a_delivery_is_published_once_with_its_delay(
        publisher: tuple[MetricPublisher, Traffic], faults: FaultState, url: str) -> None:
    metrics, _ = publisher
    faults.set_lag("dynamodb", 1.5)
    _put(url, EAST, "metrics-test#delivery")
    wait_until("the item to reach us-west-2", lambda: pending_deliveries() == 0, timeout_s=30)
    published = metrics.publish_once()
    [delay_ms] = _latency(published, EAST, WEST)
    assert 1500.0 <= delay_ms < 1500.0 + 5000.0  # the measured delay, at least the lag
    assert _latency(published, WEST, EAST) == []  # nothing was written in us-west-2
    stored = sim_client("cloudwatch", EAST, url).get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName="ReplicationLatency",
        Dimensions=[{"Name": "TableName", "Value": TABLE},
                    {"Name": "ReceivingRegion", "Value": WEST}],
        StartTime=_minutes_ago(5), EndTime=_minutes_ago(-1), Period=60,
        Statistics=["Maximum"])["Datapoints"]
    assert stored and max(p["Maximum"] for p in stored) == delay_ms
    assert _latency(metrics.publish_once(), EAST, WEST) == []  # published once, then none


def test_the_simulated_application_writes_while_its_pods_are_ready(
        publisher: tuple[MetricPublisher, Traffic]) -> None:
    metrics, traffic = publisher
    traffic.idle.discard(EAST)  # us-east-1's services serve: they write every round
    metrics.publish_once()
    wait_until("the simulated traffic to reach us-west-2", lambda: pending_deliveries() == 0,
               timeout_s=30)
    assert _latency(metrics.publish_once(), EAST, WEST)


def test_no_replication_latency_toward_a_region_in_outage(
        publisher: tuple[MetricPublisher, Traffic], faults: FaultState, url: str) -> None:
    metrics, _ = publisher
    faults.set_lag("dynamodb", 0.0)
    _put(url, WEST, "metrics-test#delivered-then-outage")
    wait_until("the item to reach us-east-1", lambda: pending_deliveries() == 0, timeout_s=30)
    faults.region_outage(EAST)  # delivered, but the receiver is down when the round runs
    assert _latency(metrics.publish_once(), WEST, EAST) == []
    _put(url, WEST, "metrics-test#held")  # written during the outage: held in us-west-2
    assert pending_deliveries() == 1
    assert _latency(metrics.publish_once(), WEST, EAST) == []
    faults.restore_region(EAST)
    wait_until("the held item to reach us-east-1", lambda: pending_deliveries() == 0,
               timeout_s=30)
    assert _latency(metrics.publish_once(), WEST, EAST)  # delivered after the outage


def test_replica_lag_grows_while_the_source_is_idle(
        publisher: tuple[MetricPublisher, Traffic], faults: FaultState) -> None:
    metrics, traffic = publisher
    faults.set_lag("rds", 0.0)
    traffic.idle.discard(EAST)
    assert _replica_lag(metrics.publish_once()) == [0.0]  # writes flow: the lag fault
    traffic.idle.add(EAST)
    metrics.publish_once()  # idle from here
    grown = wait_until("ReplicaLag of an idle source to climb past 0.5 s",
                       lambda: [v for v in _replica_lag(metrics.publish_once()) if v > 0.5],
                       timeout_s=15)
    assert grown  # it read 0.0 while writes were stopped before issue 14


def test_replica_lag_reads_minus_one_when_not_replicating(
        publisher: tuple[MetricPublisher, Traffic], faults: FaultState) -> None:
    metrics, _ = publisher
    faults.set_replication_cut(True)
    assert _replica_lag(metrics.publish_once()) == [-1.0]
    faults.set_replication_cut(False)
    faults.region_outage(EAST)  # the replica's region answers; its source is down
    assert _replica_lag(metrics.publish_once()) == [-1.0]


def _minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
