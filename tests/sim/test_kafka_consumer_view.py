"""The consumers' view in DR against the simulation's data plane: the simulated replicator
syncs the seeded business group's offsets to DR, translated to the target's offsets, only for
copied records, never while cut, not for a group active in DR, not when the described
replicator does not sync; failover 5's check (``drill.kafka_consumers``, read-only) passes,
fails and reads "not measured" with one line naming group, topic and region.

ONE module-scoped Simulation with ``data_plane=True``; each test restores what it changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("nafka", reason="the 'sim' extra (nafka) is not installed")

from kafka_data_plane import data_plane_simulation
from maip_cli_helpers import wait_until

from maip_drlib.drill import kafka_consumers
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.sim.kafka import business
from maip_drlib.sim.kafka.broker import SimKafkaBroker
from maip_drlib.sim.kafka.nafka_compat import CompatBroker, StoredRecord
from maip_drlib.sim.simulation import Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    yield from data_plane_simulation()


@pytest.fixture
def handles(simulation: Simulation) -> Iterator[RegionHandles]:
    # Closed: failover 5's check is read-only, any AWS write would be refused.
    built = build_region_handles(simulation.target(), simulation.topology,
                                 writes=WriteGate.closed())
    try:
        yield built
    finally:
        built.close()


def _fleet(simulation: Simulation) -> Any:
    return simulation.data_plane.kafka  # type: ignore[union-attr]


def _brokers(simulation: Simulation) -> tuple[SimKafkaBroker, SimKafkaBroker]:
    brokers = _fleet(simulation).brokers
    return (brokers[simulation.topology.primary.region],
            brokers[simulation.topology.secondary.region])


def _alias(simulation: Simulation) -> str:
    [spec] = _fleet(simulation).replicator._specs()
    return str(spec.source_alias)


def _committed(broker: SimKafkaBroker, group: str, topic: str) -> int:
    return int(broker.call(lambda b: b.store.get_consumer_offset(group, topic)))


def _commit(broker: SimKafkaBroker, group: str, topic: str, offset: int) -> None:
    broker.call(lambda b: b.store.commit_consumer_offset(group, topic, offset))


def _records(count: int, start: int = 0) -> list[StoredRecord]:
    return [StoredRecord(offset=n, timestamp=0, key=b"k", value=f"v{start + n}".encode())
            for n in range(count)]


def _ctx(simulation: Simulation, handles: RegionHandles, **topology: str) -> DrillContext:
    return DrillContext(handles=handles,
                        topology=dataclasses.replace(simulation.topology, **topology),
                        target=simulation.target(), resolver=None)  # type: ignore[arg-type]


def test_the_seeded_group_is_synced_to_the_prefixed_topic(simulation: Simulation) -> None:
    primary, dr = _brokers(simulation)
    topology = simulation.topology
    replicated = f"{_alias(simulation)}.{topology.business_topic}"
    assert primary.end_offsets()[topology.business_topic] == business.RECORDS
    assert _committed(primary, topology.consumer_group, topology.business_topic) == \
        business.COMMITTED
    wait_until("the business group's offset synced to DR",
               lambda: _committed(dr, topology.consumer_group, replicated)
               == business.COMMITTED, timeout_s=30)
    assert dr.end_offsets()[replicated] == business.RECORDS


def test_offsets_are_translated_to_the_target_log(simulation: Simulation) -> None:
    primary, dr = _brokers(simulation)
    replicated = f"{_alias(simulation)}.refunds"
    dr.append(replicated, _records(5))  # DR's copy held records of its own: offsets diverge
    primary.append("refunds", _records(10))
    _commit(primary, "refunds-svc", "refunds", 3)
    wait_until("refunds-svc synced to DR",
               lambda: _committed(dr, "refunds-svc", replicated) == 8, timeout_s=30)
    _commit(primary, "refunds-svc", "refunds", 10)  # everything read: DR's end
    wait_until("refunds-svc at DR's end",
               lambda: _committed(dr, "refunds-svc", replicated) == 15, timeout_s=30)


def test_a_cut_replicator_leaves_the_offsets_behind(simulation: Simulation) -> None:
    primary, dr = _brokers(simulation)
    replicated = f"{_alias(simulation)}.refunds"
    wait_until("refunds-svc at DR's end",
               lambda: _committed(dr, "refunds-svc", replicated) == 15, timeout_s=30)
    simulation.faults.set_replication_cut(True)
    try:
        primary.append("refunds", _records(4, start=10))
        _commit(primary, "refunds-svc", "refunds", 12)
        _fleet(simulation).replicator.copy_once()  # a whole round after the commit
        assert _committed(dr, "refunds-svc", replicated) == 15
    finally:
        simulation.faults.set_replication_cut(False)
    # Synced only once the records before it are copied: 15 + (12 - 10).
    wait_until("refunds-svc synced after the cut",
               lambda: _committed(dr, "refunds-svc", replicated) == 17, timeout_s=30)


def test_a_group_consuming_in_dr_is_not_overwritten(simulation: Simulation) -> None:
    primary, dr = _brokers(simulation)
    replicated = f"{_alias(simulation)}.refunds"

    def join(broker: CompatBroker, member: bool) -> None:
        from nafka.server import ConsumerGroup

        group = broker.consumer_groups.setdefault("refunds-svc", ConsumerGroup())
        group.members = {"m-1": {replicated: [0]}} if member else {}

    dr.call(lambda b: join(b, True))
    try:
        _commit(primary, "refunds-svc", "refunds", 14)
        _fleet(simulation).replicator.copy_once()
        assert _committed(dr, "refunds-svc", replicated) == 17
    finally:
        dr.call(lambda b: join(b, False))
    wait_until("refunds-svc synced once inactive in DR",
               lambda: _committed(dr, "refunds-svc", replicated) == 19, timeout_s=30)


def test_failover_5_check_passes_and_names_the_topic_change(
        simulation: Simulation, handles: RegionHandles) -> None:
    topology = simulation.topology
    alias = _alias(simulation)
    wait_until("the business group in DR", lambda: _committed(
        _brokers(simulation)[1], topology.consumer_group,
        f"{alias}.{topology.business_topic}") >= 0, timeout_s=30)
    verdict = kafka_consumers.check_consumers_in_dr(_ctx(simulation, handles))
    assert verdict.measured
    assert (f"a consumer of payments-processor in DR resumes {alias}.payments" in
            verdict.detail)
    assert f"p0 {business.COMMITTED}/{business.RECORDS}" in verdict.detail
    assert f"consumers in DR read {alias}.payments, not payments" in verdict.detail


def test_failover_5_check_fails_when_the_cut_came_before_any_sync(
        simulation: Simulation, handles: RegionHandles) -> None:
    primary, _ = _brokers(simulation)
    simulation.faults.set_replication_cut(True)
    try:  # the group commits on the primary, the replicator is cut: DR never gets it
        _commit(primary, "late-group", simulation.topology.business_topic, 5)
        _fleet(simulation).replicator.copy_once()
        with pytest.raises(CheckFailed) as caught:
            kafka_consumers.check_consumers_in_dr(
                _ctx(simulation, handles, consumer_group="late-group"))
    finally:
        simulation.faults.set_replication_cut(False)
    message = str(caught.value)
    assert message.startswith(f"consumer group late-group on {_alias(simulation)}"
                              ".payments in us-west-2: no committed offset synced to DR")
    assert "\n" not in message


def _sync_flag(simulation: Simulation, value: bool) -> None:
    """The described replicator's SynchroniseConsumerGroupOffsets (the simulated MSK API)."""
    from moto.backends import get_backend

    backend = get_backend("kafka")["123456789012"][simulation.topology.secondary.region]
    for item in backend.maip_replicators.values():
        for info in item["ReplicationInfoList"]:
            info["ConsumerGroupReplication"]["SynchroniseConsumerGroupOffsets"] = value


