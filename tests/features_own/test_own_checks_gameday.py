"""The session's shared game day ran with ``--features`` (a copy of examples/own-checks): the
team's scenarios run in both readiness phases and appear in the evidence (results, summary.md,
Allure results) sealed in the attempt's manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_gameday import TEAM_SCENARIOS, SharedGameDay

pytestmark = pytest.mark.gameday

LEDGER = TEAM_SCENARIOS


def test_a_game_day_shows_the_teams_scenarios_in_its_evidence(
        embedded_gameday: SharedGameDay) -> None:
    """The session's shared game day ran with a copy of the example outside the clone, as a
    team keeps its own folder (``--features own-checks``)."""
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    assert "--features" in embedded_gameday.args
    check_evidence(embedded_gameday.attempt)


def check_evidence(attempt: Path) -> None:
    """The team's scenarios in the attempt's results, summary.md, Allure results and
    manifest; no scenario of the drill failed."""
    failed = [(path.name, r["scenario"]) for path in attempt.glob("results-*.json")
              if not path.name.endswith(".decisions.json")
              for r in json.loads(path.read_text()) if r["outcome"] == "failed"]
    assert not failed, failed
    for phase_file in ("results-readiness.json", "results-readiness-after.json"):
        results = json.loads((attempt / phase_file).read_text())
        outcomes = {r["scenario"]: r["outcome"] for r in results}
        assert {name: outcomes.get(name) for name in LEDGER} == dict.fromkeys(LEDGER, "passed"), \
            phase_file
    summary = (attempt / "summary.md").read_text()
    assert all(name in summary for name in LEDGER)
    titles, files = [], []
    for path in (attempt / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text())
        if "ledger-readiness.feature" in data.get("fullName", ""):
            titles.append((data["titlePath"], data["status"]))
            files.append(f"allure-results/{path.name}")
    # Two scenarios in each readiness phase, filed under own-checks (outside the rootdir).
    assert titles == [(["own-checks", "own-checks", "Ledger team readiness"], "passed")] * 4
    sealed = {entry["path"] for entry in json.loads((attempt / "manifest.json").read_text())
              ["files"]}
    assert set(files) <= sealed and "results-readiness.json" in sealed
