"""The rows behind timeline.png (maip_drlib/evidence/timeline_rows.py): each readiness phase
is one bar, stages keep one bar each, and the RTO end to end of failover and failback has a
bar of its own."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from maip_drlib.evidence.timeline_rows import timeline_rows

pytestmark = pytest.mark.unit


def _check(name: str, outcome: str = "passed", minutes: float = 0.05) -> dict[str, Any]:
    return {"phase": "readiness", "stage": None, "scenario": name, "outcome": outcome,
            "simulated_minutes": minutes}


def _stage(phase: str, stage: int | None, minutes: float, budget: float | None = None,
           outcome: str = "passed", rto_ok: bool | None = True) -> dict[str, Any]:
    return {"phase": phase, "stage": stage, "scenario": f"{phase} scenario {stage}",
            "outcome": outcome, "simulated_minutes": minutes, "rto_budget_minutes": budget,
            "rto_ok": rto_ok if budget else None}


def _drill() -> list[dict[str, Any]]:
    before = [_check(f"check {n}") for n in range(9)] + [_check("quota", "skipped", 0.0)]
    failover = [_stage("failover", n, 2.0, 5.0) for n in range(1, 6)]
    rpo = [_stage("rpo", None, 0.5), _stage("rpo", None, 0.1)]
    hold = [_stage("hold", None, 2.0)]
    failback = [_stage("failback", n, 10.0, 30.0) for n in range(1, 5)]
    after = [_check(f"check {n}") for n in range(8)] + [_check("quota", "failed", 0.01)]
    return before + failover + rpo + hold + failback + after


def test_each_readiness_phase_is_one_row() -> None:
    rows = timeline_rows(_drill())
    readiness = [r for r in rows if r.phase.startswith("readiness")]
    assert [(r.phase, r.kind, r.scenarios) for r in readiness] == [
        ("readiness", "phase", 10), ("readiness-after", "phase", 9)]
    assert readiness[0].label == "readiness before the drill: 9 passed, 1 skipped"
    assert readiness[0].outcome == "passed"
    assert readiness[1].label == "readiness after the drill: 8 passed, 1 failed"
    assert readiness[1].outcome == "failed"  # the worst of its scenarios
    assert readiness[0].minutes == pytest.approx(0.45)
    assert len(rows) == 1 + 5 + 1 + 2 + 1 + 4 + 1 + 1  # 29 results, 16 rows


def test_rows_in_drill_order_end_to_end() -> None:
    rows = timeline_rows(_drill())
    assert [r.phase for r in rows] == (["readiness"] + ["failover"] * 6 + ["rpo"] * 2
                                       + ["hold"] + ["failback"] * 5 + ["readiness-after"])
    stages = [r for r in rows if r.kind != "end_to_end"]
    for previous, row in itertools.pairwise(stages):
        assert row.start == pytest.approx(previous.end)  # laid end to end


def test_the_rto_end_to_end_stands_out_with_its_measure_and_budget() -> None:
    end_to_end = {"failover": {"simulated_minutes": 12.5, "budget_minutes": 45.0, "ok": True,
                               "complete": True},
                  "failback": {"simulated_minutes": 200.0, "budget_minutes": 165.0,
                               "ok": False, "complete": True}}
    rows = timeline_rows(_drill(), end_to_end)
    whole = [r for r in rows if r.kind == "end_to_end"]
    assert [r.label for r in whole] == ["RTO end to end, failover: 12.5 of 45 min, met",
                                        "RTO end to end, failback: 200.0 of 165 min, OVER"]
    assert [r.outcome for r in whole] == ["passed", "rto_over"]
    failover = [r for r in rows if r.kind == "stage" and r.phase == "failover"]
    assert whole[0].start == failover[0].start and whole[0].minutes == 12.5
    assert whole[0].budget_minutes == 45.0


def test_without_the_figures_the_end_to_end_row_is_the_sum_of_the_stages() -> None:
    whole = [r for r in timeline_rows(_drill()) if r.kind == "end_to_end"]
    assert [r.label for r in whole] == ["failover, sum of its stages: 10.0 min",
                                        "failback, sum of its stages: 40.0 min"]


def test_a_readiness_run_alone_is_one_row_named_readiness() -> None:
    rows = timeline_rows([_check("a"), _check("b", "skipped", 0.0)])
    assert [(r.label, r.kind) for r in rows] == [("readiness: 1 passed, 1 skipped", "phase")]


def test_a_stage_over_its_budget_and_a_failed_stage() -> None:
    rows = timeline_rows([_stage("failover", 1, 7.0, 5.0, rto_ok=False),
                          _stage("failover", 2, 1.0, 15.0, outcome="failed")])
    assert [r.outcome for r in rows] == ["rto_over", "failed", "failed"]
