"""Journal records from inside pytest: one per stage, step and library decision or action.

Active when the session has a drill run (``maip-dr gameday`` and ``stage`` hand theirs over:
the same journal object the command writes) or ``--dr-attempt-dir`` names an attempt folder
(a pytest run by hand appends to that attempt's journal, continuing its hash chain). Several
processes may append at once: the journal locks the file for each record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from maip_drlib.pytest_dr.stages import phase_of, scenario_name, stage_of

if TYPE_CHECKING:
    from maip_drlib.evidence.journal import Journal

JOURNAL_KEY = pytest.StashKey["Journal"]()
STEP_STARTED_KEY = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("maip-dr").addoption(
        "--dr-attempt-dir", type=Path, default=None,
        help="Attempt folder whose journal.jsonl this run appends to.")


def _journal(config: pytest.Config) -> Journal | None:
    from maip_drlib.pytest_dr.keys import drill_run_of

    drill = drill_run_of(config)
    if drill is not None:
        return drill.journal
    return config.stash.get(JOURNAL_KEY, None)


def journal_of(config: pytest.Config) -> Journal | None:
    """The attempt's journal of this run: the drill run's, else one opened on
    ``--dr-attempt-dir``; None without either."""
    return _journal(config)


def pytest_configure(config: pytest.Config) -> None:
    from maip_drlib.pytest_dr.keys import drill_run_of

    attempt_dir = config.getoption("--dr-attempt-dir")
    if attempt_dir is None or drill_run_of(config) is not None:
        return
    from maip_drlib.evidence.edge_secrets import redactor_from_environment
    from maip_drlib.evidence.journal import Journal

    number = int(attempt_dir.name.rsplit("-", 1)[-1])
    config.stash[JOURNAL_KEY] = Journal.open(attempt_dir, drill_id=attempt_dir.parent.name,
                                             attempt=number,
                                             redactor=redactor_from_environment(os.environ))


def _stage_fields(item: pytest.Item) -> dict[str, object]:
    return {"phase": phase_of(item), "stage": stage_of(item), "scenario": scenario_name(item),
            "nodeid": item.nodeid}


def pytest_runtest_setup(item: pytest.Item) -> None:
    journal = _journal(item.config)
    if journal is not None and phase_of(item) is not None:
        journal.record("stage.start", **_stage_fields(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    journal = _journal(item.config)
    relevant = isinstance(report, pytest.TestReport) and (
        report.when == "call" or report.failed or report.skipped)
    if journal is not None and phase_of(item) is not None and relevant:
        assert isinstance(report, pytest.TestReport)
        error = call.excinfo.value if call.excinfo is not None else None
        journal.record("stage.end", **_stage_fields(item),
                       outcome=report.outcome, when=report.when,
                       duration_s=round(report.duration, 3),
                       error=f"{type(error).__name__}: {error}" if error else None)
    return report


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: object, scenario: object,
                           step: object, step_func: object) -> None:
    journal = _journal(request.config)
    if journal is None:
        return
    request.node.stash[STEP_STARTED_KEY] = time.monotonic()
    journal.record("step.start", nodeid=request.node.nodeid,
                   step=f"{getattr(step, 'keyword', '')} {getattr(step, 'name', step)}")


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: object, scenario: object,
                          step: object, step_func: object, step_func_args: dict) -> None:
    journal = _journal(request.config)
    if journal is None:
        return
    started = request.node.stash.get(STEP_STARTED_KEY, time.monotonic())
    fields: dict[str, object] = {
        "nodeid": request.node.nodeid, "outcome": "passed",
        "step": f"{getattr(step, 'keyword', '')} {getattr(step, 'name', step)}",
        "duration_s": round(time.monotonic() - started, 3)}
    outcome = None
    if getattr(step, "type", "") == "when":  # the When step is the one that ran the stage
        try:
            outcome = request.getfixturevalue("stage_outcome")
        except pytest.FixtureLookupError:
            outcome = None
    journal.record("step.end", **fields)
    for action in getattr(outcome, "actions", ()) or ():
        journal.record("action", nodeid=request.node.nodeid,
                       action=action)


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: object, scenario: object,
                          step: object, step_func: object, step_func_args: dict,
                          exception: BaseException) -> None:
    journal = _journal(request.config)
    if journal is None:
        return
    journal.record("step.end", nodeid=request.node.nodeid,
                   step=f"{getattr(step, 'keyword', '')} {getattr(step, 'name', step)}",
                   outcome="failed", error=f"{type(exception).__name__}: {exception}")


def decision_listener(config: pytest.Config) -> Callable[[object], None] | None:
    """A DecisionLog listener that journals every decision, when a journal is open."""
    journal = _journal(config)
    if journal is None:
        return None

    def listen(decision: object) -> None:
        journal.record(
            "decision", stage=getattr(decision, "stage", ""),
            decision=getattr(decision, "decision", ""),
            evidence=getattr(decision, "evidence", {}))

    return listen


def call_listener(config: pytest.Config) -> Callable[[dict], None]:
    """A WriteGate listener that journals every mutating call (intent, then result) as a
    ``call`` record, when a journal is open (looked up at each call)."""

    def listen(fields: dict) -> None:
        journal = _journal(config)
        if journal is not None:
            journal.record("call", **fields)

    return listen
