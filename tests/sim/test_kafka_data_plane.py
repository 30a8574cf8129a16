"""The simulated Kafka of the data plane, through the simulated MSK API and a Kafka client:
``get-bootstrap-brokers`` gives each cluster's broker, the seeded replicator copies to the
prefixed topic, stops while not RUNNING, and a region outage stops the primary's broker.
A simulation without the data plane never loads the broker.

ONE module-scoped Simulation with ``data_plane=True``; the tests run in file order.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("nafka", reason="the 'sim' extra (nafka) is not installed")

from kafka_data_plane import data_plane_simulation
from maip_cli_helpers import wait_until
from test_kafka_broker import consume, produce, refused

from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.kafka.replication_spec import MSKMR_HEADER
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim


def test_without_the_data_plane_no_broker_is_loaded() -> None:
    # Start-up cost: the patches and the simulation modules must not import the broker.
    code = ("import sys\n"
            "from maip_drlib.sim.aws.patches import apply_all\n"
            "import maip_drlib.sim.simulation, maip_drlib.sim.data_plane\n"
            "apply_all()\n"
            "print(sorted(m for m in ('nafka', 'kafka') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    yield from data_plane_simulation()


def _bootstrap(simulation: Simulation, region: str, cluster: str) -> str:
    kafka = sim_client("kafka", region, simulation.aws_endpoint_url)
    [arn] = [info["ClusterArn"] for info in kafka.list_clusters_v2()["ClusterInfoList"]
             if info["ClusterName"] == cluster]
    return str(kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


def _replicator(simulation: Simulation) -> dict:
    kafka = sim_client("kafka", simulation.topology.secondary.region,
                       simulation.aws_endpoint_url)
    [summary] = kafka.list_replicators()["Replicators"]
    return dict(kafka.describe_replicator(ReplicatorArn=summary["ReplicatorArn"]))


def _addresses(simulation: Simulation) -> tuple[str, str]:
    primary, dr = simulation.topology.primary, simulation.topology.secondary
    return (_bootstrap(simulation, primary.region, primary.msk_cluster),
            _bootstrap(simulation, dr.region, dr.msk_cluster))


def test_bootstrap_brokers_are_the_simulated_brokers(simulation: Simulation) -> None:
    primary, dr = _addresses(simulation)
    brokers = simulation.status()["data_plane"]["kafka"]["brokers"]
    assert primary == brokers[simulation.topology.primary.region]["address"]
    assert dr == brokers[simulation.topology.secondary.region]["address"]
    assert primary != dr and primary.startswith("127.0.0.1:")


def test_the_replicator_copies_to_the_prefixed_topic(simulation: Simulation) -> None:
    primary, dr = _addresses(simulation)
    info = _replicator(simulation)["ReplicationInfoList"][0]
    topic = f"{info['SourceKafkaClusterAlias']}.orders"
    produce(primary, "orders", 10)
    got = consume(dr, topic, 10)
    assert [m.value for m in got] == [f"m{n}".encode() for n in range(10)]
    assert all(dict(m.headers).get(MSKMR_HEADER) for m in got)


def _message_lag(simulation: Simulation, name: str) -> set[float]:
    """The MessageLag values published in the last hour for replicator ``name``, per second
    (one publishing round at most in each: a minute's maximum would hide a value behind a
    higher one published earlier in the same minute by another test of the module)."""
    now = datetime.now(UTC)
    points = sim_client("cloudwatch", simulation.topology.secondary.region,
                        simulation.aws_endpoint_url).get_metric_statistics(
        Namespace="AWS/Kafka", MetricName="MessageLag",
        Dimensions=[{"Name": "ReplicatorName", "Value": name}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1), Period=1,
        Statistics=["Maximum"])["Datapoints"]
    return {float(point["Maximum"]) for point in points}


def test_a_replicator_not_running_copies_nothing(simulation: Simulation) -> None:
    primary, _ = _addresses(simulation)
    fleet = simulation.data_plane.kafka  # type: ignore[union-attr]
    name = _replicator(simulation)["ReplicatorName"]
    replicated = fleet.brokers[simulation.topology.secondary.region]
    before = replicated.end_offsets()
    simulation.faults.set_replicator_state("FAILED")
    try:
        produce(primary, "orders", 5, start=10)
        wait_until("the replicator to see 5 records waiting",
                   lambda: (fleet.take_figures(name) or None) and
                   fleet.take_figures(name).message_lag == 5, timeout_s=30)
        assert replicated.end_offsets() == before
        # CloudWatch's MessageLag is what the simulated replicator has waiting.
        wait_until("AWS/Kafka MessageLag of 5 in CloudWatch",
                   lambda: 5.0 in _message_lag(simulation, name), timeout_s=60)
    finally:
        simulation.faults.set_replicator_state("RUNNING")
    wait_until("the copy to resume", lambda: fleet.take_figures(name).message_lag == 0,
               timeout_s=30)


def test_an_outage_stops_the_primary_broker(simulation: Simulation) -> None:
    primary, _ = _addresses(simulation)
    region = simulation.topology.primary.region
    simulation.faults.region_outage(region)
    try:
        assert refused(primary)
    finally:
        simulation.faults.restore_region(region)
    wait_until("the primary broker back", lambda: not refused(primary), timeout_s=30)
