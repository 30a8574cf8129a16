"""Measured MSK RPO against the simulation's data plane (simulated brokers and replicator).

Canaries are produced through the Kafka protocol to the canary topic on the primary cluster
(brokers from ``get-bootstrap-brokers``), read in DR on the topic the replicator copies it to
(``<alias>.<topic>``, from ``describe-replicator``), and measured as DynamoDB and RDS are:
the ``msk`` lag fault gives a matching loss window, a cut replicator loses every canary (the
RPO check then fails), the write gate refuses canaries without consent, and the game day's
helpers (``drill/msk_canaries.py``) hand the canaries to ``rpo_check`` through the attempt.
Readiness (``readiness_kafka``, read-only) shows the replicator's naming and compares the
canary topic's records on both sides by ListOffsets.

ONE module-scoped Simulation with ``data_plane=True``; the tests run in file order (readiness
before any canary first), each restores what it changed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("nafka", reason="the 'sim' extra (nafka) is not installed")

from kafka_data_plane import data_plane_simulation
from maip_cli_helpers import wait_until

from maip_drlib import readiness_kafka
from maip_drlib.drill import msk_canaries, rpo_check
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed, GuardRefused
from maip_drlib.readiness_base import NotChecked, ReadinessInputs, Thresholds
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.rpo import wait_and_measure
from maip_drlib.rpo.msk import MskCanaryStore, MskCanaryWriter, msk_store
from maip_drlib.sim.simulation import Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

INTERVAL_S = 0.1
TTL_S = 3600.0
LAG_S = 2.0


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    yield from data_plane_simulation()


@pytest.fixture
def handles(simulation: Simulation) -> Iterator[RegionHandles]:
    built = build_region_handles(simulation.target(), simulation.topology,
                                 writes=WriteGate.consented(target="embedded"))
    try:
        yield built
    finally:
        built.close()


def _inputs(simulation: Simulation, handles: RegionHandles) -> ReadinessInputs:
    return ReadinessInputs(handles, simulation.topology, simulation.target(), None,
                           Thresholds.from_gherkin())


def _alias(simulation: Simulation, handles: RegionHandles) -> str:
    store = _store(simulation)
    return store.replicated_topic(handles.secondary).split(".", 1)[0]


def test_readiness_shows_the_naming_and_never_writes(simulation: Simulation,
                                                     handles: RegionHandles) -> None:
    inputs = _inputs(simulation, handles)
    alias = _alias(simulation, handles)
    detail = readiness_kafka.msk_replicator_naming(inputs).require().render()
    assert "PREFIXED_WITH_SOURCE_CLUSTER_ALIAS" in detail and f"alias {alias!r}" in detail
    assert f"reads as {alias}.maip-dr-canaries in DR" in detail
    with pytest.raises(NotChecked, match="no canary topic maip-dr-canaries on maip-prod-kafka"):
        readiness_kafka.msk_canary_offsets(inputs)
    for broker in simulation.data_plane.kafka.brokers.values():  # type: ignore[union-attr]
        assert not any("canaries" in topic for topic in broker.end_offsets())


def _store(simulation: Simulation) -> MskCanaryStore:
    return msk_store(simulation.topology, simulation.target())


def _outage(simulation: Simulation, writer: MskCanaryWriter) -> None:
    """The primary region goes: its broker stops, the writer stops at its first failed write."""
    simulation.faults.region_outage(simulation.topology.primary.region)
    assert writer.wait_stopped(15), "the MSK canary writer did not notice the outage"
    assert (writer.stopped_reason or "").startswith("write failed")
    assert writer.failure is not None and "maip-prod-kafka" in writer.failure.error
    assert writer.stop()


@pytest.fixture
def restore(simulation: Simulation) -> Iterator[None]:
    yield
    simulation.faults.restore_region(simulation.topology.primary.region)
    simulation.faults.set_replication_cut(False)
    simulation.faults.set_lag("msk", 0)


def _write_for(writer: MskCanaryWriter, count: int) -> None:
    wait_until(f"{count} MSK canaries acknowledged",
               lambda: len(writer.acknowledged) >= count, timeout_s=60)


def test_the_msk_lag_gives_a_matching_loss_window(simulation: Simulation,
                                                  handles: RegionHandles,
                                                  restore: None) -> None:
    simulation.faults.set_lag("msk", LAG_S)
    store = _store(simulation)
    drill = f"lag-{uuid.uuid4().hex[:8]}"
    writer = store.writer(handles.primary, drill, interval_s=INTERVAL_S, ttl_s=TTL_S).start()
    # Written for longer than the lag, so the older canaries reach DR.
    _write_for(writer, int((2 * LAG_S + 1) / INTERVAL_S))
    _outage(simulation, writer)
    measured = wait_and_measure(store, handles.secondary, drill, writer.acknowledged,
                                interval_s=INTERVAL_S, settle_s=1.0)
    alias = store.naming.source_alias if store.naming else ""
    assert store._dr is not None and store._dr[1] == f"{alias}.maip-dr-canaries"
    assert measured.store == "msk" and measured.measured and measured.found > 0
    assert measured.rpo_s is not None and LAG_S - 0.5 <= measured.rpo_s <= LAG_S + 1.0
    assert measured.lost >= int((LAG_S - 0.5) / INTERVAL_S)
    assert measured.lost == measured.acknowledged - measured.found
    assert rpo_check.assert_within(measured, 5.0).startswith("msk RPO")
    print(f"msk lag {LAG_S} s: RPO {measured.rpo_s} s, {measured.lost} lost")


def test_a_cut_replicator_loses_every_canary_and_fails_the_rpo(
        simulation: Simulation, handles: RegionHandles, restore: None) -> None:
    simulation.faults.set_replication_cut(True)
    store = _store(simulation)
    drill = f"cut-{uuid.uuid4().hex[:8]}"
    writer = store.writer(handles.primary, drill, interval_s=INTERVAL_S, ttl_s=TTL_S).start()
    _write_for(writer, 10)
    _outage(simulation, writer)
    measured = wait_and_measure(store, handles.secondary, drill, writer.acknowledged,
                                interval_s=INTERVAL_S, settle_s=1.0)
    assert measured.found == 0 and measured.lost == measured.acknowledged >= 10
    assert rpo_check.lower_bound_only(measured)
    with pytest.raises(CheckFailed, match="no acknowledged canary reached DR"):
        rpo_check.assert_within(measured, 5.0)


def test_canaries_are_refused_without_consent(simulation: Simulation) -> None:
    broker = simulation.data_plane.kafka.brokers[  # type: ignore[union-attr]
        simulation.topology.primary.region]
    before = broker.end_offsets().get("maip-dr-canaries", 0)
    closed = build_region_handles(simulation.target(), simulation.topology)
    try:
        writer = _store(simulation).writer(closed.primary, "refused", interval_s=INTERVAL_S,
                                           ttl_s=TTL_S)
        with pytest.raises(GuardRefused, match="kafka:Produce"):
            writer.start()
        assert not writer.running and writer.acknowledged == []
    finally:
        closed.close()
    assert broker.end_offsets().get("maip-dr-canaries", 0) == before  # nothing produced


def test_the_game_day_helpers_hand_the_canaries_to_the_rpo_check(
        simulation: Simulation, handles: RegionHandles, tmp_path: Path,
        restore: None) -> None:
    attempt = tmp_path / "drill" / "attempt-1"
    attempt.mkdir(parents=True)
    journal: list[dict] = []
    echoed: list[str] = []
    plan = SimpleNamespace(
        target=simulation.target(), topology=simulation.topology, control=None,
        canary_window_s=1.0, outage_injected=True, echo=echoed.append,
        attempt=SimpleNamespace(path=attempt, drill_id=f"gd-{uuid.uuid4().hex[:8]}"))
    recorder = SimpleNamespace(record=lambda kind, **fields: journal.append(
        {"kind": kind, **fields}))
    writer = msk_canaries.start_msk_canaries(plan, recorder)
    assert writer is not None and journal[-1]["event"] == "started"
    msk_canaries.await_msk_window(writer)
    assert len(writer.acknowledged) >= 5
    simulation.faults.region_outage(simulation.topology.primary.region)
    msk_canaries.finish_msk_canaries(plan, recorder, writer)
    document = json.loads((attempt / msk_canaries.MSK_CANARIES_FILE).read_text())
    assert len(document["acknowledged"]) >= 5 and document["stopped_reason"].startswith(
        "write failed")

    ctx = DrillContext(handles=handles, topology=simulation.topology,
                       target=simulation.target(), resolver=None)  # type: ignore[arg-type]
    measured = rpo_check.measure_from_canaries(ctx, attempt, store="msk", settle_s=1.0)
    assert measured.store == "msk" and measured.measured
    rpo_check.record(attempt, measured, 5.0)
    rows = {row["store"]: row for row in json.loads((attempt / "rpo.json").read_text())["rpo"]}
    assert rows["msk"]["status"] == "measured" and rows["msk"]["target_s"] == 5.0


def test_readiness_compares_the_canary_offsets(simulation: Simulation, handles: RegionHandles,
                                               restore: None) -> None:
    inputs = _inputs(simulation, handles)
    # Earlier tests wrote canaries; once the replicator caught up, DR holds every one.
    wait_until("the replicated canary topic to catch up", lambda: _offsets_pass(inputs),
               timeout_s=60)
    detail = readiness_kafka.msk_canary_offsets(inputs).require().render()
    assert "maip-dr-canaries on maip-prod-kafka:" in detail and "p0 0.." in detail
    simulation.faults.set_replication_cut(True)
    writer = _store(simulation).writer(handles.primary, f"behind-{uuid.uuid4().hex[:8]}",
                                       interval_s=INTERVAL_S, ttl_s=TTL_S).start()
    _write_for(writer, 3)
    writer.stop()
    with pytest.raises(CheckFailed, match="replicated canary topic in DR is behind"):
        readiness_kafka.msk_canary_offsets(inputs).require()
    simulation.faults.set_replication_cut(False)
    wait_until("DR to catch up after the cut", lambda: _offsets_pass(inputs), timeout_s=60)


def _offsets_pass(inputs: ReadinessInputs) -> bool:
    return readiness_kafka.msk_canary_offsets(inputs).ok


def test_a_live_kind_target_measures_through_the_kafka_protocol(
        simulation: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    # The live path against the simulation: a live-kind target (default credential chain,
    # so the simulation's dummy keys come from the environment) with plaintext Kafka access;
    # brokers from GetBootstrapBrokers, nothing simulated-only on the way.
    from dataclasses import replace

    from maip_drlib.config import KafkaAccess
    from maip_drlib.rpo.kafka_client import KafkaNotMeasurable

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    live = replace(simulation.target(name="rehearsal"), kind="live", control_url=None,
                   kafka=KafkaAccess(auth="none", tls=False))
    with pytest.raises(KafkaNotMeasurable, match=r"\[targets.rehearsal.kafka\]"):
        msk_store(simulation.topology, replace(live, kafka=None))
    built = build_region_handles(live, simulation.topology,
                                 writes=WriteGate.consented(target="rehearsal"))
    try:
        assert not built.primary.simulated
        store = msk_store(simulation.topology, live)
        drill = f"live-{uuid.uuid4().hex[:8]}"
        writer = store.writer(built.primary, drill, interval_s=INTERVAL_S, ttl_s=TTL_S).start()
        _write_for(writer, 5)
        writer.stop()
        measured = wait_and_measure(store, built.secondary, drill, writer.acknowledged,
                                    interval_s=INTERVAL_S, settle_s=10.0)
    finally:
        built.close()
    assert measured.measured and measured.rpo_s == 0.0 and measured.lost == 0
