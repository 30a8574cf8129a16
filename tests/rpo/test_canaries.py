"""Measured RPO with DynamoDB canaries: the arithmetic alone, then whole drills against one
embedded simulation (module scope) with replication lag and a us-east-1 outage.

Each drill uses its own drill id (its own partition of the canary table) and restores the
region and the lag afterwards. Lags and bands are wall-clock seconds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from maip_drlib.errors import NotFound
from maip_drlib.regions import RegionHandles
from maip_drlib.rpo import (
    NOT_MEASURED,
    Canary,
    CanaryWriter,
    RpoMeasurement,
    measure_rpo,
    read_canaries,
    rpo_report,
    store_for,
    wait_and_measure,
)
from maip_drlib.sim.aws.metrics import SIMULATED_TRAFFIC_KEY
from maip_drlib.sim.aws.seed import DYNAMODB_HASH_KEY
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim

EAST = "us-east-1"
INTERVAL_S = 0.1
SETTLE_S = 0.6


def _canaries(count: int, start: float = 1000.0) -> list[Canary]:
    return [Canary(seq=n, written_at=round(start + (n - 1) * INTERVAL_S, 3))
            for n in range(1, count + 1)]


# The arithmetic --------------------------------------------------------------------------


def test_rpo_is_zero_when_every_acknowledged_canary_arrived() -> None:
    acked = _canaries(5)
    measured = measure_rpo(acked, acked, INTERVAL_S, measured_at=2000.0)
    assert (measured.rpo_s, measured.lost, measured.newest_contiguous_seq) == (0.0, 0, 5)
    assert measured.measured_at == 2000.0 and measured.store == "dynamodb"


def test_rpo_runs_from_the_newest_canary_with_no_gap_before_it() -> None:
    acked = _canaries(10)
    measured = measure_rpo(acked, [1, 2, 3, 5, 6], INTERVAL_S)
    assert measured.newest_contiguous_seq == 3 and measured.last_acked_seq == 10
    assert measured.rpo_s == pytest.approx(0.7)
    assert measured.lost == 5 and measured.found == 5
    assert measured.interval_s == INTERVAL_S


def test_rpo_with_nothing_in_dr_counts_from_the_first_canary_and_says_so() -> None:
    measured = measure_rpo(_canaries(4), [], INTERVAL_S)
    assert measured.rpo_s == pytest.approx(0.3)
    assert measured.newest_contiguous_seq is None and measured.lost == 4
    assert "first acknowledged canary" in measured.note and "lower bound" in measured.note


def test_nothing_acknowledged_is_not_measured_never_zero() -> None:
    measured = measure_rpo([], [7], INTERVAL_S)
    assert measured.rpo_s is None and not measured.measured
    assert measured.unacknowledged_found == 1
    row = rpo_report([measured]).row("dynamodb")
    assert row.status == NOT_MEASURED and row.rpo_s is None


def test_the_report_lists_stores_without_canaries_as_not_measured() -> None:
    report = rpo_report([measure_rpo(_canaries(3), [1, 2], INTERVAL_S)])
    assert [row.store for row in report.rows] == ["dynamodb", "rds", "msk"]
    assert [row.status for row in report.rows] == ["measured", NOT_MEASURED, NOT_MEASURED]
    assert report.row("rds").rpo_s is None and report.row("msk").lost is None
    assert report.lines()[1].startswith("rds: not measured")
    assert report.lines()[0].startswith("dynamodb: RPO 0.100 s, 1 canaries lost")


# Against the simulation ------------------------------------------------------------------



@pytest.fixture
def sim(simulation: Simulation) -> Iterator[Simulation]:
    yield simulation
    simulation.faults.restore_region(EAST)
    simulation.faults.set_lag("dynamodb", 0.5)


def _drill(sim: Simulation, handles: RegionHandles, *, lag_s: float, run_s: float
           ) -> tuple[CanaryWriter, RpoMeasurement, str, float]:
    """Canaries every INTERVAL_S, the us-east-1 outage after ``run_s``, then the measurement."""
    sim.faults.set_lag("dynamodb", lag_s)
    drill_id = f"test-{uuid.uuid4().hex[:8]}"
    writer = CanaryWriter(handles.primary, sim.topology.canary_table, drill_id,
                          interval_s=INTERVAL_S, ttl_s=3600).start()
    try:
        time.sleep(run_s)
        outage_at = time.time()
        sim.faults.region_outage(EAST)
        assert writer.wait_stopped(timeout_s=5.0), "the writer did not notice the outage"
    finally:
        writer.stop()
    measured = wait_and_measure(store_for("dynamodb", sim.topology), handles.secondary,
                                drill_id, writer.acknowledged, interval_s=INTERVAL_S,
                                settle_s=SETTLE_S)
    return writer, measured, drill_id, outage_at


def test_the_canary_table_is_seeded_as_a_global_table_with_a_ttl(
        sim: Simulation, handles: RegionHandles) -> None:
    table = sim.topology.canary_table
    assert table != sim.topology.dynamodb_table
    for handle, other in ((handles.primary, handles.secondary),
                          (handles.secondary, handles.primary)):
        dynamodb = handle.client("dynamodb")
        described = dynamodb.describe_table(TableName=table)["Table"]
        assert described["Replicas"] == [{"RegionName": other.region, "ReplicaStatus": "ACTIVE"}]
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    with pytest.raises(NotFound):
        read_canaries(handles.secondary, "no-such-table", "x")


def test_an_outage_stops_the_writer_and_the_canaries_in_flight_are_lost(
        sim: Simulation, handles: RegionHandles) -> None:
    # 0.5 s in flight: a writer stalled longer than the lag on a loaded machine would have
    # every acknowledged canary delivered before the outage (seen once in CI with 0.2 s)
    writer, measured, drill_id, outage_at = _drill(sim, handles, lag_s=0.5, run_s=1.0)
    acked = writer.acknowledged
    assert len(acked) >= 5 and [c.seq for c in acked] == list(range(1, len(acked) + 1))
    failure = writer.failure
    assert failure is not None and failure.seq == acked[-1].seq + 1
    assert failure.at >= outage_at and EAST in failure.error
    assert writer.stopped_reason is not None
    assert writer.stopped_reason.startswith("write failed: put_item maip-dr-canaries")
    assert measured.lost >= 1 and measured.lost == measured.acknowledged - measured.found
    assert measured.rpo_s is not None and 0.05 <= measured.rpo_s <= 1.0
    assert measured.last_acked_seq == acked[-1].seq
    assert measured.waited_s >= SETTLE_S - 0.05  # the missing ones never arrived
    # The lost canaries were in the dead region: they arrive once it is restored.
    sim.faults.restore_region(EAST)
    after = wait_and_measure(store_for("dynamodb", sim.topology), handles.secondary, drill_id,
                             acked, interval_s=INTERVAL_S, settle_s=3.0)
    assert (after.rpo_s, after.lost) == (0.0, 0)


def test_a_larger_lag_before_the_outage_is_about_the_rpo(
        sim: Simulation, handles: RegionHandles) -> None:
    _, measured, _, _ = _drill(sim, handles, lag_s=1.0, run_s=1.6)
    assert measured.rpo_s is not None and 0.7 <= measured.rpo_s <= 1.6
    assert measured.lost >= 5
    assert measured.newest_contiguous_seq is not None


def test_without_lag_the_rpo_is_one_interval_or_less(
        sim: Simulation, handles: RegionHandles) -> None:
    _, measured, _, _ = _drill(sim, handles, lag_s=0.0, run_s=0.6)
    assert measured.rpo_s is not None and measured.rpo_s <= INTERVAL_S + 0.05
    assert measured.lost <= 1
    report = rpo_report([measured])
    assert report.row("dynamodb").status == "measured"
    assert [(r.store, r.status) for r in report.rows[1:]] == [("rds", NOT_MEASURED),
                                                              ("msk", NOT_MEASURED)]


def test_a_stopped_writer_waits_for_in_flight_canaries_from_a_live_region(
        sim: Simulation, handles: RegionHandles) -> None:
    sim.faults.set_lag("dynamodb", 0.3)
    drill_id = f"test-{uuid.uuid4().hex[:8]}"
    with CanaryWriter(handles.primary, sim.topology.canary_table, drill_id,
                      interval_s=INTERVAL_S, ttl_s=3600) as writer:
        time.sleep(0.4)
    assert writer.stopped_reason == "stopped" and writer.failure is None
    measured = wait_and_measure(store_for("dynamodb", sim.topology), handles.secondary,
                                drill_id, writer.acknowledged, interval_s=INTERVAL_S,
                                settle_s=3.0)
    assert (measured.rpo_s, measured.lost) == (0.0, 0)
    assert 0.1 <= measured.waited_s < 3.0
    business = handles.primary.client("dynamodb").scan(TableName=sim.topology.dynamodb_table)
    # canaries never land in business data (the simulation's own labelled application writes
    # are the only items there)
    keys = [item[DYNAMODB_HASH_KEY]["S"] for item in business["Items"]]
    assert all(key.startswith(f"{SIMULATED_TRAFFIC_KEY}#") for key in keys), keys
