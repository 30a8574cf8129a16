"""Evidence from game days, as an auditor receives it:

- a game day killed with SIGKILL during failover stage 2 (against a ``sim up`` target) leaves
  a valid journal; resuming at stage 2 adds an attempt to the same drill; the summary covers
  every stage; ``maip-dr verify`` passes, and fails after one byte of evidence changes;
- (no secret in anything a game day writes: tests/evidence/test_no_secret_in_a_game_day.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from maip_cli_helpers import (
    BIN_DIR,
    SimUpProcess,
    sim_up_in,
    wait_until,
    wait_until_lease_heartbeat_stale,
)

from maip_drlib.evidence.journal import scan_journal, verify_chain

pytestmark = [pytest.mark.gameday, pytest.mark.cli]

KILL_DEADLINE_S = 180
FLAGS = ["--dr-execute", "--dr-confirm", "sim"]
BREAK_WINDOW_S = 15  # the default TTL (60 s) leaves 20 s between a stale heartbeat and expiry


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    with sim_up_in(tmp_path_factory.mktemp("evidence-sim"), 1.0) as running:
        yield running


def _wait_for_stage_start(journal: Path, phase: str, stage: int) -> None:
    deadline = time.monotonic() + KILL_DEADLINE_S
    while time.monotonic() < deadline:
        if journal.exists():
            for record in scan_journal(journal).records:
                if (record.get("kind") == "stage.start" and record.get("phase") == phase
                        and record.get("stage") == stage):
                    return
        time.sleep(0.05)
    raise AssertionError(f"{phase} stage {stage} never started (journal {journal})")


def test_sigkill_in_failover_stage_2_then_resume(sim: SimUpProcess) -> None:
    drill = sim.workdir / "reports" / "kill-test"
    process = subprocess.Popen(
        [str(BIN_DIR / "maip-dr"), "--config", str(sim.config), "gameday", *FLAGS,
         "--drill-id", "kill-test"], cwd=sim.workdir, env=sim.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_stage_start(drill / "attempt-1" / "journal.jsonl", "failover", 2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    scan = scan_journal(drill / "attempt-1" / "journal.jsonl")
    assert scan.records and not verify_chain(scan.records, "0" * 64)
    assert scan.records[-1]["kind"] != "drill.end"
    assert not (drill / "attempt-1" / "manifest.json").exists()

    # The killed attempt still holds the drill lease. While its heartbeat is fresh a break is
    # refused (it might still be running), before any attempt is made; once the heartbeat is
    # stale (and before the lease expires) the operator takes it over, saying why.
    resume = ["gameday", *FLAGS, "--drill-id", "kill-test", "--resume-from", "failover:2",
              "--dr-break-lease", "attempt 1 killed (evidence test)"]
    early = sim.maip_dr(resume, timeout=120)
    assert early.returncode == 3, early.stdout[-3000:] + early.stderr[-3000:]
    assert "heartbeat is fresh" in early.stderr and "holder alive:" in early.stderr
    assert [p.name for p in drill.iterdir() if p.name.startswith("attempt")] == ["attempt-1"]
    wait_until_lease_heartbeat_stale(sim.config, "kill-test", min_left_s=BREAK_WINDOW_S)
    resumed = sim.maip_dr(resume, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert sorted(p.name for p in drill.iterdir() if p.name.startswith("attempt")) == [
        "attempt-1", "attempt-2"]
    second = scan_journal(drill / "attempt-2" / "journal.jsonl").records
    resumed_record = next(r for r in second if r["kind"] == "drill.resumed")
    assert resumed_record["interrupted_in"] == "failover stage 2"
    broken = next(r for r in second if r["kind"] == "lease.broken")
    assert "attempt 1 killed" in json.dumps(broken)
    assert second[0]["prev"] == scan.records[-1]["hash"]  # one chain across attempts
    summary = json.loads((drill / "attempt-2" / "summary.json").read_text())
    stages = {(s["phase"], s["stage"]) for s in summary["stages"] if s.get("stage")}
    assert stages == {("failover", n) for n in range(1, 6)} | {("failback", n)
                                                              for n in range(1, 5)}
    assert summary["verdict"] == "PASS"
    verify = sim.maip_dr(["verify", str(drill)])
    assert verify.returncode == 1, verify.stdout + verify.stderr  # no key: unverified
    assert verify.stdout.splitlines()[-1].startswith("verdict: unverified"), verify.stdout
    assert "sealed late" in verify.stdout or "late" in json.dumps(
        json.loads((drill / "attempt-1" / "manifest.json").read_text()))

    evidence = drill / "attempt-1" / "journal.jsonl"
    original = evidence.read_bytes()
    evidence.write_bytes(original[:-2] + bytes([original[-2] ^ 1]) + original[-1:])
    try:
        tampered = sim.maip_dr(["verify", str(drill)])
        assert tampered.returncode == 1
        assert "journal.jsonl" in tampered.stdout
        assert "verdict: tampered" in tampered.stdout, tampered.stdout
    finally:
        evidence.write_bytes(original)


@pytest.fixture(scope="module")
def lagging_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    with sim_up_in(tmp_path_factory.mktemp("lagging-sim"), 1.0) as running:
        yield running


def _wait_for_dynamodb_latency_over(config: Path, seconds: float) -> None:
    """As in DynamoDB, ReplicationLatency has a datapoint only once a lagging item has been
    delivered: wait (bounded) until DR's figure shows the lag, as readiness will read it."""
    from maip_drlib.config_loader import load_config
    from maip_drlib.probes.dynamodb import replication_latency
    from maip_drlib.regions import build_region_handles

    loaded = load_config(config)
    handles = build_region_handles(loaded.target(None), loaded.topology)
    try:
        wait_until("DynamoDB ReplicationLatency toward DR over the threshold", lambda: (
            (replication_latency(handles.primary, loaded.topology.dynamodb_table,
                                 loaded.topology.secondary.region).seconds or 0) > seconds),
            timeout_s=60)
    finally:
        handles.close()


