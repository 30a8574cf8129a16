"""The drill lease against the simulated DynamoDB of the DR region (SIMULATED: moto)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from maip_drlib.drill.lease import DrillLease, Holder, LeaseHeld, lease_key
from maip_drlib.errors import ConfigError
from maip_drlib.regions import RegionHandles
from maip_drlib.sim.simulation import Simulation


def _lease(handles: RegionHandles, simulation: Simulation, name: str, drill: str,
           ttl_s: float = 5.0, table: str | None = None) -> DrillLease:
    return DrillLease(client=handles.secondary.client("dynamodb"),
                      table=table or simulation.topology.lease_table,
                      region=handles.secondary.region, key=lease_key(f"{name}.example"),
                      ttl_s=ttl_s, holder=Holder.this_process(drill))


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
    assert "expires" in message and "--dr-break-lease" in message
    assert first.release() is True
    assert second.acquire().holder.drill_id == "gameday-second"
    assert second.release() is True


def test_an_unrenewed_lease_expires_and_its_holder_learns_it(handles: RegionHandles,
                                                             simulation: Simulation) -> None:
    crashed = _lease(handles, simulation, "expiry", "gameday-crashed", ttl_s=0.5)
    crashed.acquire()
    time.sleep(0.7)  # no heartbeat: as if killed
    successor = _lease(handles, simulation, "expiry", "gameday-next")
    successor.acquire()
    crashed.renew()
    assert crashed.lost.is_set() and "taken over" in crashed.lost_reason
    assert crashed.release() is False  # never deletes the successor's lease
    assert successor.current()["drill_id"] == "gameday-next"  # type: ignore[index]
    assert successor.release() is True


def test_the_heartbeat_keeps_the_lease_past_its_ttl(handles: RegionHandles,
                                                    simulation: Simulation) -> None:
    holder = _lease(handles, simulation, "heartbeat", "gameday-alive", ttl_s=0.6)
    holder.acquire()
    holder.start_heartbeat()
    try:
        time.sleep(1.5)  # 2.5 TTLs
        with pytest.raises(LeaseHeld):
            _lease(handles, simulation, "heartbeat", "gameday-other").acquire()
        assert not holder.lost.is_set()
    finally:
        assert holder.release() is True
    assert holder.current() is None


def test_break_lease_takes_over_and_records_reason_and_previous_holder(
        handles: RegionHandles, simulation: Simulation) -> None:
    old = _lease(handles, simulation, "break", "gameday-stuck", ttl_s=30)
    old.acquire()
    new = _lease(handles, simulation, "break", "gameday-new")
    grant = new.acquire(break_reason="host lost power")
    assert grant.broken is not None and grant.broken["reason"] == "host lost power"
    assert grant.broken["previous_holder"]["drill_id"] == "gameday-stuck"
    item: dict[str, Any] = new.current()  # type: ignore[assignment]
    assert item["broken_reason"] == "host lost power"
    assert json.loads(item["previous_holder"])["drill_id"] == "gameday-stuck"
    old.renew()
    assert old.lost.is_set()
    assert old.release() is False and new.release() is True


@pytest.mark.parametrize("reason", ["", "   "])
def test_break_lease_needs_a_reason(handles: RegionHandles, simulation: Simulation,
                                    reason: str) -> None:
    with pytest.raises(ConfigError, match="--dr-break-lease"):
        _lease(handles, simulation, "reason", "gameday-x").acquire(break_reason=reason)


def test_a_missing_table_is_one_config_error(handles: RegionHandles,
                                             simulation: Simulation) -> None:
    lease = _lease(handles, simulation, "missing", "gameday-x", table="no-such-lease-table")
    with pytest.raises(ConfigError) as caught:
        lease.acquire()
    assert caught.value.exit_code == 2
    assert "no-such-lease-table" in str(caught.value) and "\n" not in str(caught.value)


def test_non_positive_ttl_is_refused(handles: RegionHandles, simulation: Simulation) -> None:
    with pytest.raises(ConfigError, match="TTL"):
        _lease(handles, simulation, "ttl", "gameday-x", ttl_s=0)


def test_a_lost_lease_stops_the_game_day_before_its_next_phase(
        handles: RegionHandles, simulation: Simulation, tmp_path) -> None:
    from maip_drlib.drill.evidence_dirs import next_attempt
    from maip_drlib.drill.gameday import GamedayPlan, run_gameday
    from maip_drlib.drill.lease import LeaseLost
    from maip_drlib.evidence.journal import read_journal

    lease = _lease(handles, simulation, "lost", "gameday-lost", ttl_s=30)
    grant = lease.acquire()
    _lease(handles, simulation, "lost", "gameday-breaker").acquire(break_reason="test")
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
