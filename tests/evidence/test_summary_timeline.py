"""summary.md / summary.json content and the timeline PNG, from sample stage results."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from maip_drlib.evidence import timeline
from maip_drlib.evidence.redact import Redactor
from maip_drlib.evidence.summary_files import write_summary
from maip_drlib.evidence.timeline import write_timeline

pytestmark = pytest.mark.unit

DUMMY_SECRET = "sample-dummy-secret-9f2c"

RESULTS = [
    {"phase": "readiness", "stage": None, "scenario": "Both EKS clusters are active",
     "outcome": "passed", "duration_s": 0.4, "simulated_minutes": 0.8,
     "rto_budget_minutes": None, "rto_ok": None, "error_kind": None, "message": ""},
    {"phase": "failover", "stage": 1, "scenario": "The primary region is down",
     "outcome": "passed", "duration_s": 1.0, "simulated_minutes": 2.0,
     "rto_budget_minutes": 5, "rto_ok": True, "error_kind": None, "message": "",
     "destructive": True},
    {"phase": "failover", "stage": 2, "scenario": "The DR replica becomes a standalone writer",
     "outcome": "passed", "duration_s": 6.0, "simulated_minutes": 12.0,
     "rto_budget_minutes": 10, "rto_ok": False, "error_kind": None, "message": "",
     "destructive": True},
    {"phase": "failover", "stage": 3, "scenario": "Clients reach the DR load balancer",
     "outcome": "failed", "duration_s": 2.0, "simulated_minutes": 4.0,
     "rto_budget_minutes": 5, "rto_ok": True, "error_kind": "check",
     "message": f"DNS still points to us-east-1; region=us-west-2; password={DUMMY_SECRET}",
     "destructive": True},
    {"phase": "failover", "stage": 4, "scenario": "DR is scaled to the failover capacity",
     "outcome": "skipped", "duration_s": 0.0, "simulated_minutes": None,
     "rto_budget_minutes": 15, "rto_ok": None, "error_kind": None,
     "message": "skipped: failover stage 3 failed", "destructive": True},
]
RPO = [
    {"store": "rds:maip-prod-postgres", "rpo_s": 4.2, "lost": 1, "interval_s": 2.0,
     "target_s": 60.0},
    {"store": "dynamodb:maip-prod-merchant-analytics", "rpo_s": None, "lost": None,
     "interval_s": 2.0, "target_s": 5.0},
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    return write_summary(
        tmp_path, results=RESULTS, rpo=RPO, target={"name": "embedded", "kind": "embedded"},
        operator="arn:aws:sts::123456789012:user/moto (ops@host)", simulated=True,
        time_scale=0.5, drill_id="gameday-1", rto_end_to_end={},
        redactor=Redactor([DUMMY_SECRET]))


def test_summary_markdown_says_simulated_first_and_lists_everything(tmp_path: Path) -> None:
    md_path, _ = _write(tmp_path)
    text = md_path.read_text()
    assert text.splitlines()[0].startswith("> **SIMULATED RUN**")
    assert "# DR drill gameday-1: FAIL" in text
    assert ("| failover 2 | The DR replica becomes a standalone writer | passed | 6.00 | 12.00 "
            "| 10 | OVER |") in text
    assert "failover 2: The DR replica becomes a standalone writer over its RTO budget" in text
    assert "| dynamodb:maip-prod-merchant-analytics | not measured |" in text
    assert "| rds:maip-prod-postgres | 4.200 | 60 | 1 | 2 | ok |" in text
    assert "**failover 3: Clients reach the DR load balancer** (check)" in text
    assert "| failover | outage declared/detected | DR serving |" in text
    assert "incomplete" in text  # failover did not finish: no end-to-end verdict
    assert "![drill timeline](timeline.png)" in text
    assert "arn:aws:sts::123456789012:user/moto" in text
    assert DUMMY_SECRET not in text


def test_summary_json_carries_verdict_rto_and_rpo(tmp_path: Path) -> None:
    _, json_path = _write(tmp_path)
    raw = json_path.read_text()
    data = json.loads(raw)
    assert data["simulated"] is True and data["verdict"] == "FAIL"
    assert data["time_scale"] == 0.5 and data["drill_id"] == "gameday-1"
    failover = data["rto_end_to_end"]["failover"]
    assert failover["budget_minutes"] == 35 and failover["simulated_minutes"] == 18.0
    assert failover["complete"] is False and failover["ok"] is None
    stores = {row["store"]: row for row in data["rpo"]}
    assert stores["dynamodb:maip-prod-merchant-analytics"]["ok"] is None
    assert stores["rds:maip-prod-postgres"]["ok"] is True
    assert [f["stage"] for f in data["failed_checks"]] == [
        "failover 3: Clients reach the DR load balancer"]
    assert DUMMY_SECRET not in raw and "[REDACTED]" in raw


def test_given_end_to_end_rto_overrides_and_live_runs_say_live(tmp_path: Path) -> None:
    passed = [dict(r, outcome="passed", rto_ok=True) for r in RESULTS[:2]]
    md_path, json_path = write_summary(
        tmp_path, results=passed, rpo=[], target={"name": "prod", "kind": "live"},
        operator="arn:aws:iam::1:user/x (a@b)", simulated=False, time_scale=None,
        drill_id="d", rto_end_to_end={"failover": {"simulated_minutes": 40.0,
                                                   "budget_minutes": 30.0, "real_s": 2400.0}})
    data = json.loads(json_path.read_text())
    assert data["rto_end_to_end"]["failover"]["ok"] is False
    assert data["verdict"] == "FAIL"
    text = md_path.read_text()
    assert text.startswith("> **LIVE RUN**") and "SIMULATED" not in text
    assert "not measured" in text  # no RPO figures at all


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_timeline_is_a_png_of_sensible_size(tmp_path: Path) -> None:
    _write(tmp_path)
    width, height = _png_size(tmp_path / "timeline.png")
    assert 800 <= width <= 2000 and 200 <= height <= 2000
    assert (tmp_path / "timeline.png").stat().st_size > 5_000


def test_timeline_with_no_stage_still_draws(tmp_path: Path) -> None:
    path = write_timeline([], tmp_path / "t.png", simulated=False)
    assert _png_size(path)[0] > 0


def test_plotting_loaded_ahead_is_one_thread_and_the_timeline_still_draws(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A game day loads matplotlib while it waits (``load_plotting_in_background``): one
    thread however often it is asked, and the timeline drawn after it is the same PNG."""
    monkeypatch.setattr(timeline, "_preload", None)
    timeline.load_plotting_in_background()
    started = timeline._preload
    timeline.load_plotting_in_background()
    assert started is not None and timeline._preload is started
    path = write_timeline(RESULTS, tmp_path / "t.png", simulated=True)
    assert not started.is_alive()  # write_timeline waited for it
    assert _png_size(path)[0] > 0


