"""Evidence from game days, as an auditor receives it: replication lag before the outage
shows as a measured RPO loss in the summary.

Elsewhere: a game day killed with SIGKILL and resumed (one chain across the attempts, late
seals, ``maip-dr verify``: tests/faults/test_kill_resume.py); no secret in anything a game day
writes (tests/evidence/test_no_secret_in_a_game_day.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from maip_cli_helpers import SimUpProcess, sim_up_in, wait_until

from maip_drlib.evidence.journal import scan_journal

pytestmark = [pytest.mark.gameday, pytest.mark.cli]

FLAGS = ["--dr-execute", "--dr-confirm", "sim"]


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
