"""The game day with the data plane, as users run it: ``maip-dr gameday`` (the README's main
job: the embedded simulation, its data plane on by default; the session's shared game day,
tests/shared_gameday.py): RDS and DynamoDB RPO side by side in the summary and on the
terminal, the promoted database accepts a write, failback catches the split brain and checks
data continuity (its wall time is printed; the speed goal is measured in benchmarks/)."""

from __future__ import annotations

import json
import re

import pytest
from shared_gameday import SharedGameDay

from maip_drlib.sim.postgres import find_binaries, search_places

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


def _needs_postgres() -> None:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()))


def test_gameday_runs_the_data_plane_by_default(embedded_gameday: SharedGameDay) -> None:
    _needs_postgres()
    result = embedded_gameday
    print(f"maip-dr gameday (data plane on): {result.wall_s:.1f}s wall")
    assert result.returncode == 0, result.output
    assert "verdict: PASS (exit 0)" in result.stdout
    assert "with its data plane: PostgreSQL and DNS" in result.stderr
    assert "accepts writes" in result.stdout  # failover 2 on the promoted database
    rpo_line = next(line for line in result.stdout.splitlines()
                    if line.startswith("RPO per store: "))
    assert re.search(r"dynamodb \d+\.\d{3} s \(\d+ canaries lost; target 5 s: ok\); "
                     r"rds \d+\.\d{3} s \(\d+ canaries lost; target 5 s: ok\)", rpo_line), rpo_line
    attempt = result.attempt
    summary = json.loads((attempt / "summary.json").read_text())
    rows = {row["store"]: row for row in summary["rpo"]}
    for store in ("dynamodb", "rds"):
        assert rows[store]["rpo_s"] is not None and rows[store]["ok"] is True, rows[store]
        assert rows[store]["target_s"] == 5
    text = (attempt / "summary.md").read_text()
    assert "| dynamodb | " in text and "| rds | " in text
    decisions = (attempt / "results-failback.decisions.json").read_text()
    assert "old writer's database role: writer" in decisions and "data continuity" in decisions
