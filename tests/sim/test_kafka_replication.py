"""The simulated MSK Replicator between two simulated brokers, through a real Kafka client.

The fleet runs without moto here: the replications are given as ``ReplicationSpec``s and the
copy is driven one round at a time (``copy_once``), so what each fault stops is exact; the
last test runs the replicator's own thread. The wiring to the simulated MSK API is in
tests/sim/test_kafka_data_plane.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

pytest.importorskip("nafka", reason="the 'sim' extra (nafka) is not installed")

from maip_cli_helpers import wait_until
from test_kafka_broker import consume, produce, refused

from maip_drlib.config import Topology
from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.kafka.fleet import KafkaFleet
from maip_drlib.sim.kafka.replication_spec import (
    IDENTICAL,
    MSKMR_HEADER,
    ReplicationSpec,
)

pytestmark = pytest.mark.sim

TOPOLOGY = Topology()
PRIMARY, DR = TOPOLOGY.primary, TOPOLOGY.secondary
ACCOUNT = "123456789012"
SOURCE_ARN = f"arn:aws:kafka:{PRIMARY.region}:{ACCOUNT}:cluster/{PRIMARY.msk_cluster}/a-1"
TARGET_ARN = f"arn:aws:kafka:{DR.region}:{ACCOUNT}:cluster/{DR.msk_cluster}/b-2"
ALIAS = "primary-alias"
SPEC = ReplicationSpec(replicator_name="test-replicator", state="RUNNING",
                       source_cluster_arn=SOURCE_ARN, target_cluster_arn=TARGET_ARN,
                       source_alias=ALIAS, topics_to_replicate=(".*",),
                       topics_to_exclude=("private.*",))
N = 25


class Setup:
    def __init__(self) -> None:
        self.faults = FaultState((PRIMARY.region, DR.region))
        self.faults.set_lag("msk", 0)  # the default (0.5 s) would make a round copy nothing
        self.specs = [SPEC]
        self.fleet = KafkaFleet(TOPOLOGY, self.faults, specs=lambda: list(self.specs),
                                cluster_name_of=lambda arn: arn.split("/")[1])
        self.primary = self.fleet.brokers[PRIMARY.region]
        self.dr = self.fleet.brokers[DR.region]

    def copy(self) -> int:
        return self.fleet.replicator.copy_once()


@pytest.fixture
def setup() -> Iterator[Setup]:
    made = Setup()
    for broker in made.fleet.brokers.values():
        broker.start()  # the replicator's thread is not started: the tests drive the rounds
    try:
        yield made
    finally:
        made.fleet.stop()


def test_the_records_reach_the_prefixed_topic_with_the_mskmr_header(setup: Setup) -> None:
    produce(setup.primary.address, "orders", N)
    produce(setup.primary.address, "private-audit", 3)
    assert setup.copy() == N
    got = consume(setup.dr.address, f"{ALIAS}.orders", N)
    assert [m.value for m in got] == [f"m{n}".encode() for n in range(N)]
    assert all(m.headers == [("origin", b"test"), (MSKMR_HEADER, ALIAS.encode())] for m in got)
    assert setup.dr.end_offsets() == {f"{ALIAS}.orders": N}  # excluded topic not copied
    assert setup.copy() == 0  # nothing copied twice
    assert setup.fleet.bootstrap(SOURCE_ARN) == setup.primary.address
    assert setup.fleet.bootstrap(TARGET_ARN) == setup.dr.address
    assert setup.fleet.bootstrap(SOURCE_ARN.replace(PRIMARY.msk_cluster, "other")) is None


def test_identical_names_keep_the_topic(setup: Setup) -> None:
    setup.specs = [replace(SPEC, name_mode=IDENTICAL)]
    produce(setup.primary.address, "orders", 4)
    assert setup.copy() == 4
    assert setup.dr.end_offsets() == {"orders": 4}


def test_a_replicator_not_running_or_cut_copies_nothing_then_resumes(setup: Setup) -> None:
    produce(setup.primary.address, "orders", N)
    setup.specs = [replace(SPEC, state="FAILED")]
    assert setup.copy() == 0
    setup.specs = [SPEC]
    setup.faults.set_replication_cut(True)
    assert setup.copy() == 0
    assert setup.dr.end_offsets() == {}
    figures = setup.fleet.take_figures(SPEC.replicator_name)
    assert figures is not None and figures.message_lag == N and figures.copied_total == 0
    setup.faults.set_replication_cut(False)
    assert setup.copy() == N
    assert setup.dr.end_offsets() == {f"{ALIAS}.orders": N}


def test_the_msk_lag_fault_holds_records_back_and_the_figures_show_what_was_copied(
        setup: Setup) -> None:
    setup.faults.set_lag("msk", 3600)
    produce(setup.primary.address, "orders", N)
    assert setup.copy() == 0
    waiting = setup.fleet.take_figures(SPEC.replicator_name)
    assert waiting is not None
    assert (waiting.message_lag, waiting.copied_total) == (N, 0)
    assert waiting.replication_latency_ms >= 0.0  # the age of the oldest record waiting
    setup.faults.set_lag("msk", 0)
    assert setup.copy() == N
    copied = setup.fleet.take_figures(SPEC.replicator_name)
    assert copied is not None
    assert (copied.message_lag, copied.copied_total) == (N - N, N)
    assert copied.replication_latency_ms >= waiting.replication_latency_ms
    assert setup.fleet.take_figures("no-such-replicator") is None


def test_an_outage_stops_the_primary_broker_and_the_copy(setup: Setup) -> None:
    produce(setup.primary.address, "orders", 5)
    address = setup.primary.address
    setup.fleet.follow(setup.faults.region_outage(PRIMARY.region))
    assert refused(address)
    assert setup.copy() == 0
    assert setup.fleet.status()["brokers"][PRIMARY.region]["running"] is False
    setup.fleet.follow(setup.faults.restore_region(PRIMARY.region))
    assert setup.primary.running
    assert setup.copy() == 5  # the restored broker kept its log


def test_the_replicator_thread_copies_as_records_arrive() -> None:
    made = Setup()
    made.faults.set_lag("msk", 0.5)  # the simulation's default lag
    made.fleet.replicator.period_s = 0.05
    made.fleet.start()
    try:
        produce(made.primary.address, "orders", N)
        wait_until("the replicated topic", lambda: made.dr.end_offsets().get(
            f"{ALIAS}.orders") == N, timeout_s=30)
    finally:
        made.fleet.stop()
    assert not made.primary.running and not made.dr.running
