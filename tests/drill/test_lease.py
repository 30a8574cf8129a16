"""The drill lease against the simulated DynamoDB of the DR region (SIMULATED: moto).

Time is a fake clock shared by the holders (the lease compares only times written from its
clock), so TTLs of 15 s and more expire without waiting; the heartbeat thread runs on a short
real interval (``heartbeat_s``) and the tests wait for its renewals, never for time.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest

from maip_drlib.drill.lease import (
    BREAKS_KEPT,
    HOLDER_ALIVE_PREFIX,
    LEASE_TTL_MAX_S,
    LEASE_TTL_MIN_S,
    DrillLease,
    Holder,
    LeaseHeld,
    LeaseLost,
    describe_break,
    lease_key,
    recent_breaks,
)
from maip_drlib.errors import ConfigError
from maip_drlib.regions import RegionHandles
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim

TTL_S = 15.0  # the minimum: the heartbeat every 5 s, stale after 10 s


class FakeClock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))  # whole seconds: stored with 3 decimals
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _lease(handles: RegionHandles, simulation: Simulation, name: str, drill: str,
           clock: FakeClock | None = None, ttl_s: float = TTL_S, table: str | None = None,
           heartbeat_s: float | None = None) -> DrillLease:
    return DrillLease(client=handles.secondary.client("dynamodb"),
                      table=table or simulation.topology.lease_table,
                      region=handles.secondary.region, key=lease_key(f"{name}.example"),
                      ttl_s=ttl_s, holder=Holder.this_process(drill),
                      clock=clock or time.time, heartbeat_s=heartbeat_s)


def _wait_until(condition: Any, what: str, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, f"no {what} within {deadline_s}s"
        time.sleep(0.02)


def test_the_table_is_seeded_in_the_dr_region_only(handles: RegionHandles,
                                                   simulation: Simulation) -> None:
    table = simulation.topology.lease_table
    assert table in handles.secondary.client("dynamodb").list_tables()["TableNames"]
    assert table not in handles.primary.client("dynamodb").list_tables()["TableNames"]


def test_second_acquirer_is_refused_naming_the_holder(handles: RegionHandles,
                                                      simulation: Simulation) -> None:
    first = _lease(handles, simulation, "refuse", "gameday-first")
    grant = first.acquire()
    second = _lease(handles, simulation, "refuse", "gameday-second")
    with pytest.raises(LeaseHeld) as refused:
        second.acquire()
    message = str(refused.value)
    assert refused.value.exit_code == 3
    assert "gameday-first" in message and grant.holder.started_at in message
    assert f"{grant.holder.user}@{grant.holder.host}" in message
    assert "last heartbeat" in message and "expires" in message
    assert "--dr-break-lease" in message
    assert first.release() is True
    assert first.current() is None  # released: free
    assert second.acquire().holder.drill_id == "gameday-second"
    assert second.release() is True


def test_an_unrenewed_lease_expires_and_its_holder_learns_it(
        handles: RegionHandles, simulation: Simulation, clock: FakeClock) -> None:
    crashed = _lease(handles, simulation, "expiry", "gameday-crashed", clock)
    crashed.acquire()
    clock.advance(TTL_S + 1)  # no heartbeat: as if killed
    successor = _lease(handles, simulation, "expiry", "gameday-next", clock)
    grant = successor.acquire()
    assert grant.expired_holder is not None
    assert grant.expired_holder["drill_id"] == "gameday-crashed"
    assert grant.journal_fields()["expired_holder"]["drill_id"] == "gameday-crashed"
    crashed.renew()
    assert crashed.lost.is_set() and "taken over" in crashed.lost_reason
    assert crashed.release() is False  # never releases the successor's lease
    assert successor.current()["drill_id"] == "gameday-next"  # type: ignore[index]
    assert successor.release() is True


def test_the_heartbeat_keeps_the_lease_past_its_ttl(
        handles: RegionHandles, simulation: Simulation, clock: FakeClock) -> None:
    holder = _lease(handles, simulation, "heartbeat", "gameday-alive", clock,
                    heartbeat_s=0.05)
    holder.acquire()
    holder.start_heartbeat()
    try:
        for _ in range(4):  # 4 x 10 s = 2.7 TTLs, each step renewed before the next
            clock.advance(10)
            now = clock()
            _wait_until(lambda now=now: (holder.current() or {}).get("heartbeat_at", 0) >= now,
                        "renewal")
        with pytest.raises(LeaseHeld):
            _lease(handles, simulation, "heartbeat", "gameday-other", clock).acquire()
        assert not holder.lost.is_set()
    finally:
        assert holder.release() is True
    assert holder.current() is None


def test_break_of_a_stale_heartbeat_takes_over_and_is_kept_after_release(
        handles: RegionHandles, simulation: Simulation, clock: FakeClock) -> None:
    old = _lease(handles, simulation, "break", "gameday-stuck", clock)
    old.acquire()
    clock.advance(11)  # two heartbeat intervals missed, the lease not yet expired
    new = _lease(handles, simulation, "break", "gameday-new", clock)
    grant = new.acquire(break_reason="host lost power")
    assert grant.broken is not None and grant.broken["reason"] == "host lost power"
    assert grant.broken["previous_holder"]["drill_id"] == "gameday-stuck"
    fields = grant.broken_fields()
    assert fields["reason"] == "host lost power" and fields["holder_alive"] is False
    assert fields["broken_by"] == grant.holder.who and fields["heartbeat_age_s"] == 11
    assert fields["previous_holder"]["drill_id"] == "gameday-stuck"
    assert fields["previous_holder"]["expires_at"].endswith("Z")
    old.renew()
    assert old.lost.is_set()
    assert old.release() is False and new.release() is True
    # Released, and later acquired and released again: the break is still recorded.
    later = _lease(handles, simulation, "break", "gameday-later", clock)
    later.acquire()
    assert later.release() is True
    stored = later.stored()
    assert stored is not None and stored["state"] == "released"
    [entry] = recent_breaks(stored)
    assert entry["reason"] == "host lost power" and entry["broken_at"] == grant.broken["broken_at"]
    assert entry["broken_by"]["drill_id"] == "gameday-new"
    assert entry["previous_holder"]["drill_id"] == "gameday-stuck"
    line = describe_break(entry)
    assert "gameday-new" in line and "gameday-stuck" in line and "host lost power" in line


def test_break_is_refused_while_the_heartbeat_is_fresh_unless_the_reason_says_so(
        handles: RegionHandles, simulation: Simulation, clock: FakeClock) -> None:
    alive = _lease(handles, simulation, "fresh", "gameday-alive", clock)
    alive.acquire()
    clock.advance(9)  # under two intervals (10 s): a live holder's heartbeat
    breaker = _lease(handles, simulation, "fresh", "gameday-breaker", clock)
    with pytest.raises(LeaseHeld) as refused:
        breaker.acquire(break_reason="I think it is dead")
    message = str(refused.value)
    assert refused.value.exit_code == 3 and "fresh" in message and "9s old" in message
    assert f'--dr-break-lease "{HOLDER_ALIVE_PREFIX} REASON"' in message
    assert "gameday-alive" in message and "\n" not in message
    assert alive.current()["holder_id"] == alive.holder.holder_id  # type: ignore[index]
    grant = breaker.acquire(break_reason="Holder alive: its operator handed it over")
    assert grant.broken is not None and grant.broken["holder_alive"] is True
    assert grant.broken_fields()["holder_alive"] is True
    assert breaker.release() is True


def test_the_break_history_keeps_the_last_breaks(
        handles: RegionHandles, simulation: Simulation, clock: FakeClock) -> None:
    for number in range(BREAKS_KEPT + 2):
        lease = _lease(handles, simulation, "history", f"gameday-{number}", clock)
        lease.acquire(break_reason=f"{HOLDER_ALIVE_PREFIX} break {number}")
    breaks = recent_breaks(lease.stored(), last=100)
    assert len(breaks) == BREAKS_KEPT  # the first acquisition broke nothing
    assert breaks[-1]["reason"].endswith(f"break {BREAKS_KEPT + 1}")
    assert breaks[0]["reason"].endswith("break 2")
    assert lease.release() is True


@pytest.mark.parametrize("reason", ["", "   "])
def test_break_lease_needs_a_reason(handles: RegionHandles, simulation: Simulation,
                                    reason: str) -> None:
    with pytest.raises(ConfigError, match="--dr-break-lease"):
        _lease(handles, simulation, "reason", "gameday-x").acquire(break_reason=reason)


def test_verify_reads_who_holds_the_lease(handles: RegionHandles, simulation: Simulation,
                                          clock: FakeClock) -> None:
    holder = _lease(handles, simulation, "verify", "gameday-holder", clock)
    checker = _lease(handles, simulation, "verify", "pytest-check", clock)
    with pytest.raises(LeaseLost, match="is not held"):
        checker.verify(holder.holder.holder_id)
    grant = holder.acquire()
    assert checker.verify(grant.holder.holder_id)["drill_id"] == "gameday-holder"
    with pytest.raises(LeaseHeld, match="held by another drill") as other:
        checker.verify("not-the-holder")
    assert other.value.exit_code == 3 and "not by holder not-the-holder" in str(other.value)
    clock.advance(TTL_S + 1)
    with pytest.raises(LeaseLost, match="expired"):
        checker.verify(grant.holder.holder_id)
    assert holder.release() is True
    with pytest.raises(LeaseLost):
        checker.verify(grant.holder.holder_id)


def test_a_missing_table_is_one_config_error(handles: RegionHandles,
                                             simulation: Simulation) -> None:
    lease = _lease(handles, simulation, "missing", "gameday-x", table="no-such-lease-table")
    with pytest.raises(ConfigError) as caught:
        lease.acquire()
    assert caught.value.exit_code == 2
    assert "no-such-lease-table" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("ttl", [0, 14.9, 3600.5, 1e12, math.inf, math.nan])
def test_ttl_out_of_bounds_is_refused(handles: RegionHandles, simulation: Simulation,
                                      ttl: float) -> None:
    with pytest.raises(ConfigError, match="lease TTL must be 15 to 3600 seconds"):
        _lease(handles, simulation, "ttl", "gameday-x", ttl_s=ttl)


def test_ttl_bounds_are_allowed(handles: RegionHandles, simulation: Simulation) -> None:
    assert (LEASE_TTL_MIN_S, LEASE_TTL_MAX_S) == (15, 3600)
    for ttl in (LEASE_TTL_MIN_S, LEASE_TTL_MAX_S):
        assert _lease(handles, simulation, "ttl", "gameday-x", ttl_s=ttl).heartbeat_s == ttl / 3


def test_a_lost_lease_stops_the_game_day_before_its_next_phase(
        handles: RegionHandles, simulation: Simulation, tmp_path) -> None:
    from maip_drlib.drill.evidence_dirs import next_attempt
    from maip_drlib.drill.gameday import GamedayPlan, run_gameday
    from maip_drlib.evidence.journal import read_journal

    lease = _lease(handles, simulation, "lost", "gameday-lost", ttl_s=30)
    grant = lease.acquire()
    _lease(handles, simulation, "lost", "gameday-breaker").acquire(
        break_reason=f"{HOLDER_ALIVE_PREFIX} test")
    lease.renew()  # what the heartbeat does: learns the lease is gone
    attempt = next_attempt(tmp_path / "reports", "gameday-lost")
    plan = GamedayPlan(target=simulation.target(), topology=simulation.topology,
                       attempt=attempt, dr_args=[], extra_args=[], lease=lease,
                       lease_grant=grant, echo=lambda line: None)
    with pytest.raises(LeaseLost) as stopped:
        run_gameday(plan)  # no phase runs: the check comes first
    assert stopped.value.exit_code == 3 and "readiness" in str(stopped.value)
    kinds = [r["kind"] for r in read_journal(attempt.path / "journal.jsonl")]
    assert kinds == ["drill.start", "lease.acquired", "lease.lost"]
    assert not list(attempt.path.glob("results-*.json"))