def test_a_check_that_measured_nothing_says_so_in_the_stage_table(tmp_path: Path) -> None:
    skipped = [
        {"phase": "readiness", "stage": None, "scenario": "The merchant analytics table "
         "replicates to DR", "outcome": "skipped", "duration_s": 0.1, "simulated_minutes": None,
         "rto_budget_minutes": None, "rto_ok": None, "error_kind": None,
         "message": "not checked: not measured: no ReplicationLatency datapoint in the last 15 "
                    "minutes (period 60 s)"},
        {"phase": "readiness", "stage": None, "scenario": "The DR region's EC2 quota covers "
         "the failover nodes", "outcome": "skipped", "duration_s": 0.0,
         "simulated_minutes": None, "rto_budget_minutes": None, "rto_ok": None,
         "error_kind": None, "message": "not checked: quota not available"},
    ]
    md_path, _ = write_summary(
        tmp_path, results=RESULTS + skipped, rpo=RPO,
        target={"name": "embedded", "kind": "embedded"}, operator="ops", simulated=True,
        time_scale=0.5, drill_id="gameday-2", rto_end_to_end={}, redactor=Redactor([]))
    text = md_path.read_text()
    assert "| The merchant analytics table replicates to DR | skipped (not measured) |" in text
    assert "| The DR region's EC2 quota covers the failover nodes | skipped (not checked) |" in text
    assert "| DR is scaled to the failover capacity | skipped |" in text  # chosen: plain


@pytest.mark.parametrize(("evidence", "line"), [
    ({"signed": True, "unsigned_reason": None}, "- Evidence: signed with the HMAC key"),
    ({"signed": False, "unsigned_reason": None}, "- Evidence: unsigned"),
    ({"signed": False, "unsigned_reason": "key vault down, CAB-1234"},
     "- Evidence: unsigned (accepted by the operator: key vault down, CAB-1234)"),
])
def test_summary_says_how_the_evidence_is_protected(tmp_path: Path, evidence: dict[str, object],
                                                     line: str) -> None:
    md_path, json_path = write_summary(
        tmp_path, results=RESULTS, rpo=RPO, target={"name": "live", "kind": "live"},
        operator="arn:aws:sts::123456789012:user/ops", simulated=False, time_scale=None,
        drill_id="gameday-2", rto_end_to_end={}, evidence=evidence)
    assert line in md_path.read_text().splitlines()
    assert json.loads(json_path.read_text())["evidence"] == evidence