def test_replication_lag_before_the_outage_shows_as_rpo(lagging_sim: SimUpProcess) -> None:
    """A 7-second DynamoDB lag injected before the game day: readiness flags it (a no-go the
    operator accepts, recorded), the outage loses the canaries still in flight, and the RPO
    check fails against its 5-second target."""
    lag = lagging_sim.maip_dr(["sim", "fault", "lag", "--store", "dynamodb", "--seconds", "7"])
    assert lag.returncode == 0, lag.stderr
    _wait_for_dynamodb_latency_over(lagging_sim.config, 5.0)
    reason = "lag injected to measure the RPO"
    result = lagging_sim.maip_dr(["gameday", *FLAGS, "--drill-id", "lag-test",
                                  "--dr-accept-readiness-failures", reason], timeout=600)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    attempt = lagging_sim.workdir / "reports" / "lag-test" / "attempt-1"
    accepted = [r for r in scan_journal(attempt / "journal.jsonl").records
                if r.get("kind") == "readiness.accepted"]
    assert len(accepted) == 1 and accepted[0]["reason"] == reason, accepted
    assert any("DynamoDB replication latency" in json.dumps(check)
               for check in accepted[0]["failed"]), accepted[0]["failed"]
    summary = json.loads((attempt / "summary.json").read_text())
    dynamodb = next(row for row in summary["rpo"] if row["store"] == "dynamodb")
    assert dynamodb["rpo_s"] > 5 and dynamodb["lost"] > 0 and dynamodb["ok"] is False
    assert {row["store"]: row["status"] for row in summary["rpo"]}["rds"] == "not measured"
    assert summary["verdict"] == "FAIL"
    assert any("DynamoDB replication latency" in json.dumps(stage)
               for stage in summary["stages"] if stage["outcome"] == "failed")
