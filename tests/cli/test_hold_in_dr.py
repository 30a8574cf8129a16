"""``maip-dr gameday --hold-in-dr DURATION``: bad values refused before anything starts (exit 2,
one line naming the option), and an embedded game day that holds in DR between failover and
failback, with the hold in the journal, the results and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_gameday import SharedGameDay

from maip_drlib.evidence.journal import read_journal

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


@pytest.mark.parametrize(("args", "says"), [
    (["--hold-in-dr", "30"], "--hold-in-dr: expected a duration such as 90s, 30m or 2h"),
    (["--hold-in-dr", "10s"], "--hold-in-dr: expected 1 minute to 24 hours, got '10s'"),
    (["--hold-in-dr", "48h"], "--hold-in-dr: expected 1 minute to 24 hours, got '48h'"),
    (["--hold-in-dr", "5m", "--drill-id", "d1", "--resume-from", "failback:2"],
     "--hold-in-dr: a resume from failback:2 starts after the hold in DR"),
], ids=["no-unit", "too-short", "too-long", "resume-in-failback"])
def test_bad_hold_values_are_one_line_and_start_nothing(
        maip_dr, tmp_path: Path, args: list[str], says: str) -> None:
    result = maip_dr(["gameday", *args], timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "starting the embedded simulation" not in result.stdout + result.stderr
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_an_embedded_game_day_holds_in_dr_before_failback(
        embedded_gameday: SharedGameDay) -> None:
    """The session's shared game day ran with ``--hold-in-dr 2m``."""
    at = embedded_gameday.args.index("--hold-in-dr")
    assert embedded_gameday.args[at:at + 2] == ["--hold-in-dr", "2m"]
    out = embedded_gameday.stdout + embedded_gameday.stderr
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    assert "=== hold in DR for 2 simulated minutes" in out, out
    assert "maip-dr: held in DR for 2 minutes; failback starts" in out, out
    attempt = embedded_gameday.attempt
    kinds = [r["kind"] for r in read_journal(attempt / "journal.jsonl")]
    phases = [r.get("phase") for r in read_journal(attempt / "journal.jsonl")
              if r["kind"] == "phase.start"]
    assert kinds.index("hold.start") < kinds.index("hold.end")
    assert kinds.count("hold.sample") >= 2
    # After failover (and RPO), before failback.
    records = read_journal(attempt / "journal.jsonl")
    start = kinds.index("hold.start")
    before = [r.get("phase") for r in records[:start] if r["kind"] == "phase.start"]
    assert before == ["readiness", "failover", "rpo"] and "failback" in phases
    end = next(r for r in records if r["kind"] == "hold.end")
    assert end["verdict"] == "held in DR for 2 minutes" and end["ok"] is True
    assert end["samples"] == kinds.count("hold.sample")
    row = json.loads((attempt / "results-hold.json").read_text())[0]
    assert row["phase"] == "hold" and row["outcome"] == "passed"
    summary = json.loads((attempt / "summary.json").read_text())
    assert summary["verdict"] == "PASS"
    assert [s["phase"] for s in summary["stages"]].index("hold") == \
        [s["phase"] for s in summary["stages"]].index("failback")  - 1
    assert "Hold in DR for 2 minutes" in (attempt / "summary.md").read_text()
