"""Measured RDS RPO and failback data continuity against real PostgreSQL servers.

A module-scoped ``PostgresFleet`` on 127.0.0.1 hosts one writer ("us-east-1") and its
streaming standby ("us-west-2") per story: canaries are committed to the writer at a steady
pace, the writer is killed (the outage), the standby promoted, and the canaries read on the
promoted database give the loss window of DESIGN.md section 5. With the replication link cut
before the outage, the canaries the writer acknowledged after the cut are really lost. The
tests skip, naming where binaries were looked for, when no PostgreSQL is found.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from maip_cli_helpers import wait_until

from maip_drlib.actions.postgres import accepts_writes
from maip_drlib.errors import CheckFailed, NotFound, Unreachable
from maip_drlib.probes.postgres import (
    DbConnectionSpec,
    DbEndpoint,
    DbLogin,
    DbSettings,
    standby_lag,
)
from maip_drlib.rpo import MEASURED, NOT_MEASURED, rpo_report, wait_and_measure
from maip_drlib.rpo.rds import GivenRegion, RdsCanaryStore, RdsCanaryWriter, read_canaries
from maip_drlib.rpo.rds_continuity import data_continuity
from maip_drlib.rpo.writer import WriteRejected
from maip_drlib.sim.postgres import PostgresFleet, find_binaries, search_places

pytestmark = pytest.mark.sim

EAST, WEST = "us-east-1", "us-west-2"
INTERVAL_S = 0.05
TTL_S = 3600.0
CUT_S = 1.0  # how long the writer goes on committing after the link is cut
SETTLE_S = 1.0
CATCH_UP_S = 15.0
SETTINGS = DbSettings(sslmode="disable", connect_timeout_s=2, statement_timeout_s=5)


@pytest.fixture(scope="module")
def fleet() -> Iterator[PostgresFleet]:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries found; looked in: " + "; ".join(search_places()))
    with PostgresFleet() as started:
        yield started


@dataclass(frozen=True)
class Pair:
    writer_name: str
    standby_name: str
    writer: DbConnectionSpec
    standby: DbConnectionSpec
    store: RdsCanaryStore


def _spec(fleet: PostgresFleet, name: str, region: str) -> DbConnectionSpec:
    server = fleet.server(name)
    return DbConnectionSpec(
        DbEndpoint(region, name, server.host, server.port),
        DbLogin(fleet.credentials.username, fleet.credentials.password), SETTINGS)


def _pair(fleet: PostgresFleet, story: str) -> Pair:
    writer_name, standby_name = f"{story}-primary", f"{story}-replica"
    fleet.start_writer(writer_name)
    fleet.start_standby(standby_name, writer_name)
    writer, standby = _spec(fleet, writer_name, EAST), _spec(fleet, standby_name, WEST)
    return Pair(writer_name, standby_name, writer, standby,
                RdsCanaryStore.for_specs({EAST: writer, WEST: standby}))


def _caught_up(pair: Pair) -> None:
    deadline = time.monotonic() + CATCH_UP_S
    while not standby_lag(pair.standby, pair.writer).caught_up:
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


def _outage(fleet: PostgresFleet, pair: Pair, writer: RdsCanaryWriter) -> None:
    """The primary region goes: its server is killed; the canary writer stops on its own."""
    fleet.stop(pair.writer_name, mode="kill")
    assert writer.wait_stopped(10), "the canary writer did not notice the outage"
    assert writer.stopped_reason is not None
    assert writer.stopped_reason.startswith("write failed")
    assert writer.failure is not None and pair.writer.instance in writer.failure.error
    assert writer.stop()
    fleet.promote(pair.standby_name)


def _acknowledged_at_least(writer: RdsCanaryWriter, count: int) -> None:
    """Wait (bounded) until the primary acknowledged ``count`` canaries."""
    wait_until(f"{count} canaries acknowledged", lambda: len(writer.acknowledged) >= count,
               timeout_s=30)


def test_without_a_cut_the_rds_loss_window_is_near_zero(fleet: PostgresFleet) -> None:
    pair = _pair(fleet, "steady")
    drill = f"steady-{uuid.uuid4().hex[:8]}"
    with pytest.raises(NotFound, match="canary table"):
        read_canaries(pair.standby, drill)

    writer = pair.store.writer(GivenRegion(EAST), drill, interval_s=INTERVAL_S, ttl_s=TTL_S)
    writer.start()
    _acknowledged_at_least(writer, 6)
    _outage(fleet, pair, writer)

    measured = wait_and_measure(pair.store, GivenRegion(WEST), drill, writer.acknowledged,
                                interval_s=INTERVAL_S, settle_s=SETTLE_S)
    assert measured.store == "rds" and measured.measured
    assert measured.acknowledged >= 5
    # Asynchronous streaming on loopback: at most the commits in flight at the kill are lost.
    assert measured.rpo_s is not None and measured.rpo_s <= 0.5
    assert measured.lost <= 10 and measured.lost == measured.acknowledged - measured.found
    assert measured.interval_s == INTERVAL_S


def test_a_cut_before_the_outage_loses_acknowledged_canaries(fleet: PostgresFleet) -> None:
    pair = _pair(fleet, "cut")
    drill = f"cut-{uuid.uuid4().hex[:8]}"
    writer = pair.store.writer(GivenRegion(EAST), drill, interval_s=INTERVAL_S, ttl_s=TTL_S)
    writer.start()
    _acknowledged_at_least(writer, 5)
    _caught_up(pair)
    fleet.cut_replication(pair.standby_name)
    cut_at = time.time()
    time.sleep(CUT_S)
    _outage(fleet, pair, writer)

    acknowledged = writer.acknowledged
    measured = wait_and_measure(pair.store, GivenRegion(WEST), drill, acknowledged,
                                interval_s=INTERVAL_S, settle_s=SETTLE_S)
    assert measured.store == "rds" and measured.measured
    assert measured.rpo_s is not None and measured.rpo_s >= CUT_S * 0.7
    assert measured.lost >= 10 and measured.lost == measured.acknowledged - measured.found
    assert measured.newest_contiguous_at is not None
    assert measured.newest_contiguous_at <= cut_at
    assert measured.last_acked_at == acknowledged[-1].written_at
    assert f"{measured.lost} of {measured.acknowledged}" in measured.note
    assert measured.waited_s >= SETTLE_S * 0.9  # the lost canaries were waited for, bounded

    report = rpo_report([measured])  # DynamoDB and MSK beside it: "not measured", never zero
    assert report.row("rds").status == MEASURED and report.row("rds").lost == measured.lost
    assert report.row("dynamodb").status == NOT_MEASURED
    assert any(line.startswith("rds: RPO") for line in report.lines())

    # The promoted DR database accepts a real write (failover stage 2 or 5).
    promoted = pair.standby
    written = accepts_writes(promoted, drill)
    assert written.region == WEST

    # Failback: a new primary-region replica of the promoted database holds what DR wrote.
    new_name = "cut-primary-new"
    fleet.start_standby(new_name, pair.standby_name)
    new = _spec(fleet, new_name, EAST)
    continuity = data_continuity(promoted, new, drill, settle_s=CATCH_UP_S)
    assert continuity.passed and continuity.missing == ()
    assert continuity.written_in_source == 1
    assert continuity.rows_in_source == measured.found + measured.unacknowledged_found + 1

    # The link into the new replica is cut: a row written in DR now never reaches it.
    fleet.cut_replication(new_name)
    try:
        late = accepts_writes(promoted, drill)
        with pytest.raises(CheckFailed) as missing:
            data_continuity(promoted, new, drill, settle_s=0.5)
    finally:
        fleet.restore_replication(new_name)
    text = str(missing.value)
    assert f"write/{late.seq}" in text and "missing" in text
    assert f"region={EAST}" in text and f"resource={new_name}" in text
    assert data_continuity(promoted, new, drill, settle_s=CATCH_UP_S).passed

    with pytest.raises(CheckFailed, match="nothing proves data continuity"):
        data_continuity(promoted, new, f"other-{drill}", settle_s=0.1)

    secret = pair.writer.login.password
    assert secret not in repr(writer.spec) and secret not in str(writer.failure)
    assert secret not in text


def test_a_canary_writer_that_cannot_connect_fails_at_start() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = DbConnectionSpec(DbEndpoint(EAST, "maip-prod-postgres", "127.0.0.1", port),
                            DbLogin("maipadmin", "irrelevant-password"), SETTINGS)
    writer = RdsCanaryWriter(down, "drill", interval_s=INTERVAL_S, ttl_s=TTL_S)
    with pytest.raises(Unreachable, match="maip-prod-postgres"):
        writer.start()
    assert not writer.running and writer.acknowledged == []


class _Refusing:
    """A connection whose every statement raises ``error``."""

    def __init__(self, error: Exception):
        self.error = error

    def execute(self, *_: object) -> None:
        raise self.error


@pytest.mark.parametrize(("error", "transient"), [
    (psycopg.errors.SerializationFailure("could not serialize access"), True),
    (psycopg.errors.LockNotAvailable("lock timeout"), True),
    (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), False),
    (psycopg.OperationalError("server closed the connection unexpectedly"), False),
])
def test_write_failures_are_classified(error: Exception, transient: bool) -> None:
    spec = DbConnectionSpec(DbEndpoint(EAST, "maip-prod-postgres", "127.0.0.1", 1),
                            DbLogin("maipadmin", "irrelevant-password"), SETTINGS)
    writer = RdsCanaryWriter(spec, "drill", interval_s=INTERVAL_S, ttl_s=TTL_S)
    writer._connection = _Refusing(error)  # type: ignore[assignment]
    with pytest.raises(WriteRejected) as rejected:
        writer._write(1, 1000.0, 4600)
    assert rejected.value.transient is transient
    assert "maip-prod-postgres" in str(rejected.value) and "seq 1" in str(rejected.value)