def test_failover_5_check_fails_when_offsets_are_not_synced(
        simulation: Simulation, handles: RegionHandles) -> None:
    primary, dr = _brokers(simulation)
    replicated = f"{_alias(simulation)}.refunds"
    _sync_flag(simulation, False)
    try:
        _commit(primary, "refunds-svc", "refunds", 10)
        _fleet(simulation).replicator.copy_once()
        assert _committed(dr, "refunds-svc", replicated) == 19  # not synced
        with pytest.raises(CheckFailed) as caught:
            kafka_consumers.check_consumers_in_dr(_ctx(simulation, handles))
    finally:
        _sync_flag(simulation, True)
    message = str(caught.value)
    assert "consumer group payments-processor on" in message and "us-west-2" in message
    assert "SynchroniseConsumerGroupOffsets false" in message and "\n" not in message


def test_failover_5_check_without_kafka_access_is_not_measured(
        simulation: Simulation, handles: RegionHandles) -> None:
    ctx = _ctx(simulation, handles)
    ctx.target = dataclasses.replace(simulation.target(), kind="live", kafka=None)
    verdict = kafka_consumers.check_consumers_in_dr(ctx)
    assert not verdict.measured
    assert verdict.detail.startswith("consumers in DR: not measured: target ")
    assert "[targets." in verdict.detail and "\n" not in verdict.detail
    [decision] = ctx.decisions.entries
    assert decision.stage == "failover 5" and decision.decision == \
        "consumers in DR not measured"
