"""Stage order, skipping after a functional failure, RTO verdicts and the results file.

A scenario tagged ``@failover``/``@failback`` and ``@stage_N`` is stage N of that phase. The
drill's order is readiness, replication, failover 1..5, failback 1..4, whatever the file names.
A stage that fails its function makes every later stage skip with the reason; a stage over its
RTO budget fails the RTO verdict only (the drill goes on). Budgets are simulated minutes: a
simulation's ``time_scale`` shrinks the clock, never the figures.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from maip_drlib.drill import registry
from maip_drlib.drill.stage_result import StageResult, rows
from maip_drlib.errors import (
    CheckFailed,
    CredentialsError,
    GuardRefused,
    NotFound,
    PermissionDenied,
    Unreachable,
    WaitFailed,
    WaitTimeout,
)

PHASE_ORDER = {"readiness": 0, "replication": 1, "failover": 2, "rpo": 3, "failback": 4}
RTO_BUDGET_KEY = pytest.StashKey[float]()
STARTED_KEY = pytest.StashKey[float]()


def phase_of(item: pytest.Item) -> str | None:
    for phase in PHASE_ORDER:
        if item.get_closest_marker(phase) is not None:
            return phase
    return None


def stage_of(item: pytest.Item) -> int | None:
    for number in sorted({stage.number for stage in registry.STAGES}):
        if item.get_closest_marker(f"stage_{number}") is not None:
            return number
    return None


def drill_order_key(item: pytest.Item) -> tuple[int, int]:
    phase = phase_of(item)
    return (PHASE_ORDER.get(phase, -1) if phase else -1, stage_of(item) or 0)


def set_rto_budget(item: pytest.Item, minutes: float) -> None:
    item.stash[RTO_BUDGET_KEY] = minutes


def error_kind(error: BaseException) -> str:
    if isinstance(error, PermissionDenied | CredentialsError):
        return "permission"
    if isinstance(error, GuardRefused):
        return "guard"
    if isinstance(error, Unreachable):
        return "environment"
    if isinstance(error, CheckFailed | NotFound | WaitTimeout | WaitFailed | AssertionError):
        return "check"
    return "error"


def scenario_name(item: pytest.Item) -> str:
    """The Gherkin scenario's name (pytest-bdd writes "Feature: Scenario" as the docstring)."""
    doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""
    return doc.split(": ", 1)[1] if ": " in doc else item.name


class StageTracker:
    """Per-session record of stage outcomes; decides skips and writes the results file."""

    def __init__(self, time_scale: float | None):
        self.time_scale = time_scale
        self.results: dict[str, StageResult] = {}
        self.failed_stage: StageResult | None = None

    def begin(self, item: pytest.Item) -> None:
        item.stash[STARTED_KEY] = time.monotonic()
        phase = phase_of(item)
        if phase in ("failover", "failback") and self.failed_stage is not None:
            failed = self.failed_stage
            pytest.skip(f"skipped: {failed.phase} stage {failed.stage} failed "
                        f"({failed.scenario}): {failed.message[:200]}")

    def finish(self, item: pytest.Item, report: pytest.TestReport,
               error: BaseException | None) -> None:
        phase = phase_of(item) or "other"
        result = self.results.get(item.nodeid) or StageResult(
            nodeid=item.nodeid, scenario=scenario_name(item), phase=phase,
            stage=stage_of(item), outcome="passed",
            destructive=item.get_closest_marker("destructive") is not None)
        self.results[item.nodeid] = result
        if report.skipped:
            result.outcome = "skipped"
            longrepr = report.longrepr
            result.message = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
            return
        if report.failed:
            result.outcome = "failed"
            result.error_kind = error_kind(error) if error is not None else "error"
            result.message = str(error) if error is not None else str(report.longrepr)[-500:]
            if isinstance(error, CheckFailed):
                result.expected = None if error.expected is None else str(error.expected)
                result.observed = None if error.observed is None else str(error.observed)
            if phase in ("failover", "failback") and result.error_kind != "rto":
                self.failed_stage = self.failed_stage or result
        if report.when == "call" or report.failed:
            started = item.stash.get(STARTED_KEY, None)
            result.duration_s = time.monotonic() - started if started else report.duration
            if self.time_scale:
                result.simulated_minutes = result.duration_s / self.time_scale
            else:
                result.simulated_minutes = result.duration_s / 60.0
            budget = item.stash.get(RTO_BUDGET_KEY, None)
            if budget is not None:
                result.rto_budget_minutes = budget
                result.rto_ok = result.simulated_minutes <= budget

    def write(self, path: Path) -> None:
        """Write atomically (temporary file, then rename): never a half-written file."""
        temporary = path.with_name(path.name + ".tmp")
        from maip_drlib.evidence.redacted_json import dumps  # evidence: redacted, then JSON

        temporary.write_text(dumps(rows(list(self.results.values())), indent=2))
        temporary.replace(path)


def progress_line(item: pytest.Item, step: object) -> str | None:
    """``[failover 2] When ... (elapsed 3.1s, budget 10 min)`` for drill scenarios."""
    phase = phase_of(item)
    if phase is None:
        return None
    stage = stage_of(item)
    started = item.stash.get(STARTED_KEY, None)
    elapsed = f"elapsed {time.monotonic() - started:.1f}s" if started else "starting"
    budget = item.stash.get(RTO_BUDGET_KEY, None)
    budget_text = f", RTO budget {budget:g} min" if budget is not None else ""
    label = f"{phase} {stage}" if stage else phase
    keyword = getattr(step, "keyword", "")
    name = getattr(step, "name", str(step))
    return f"[{label}] {keyword} {name} ({elapsed}{budget_text})"
