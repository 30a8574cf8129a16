"""The end of a game day, after its pytest session closed: the summary (RTO end to end, RPO
per store), the synthetic client's view, the DR test record, the journal's last records, the
seal, and the operations that follow it (metrics, upload, completion notice).

Nothing is written into the attempt after the seal (a file added then would fail verify).
Not supported: finishing an interrupted attempt (``gameday.run_gameday`` records the
interruption and leaves the attempt unsealed).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maip_drlib.drill import client_view, gameday_canaries, results_table
from maip_drlib.drill.drill_results import all_results
from maip_drlib.drill.operations import after_gameday
from maip_drlib.drill.stage_result import PhaseRun, StageResult, rows
from maip_drlib.evidence.dr_test_record import RECORD_FILES, write_drill_copy, write_record
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.manifest import Seal, seal

if TYPE_CHECKING:
    from maip_drlib.drill.gameday import GamedayPlan


@dataclass
class GamedayResult:
    exit_code: int
    runs: list[PhaseRun]
    seal: Seal | None
    timings: dict[str, float]
    no_go: bool = False  # stopped after a failed readiness phase, before any mutation


def _end_to_end(plan: GamedayPlan, results: list[StageResult],
                timings: dict[str, float]) -> dict[str, dict]:
    """Measured end-to-end RTO: outage to DR serving; failback start to steady state."""
    spans = {"failover": ("outage", "failover.end"), "failback": ("failback.start",
                                                                  "failback.end")}
    scale = plan.target.time_scale if plan.target.simulated else None
    figures: dict[str, dict] = {}
    for phase, (start, end) in spans.items():
        if start not in timings or end not in timings:
            continue
        stages = [r for r in results if r.phase == phase]
        budgets = [float(r.rto_budget_minutes) for r in stages if r.rto_budget_minutes]
        real_s = timings[end] - timings[start]
        figures[phase] = {
            "real_s": round(real_s, 3),
            "simulated_minutes": round(real_s / scale if scale else real_s / 60.0, 3),
            "budget_minutes": sum(budgets) if budgets else None,
            "complete": bool(stages) and all(r.passed for r in stages)}
    return figures


def _write_summary(plan: GamedayPlan, results: list[StageResult],
                   timings: dict[str, float]) -> None:
    from maip_drlib.evidence.allure_meta import operator_of
    from maip_drlib.evidence.summary_files import write_summary

    rpo_rows: list[dict] = []
    for path in sorted(plan.attempt.path.parent.glob("attempt-*/rpo.json")):
        rpo_rows = json.loads(path.read_text()).get("rpo", rpo_rows)
    if not rpo_rows:
        rpo_rows = [{"store": store, "status": "not measured", "rpo_s": None}
                    for store in ("dynamodb", "rds", "msk")]
    handles = gameday_canaries.gameday_handles(plan)
    try:
        operator = str(operator_of(handles))
    finally:
        handles.close()
    target = plan.target
    write_summary(plan.attempt.path, results=rows(results), rpo=rpo_rows,
                  target={"name": target.name, "kind": target.kind,
                          "regions": [c.region for c in target.connections]},
                  operator=operator, simulated=target.simulated,
                  time_scale=target.time_scale if target.simulated else None,
                  drill_id=plan.attempt.drill_id,
                  rto_end_to_end=_end_to_end(plan, results, timings), redactor=plan.redactor,
                  evidence={"signed": plan.hmac_key is not None,
                            "unsigned_reason": plan.unsigned_evidence})


def finish(plan: GamedayPlan, journal: Journal, runs: list[PhaseRun],
            timings: dict[str, float], started: float) -> GamedayResult:
    results = all_results(plan.attempt.path.parent)
    code = results_table.exit_code(results, [run.exit_code for run in runs])
    _write_summary(plan, results, timings)
    client_view.finish(plan, journal, timings=timings)  # client-view.json, client_seen_rto
    write_record(plan.attempt.path, intended=plan.intended_participants, exit_code=code,
                 redactor=plan.redactor)  # the DR test record of the whole drill, sealed below
    journal.record("summary", files=["summary.md", "summary.json", "timeline.png",
                                     *RECORD_FILES])
    journal.record("drill.end", exit_code=code, seconds=round(time.monotonic() - started, 3))
    journal.close()
    sealed = seal(plan.attempt.path, key=plan.hmac_key)
    write_drill_copy(plan.attempt.path.parent)  # reports/<drill id>/dr-test-record.*
    # After the seal: these write nothing into the attempt (a file added now would fail verify).
    primary_down = bool(plan.control is None and "--dr-declare-outage" in plan.dr_args
                        and not any(r.phase == "failback" and r.passed for r in results))
    after_gameday(plan.operations, plan.attempt.path, target=plan.target,
                  topology=plan.topology, digest=sealed.digest if sealed else None,
                  primary_down=primary_down, redactor=plan.redactor, echo=plan.echo)
    return GamedayResult(code, runs, sealed, timings)
