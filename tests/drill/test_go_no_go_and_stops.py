"""Go / no-go after readiness, where a stopped drill leaves the platform, and readiness
checks of a region declared down (maip_drlib/drill/go_no_go.py, where_it_stands.py,
steps/readiness_steps.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from maip_drlib.drill.go_no_go import EXPECTED_UNDER_OUTAGE, go_no_go
from maip_drlib.drill.stage_result import PhaseRun, StageResult
from maip_drlib.drill.where_it_stands import (
    Terminated,
    record_interruption,
    resume_from,
    where_it_stands,
)
from maip_drlib.errors import CheckFailed, Unreachable
from maip_drlib.evidence.journal import Journal, scan_journal
from maip_drlib.evidence.redact import Redactor
from maip_drlib.pytest_dr.fixtures import DeclaredOutage
from steps.readiness_steps import expected_under_declared_outage

pytestmark = pytest.mark.unit


@dataclass
class FakeAttempt:
    path: Path
    drill_id: str = "gameday-20261206T000000Z"


@dataclass
class FakeTarget:
    kind: str = "sim"


@dataclass
class FakePlan:
    attempt: FakeAttempt
    accept_readiness_failures: str | None = None
    resume_command: str = ("maip-dr --config c.toml --target sim gameday --drill-id D "
                           "--resume-from {phase}:{stage} --dr-execute --dr-confirm sim")
    target: FakeTarget = field(default_factory=FakeTarget)
    said: list[str] = field(default_factory=list)

    def echo(self, line: str) -> None:
        self.said.append(line)


def _journal(tmp_path: Path) -> tuple[FakePlan, Journal]:
    folder = tmp_path / "gameday-20261206T000000Z" / "attempt-1"
    folder.mkdir(parents=True)
    plan = FakePlan(FakeAttempt(folder))
    return plan, Journal.open(folder, drill_id=plan.attempt.drill_id, attempt=1,
                              redactor=Redactor())


def _records(plan: FakePlan) -> list[dict]:
    return scan_journal(plan.attempt.path / "journal.jsonl").records


def _run(*results: dict, code: int = 0) -> PhaseRun:
    return PhaseRun(phase="readiness", exit_code=code,
                    results=tuple(StageResult.from_row(row) for row in results))


FAILED_DR_CHECK = {"scenario": "DR can run the services' images", "outcome": "failed",
                   "message": "CheckFailed: image missing in us-west-2"}
EXPECTED = {"scenario": "Both EKS clusters", "outcome": "skipped",
            "message": f"{EXPECTED_UNDER_OUTAGE} (INC-1): us-east-1 unreachable"}


def test_a_failed_readiness_is_a_no_go(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    assert go_no_go(plan, journal, _run(FAILED_DR_CHECK, code=1)) is False  # type: ignore[arg-type]
    journal.close()
    decision = [r for r in _records(plan) if r["kind"] == "decision"][-1]
    assert decision["decision"] == "no-go: readiness failed"
    assert decision["failed"][0]["scenario"] == FAILED_DR_CHECK["scenario"]
    assert "NO-GO" in plan.said[-1] and "--dr-accept-readiness-failures" in plan.said[-1]


def test_an_accepted_readiness_failure_goes_on_and_is_journalled(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    plan.accept_readiness_failures = "image sync lags, accepted by the DR lead"
    assert go_no_go(plan, journal, _run(FAILED_DR_CHECK, code=1)) is True  # type: ignore[arg-type]
    journal.close()
    accepted = [r for r in _records(plan) if r["kind"] == "readiness.accepted"][-1]
    assert accepted["reason"] == plan.accept_readiness_failures
    assert accepted["failed"][0]["scenario"] == FAILED_DR_CHECK["scenario"]
    assert "@" in accepted["operator"]


def test_expected_failures_of_the_declared_region_are_recorded_not_a_no_go(
        tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    passed = {"scenario": "DR can run the services' images", "outcome": "passed"}
    assert go_no_go(plan, journal, _run(EXPECTED, passed)) is True  # type: ignore[arg-type]
    journal.close()
    decision = [r for r in _records(plan) if r["kind"] == "decision"][-1]
    assert decision["decision"].startswith("go")
    assert decision["expected_failures"][0]["scenario"] == "Both EKS clusters"


def test_a_readiness_phase_that_did_not_run_is_a_no_go(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    assert go_no_go(plan, journal, _run(code=4)) is False  # type: ignore[arg-type]


def _stage(journal: Journal, phase: str, stage: int, outcome: str | None) -> None:
    journal.record("stage.start", phase=phase, stage=stage, scenario=f"{phase} {stage}")
    if outcome is not None:
        journal.record("stage.end", phase=phase, stage=stage, outcome=outcome)


def test_a_stopped_drill_says_where_it_stands_and_how_to_resume(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    journal.record("phase.start", phase="failover")
    _stage(journal, "failover", 1, "passed")
    _stage(journal, "failover", 2, None)
    journal.record("call", event="intent", stage="failover 2", service="rds",
                   operation="PromoteReadReplica", region="us-west-2",
                   resource="DBInstanceIdentifier=maip-prod-postgres-replica")
    journal.record("call", event="result", stage="failover 2", service="rds",
                   operation="PromoteReadReplica", region="us-west-2",
                   resource="DBInstanceIdentifier=maip-prod-postgres-replica", outcome="ok")
    state = where_it_stands(plan.attempt.path)
    assert state["completed"] == ["failover 1"]
    assert state["stopped"]["state"] == "interrupted"
    assert resume_from(state, "failover") == "failover:2"
    record_interruption(plan, journal, Terminated("SIGTERM"))  # type: ignore[arg-type]
    journal.close()
    records = _records(plan)
    assert records[-2]["kind"] == "drill.interrupted" and records[-2]["signal"] == "SIGTERM"
    stopped = records[-1]
    assert stopped["kind"] == "drill.state"
    assert stopped["stopped_stage"] == "failover 2"
    assert stopped["resume_command"].endswith(
        "--resume-from failover:2 --dr-execute --dr-confirm sim")
    said = plan.said[-1]
    assert "1 mutating call(s): rds:PromoteReadReplica" in said
    assert "resume with: maip-dr --config c.toml" in said


def test_a_failed_stage_resumes_at_that_stage(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    _stage(journal, "failback", 1, "passed")
    _stage(journal, "failback", 2, "passed")
    _stage(journal, "failback", 3, "failed")
    journal.close()
    state = where_it_stands(plan.attempt.path)
    assert state["stopped"]["state"] == "failed"
    assert resume_from(state, "failback") == "failback:3"


def test_nothing_to_resume_before_the_first_stage(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    journal.record("phase.start", phase="readiness")
    record_interruption(plan, journal, KeyboardInterrupt())
    journal.close()
    assert _records(plan)[-1]["resume_command"] is None
    assert "nothing was mutated yet" in plan.said[-1]


def _declared(region: str | None) -> tuple[DeclaredOutage, list[str]]:
    notes: list[str] = []
    return DeclaredOutage(region=region, reason="INC-1 us-east-1 down" if region else None,
                          note=notes.append), notes


def _step_failing_with(error: Exception):
    @expected_under_declared_outage
    def step(dr_readiness_inputs: object, role: str) -> None:
        raise error
    return step


def test_a_failure_of_the_declared_region_is_noted_and_the_scenario_goes_on() -> None:
    outage, notes = _declared("us-east-1")
    step = _step_failing_with(Unreachable("eks in us-east-1 did not answer", region="us-east-1"))
    step(dr_readiness_inputs=None, role="primary", dr_declared_outage=outage)
    assert notes and EXPECTED_UNDER_OUTAGE in notes[0] and "INC-1" in notes[0]


@pytest.mark.parametrize(("declared", "failing_region"), [
    (None, "us-east-1"),  # no declaration: every failure stands
    ("us-east-1", "us-west-2"),  # what DR needs still fails the check
])
def test_other_failures_stand(declared: str | None, failing_region: str) -> None:
    outage, notes = _declared(declared)
    step = _step_failing_with(CheckFailed("not ACTIVE", region=failing_region))
    with pytest.raises(CheckFailed):
        step(dr_readiness_inputs=None, role="secondary", dr_declared_outage=outage)
    assert notes == []


def test_the_decorated_step_asks_pytest_for_the_declaration() -> None:
    import inspect

    step = _step_failing_with(CheckFailed("x"))
    assert list(inspect.signature(step).parameters) == ["dr_readiness_inputs", "role",
                                                       "dr_declared_outage"]


def test_journal_fields_are_plain_json(tmp_path: Path) -> None:
    plan, journal = _journal(tmp_path)
    go_no_go(plan, journal, _run(FAILED_DR_CHECK, code=1))  # type: ignore[arg-type]
    journal.close()
    json.dumps(_records(plan))
