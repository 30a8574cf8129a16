"""The rows ``timeline.png`` draws, from a drill's stage results (the model behind the plot).

- Each readiness phase is ONE row: its scenarios are read-only checks of a few simulated
  seconds each, so a row per scenario buried the stages. A run of consecutive readiness
  results is a phase: before the drill when no failover, RPO, hold or failback result came
  first, after the drill otherwise. Its width is the sum of its scenarios', its outcome the
  worst of them (failed, else passed, else skipped), its label counts them
  ("readiness before the drill: 9 passed, 1 skipped").
- Failover and failback stages, RPO checks and the hold keep a row each (their RTO budget
  with them).
- After the last stage of the failover and of the failback, a row for the phase's RTO end to
  end, from the start of its first stage: as long as the measured figure, with its budget and
  verdict, when ``end_to_end`` gives them (``summary.json``'s ``rto_end_to_end``:
  ``simulated_minutes``, ``budget_minutes``, ``ok``; the clock between the stages counts, so
  it can outrun the stages' bars), else as long as the stages together, labelled so.

Rows are laid end to end in the order given (stage results carry durations, not clock times).
Not supported: overlapping stages, and readiness results interleaved with stages (each run of
them is a phase of its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

STAGED = ("failover", "failback")


@dataclass(frozen=True)
class TimelineRow:
    """One horizontal bar."""

    label: str
    start: float  # simulated minutes from the first row's start
    minutes: float
    outcome: str  # passed, rto_over, failed, skipped, other
    kind: str  # "phase" (a grouped readiness phase), "stage", "end_to_end"
    phase: str  # readiness, readiness-after, failover, rpo, hold, failback, ...
    budget_minutes: float | None = None
    scenarios: int = 1

    @property
    def end(self) -> float:
        return self.start + self.minutes


def minutes_of(result: dict[str, Any]) -> float:
    value = result.get("simulated_minutes")
    if value is None:
        value = float(result.get("duration_s") or 0.0) / 60.0
    return float(value)


def outcome_of(result: dict[str, Any]) -> str:
    outcome = str(result.get("outcome", "other"))
    if outcome == "passed" and result.get("rto_ok") is False:
        return "rto_over"
    return outcome if outcome in ("passed", "failed", "skipped") else "other"


def label_of(result: dict[str, Any]) -> str:
    phase, stage = result.get("phase", ""), result.get("stage")
    head = f"{phase} {stage}" if stage else str(phase)
    return f"{head}: {result.get('scenario', '')}"


def _worst(outcomes: Iterable[str]) -> str:
    seen = set(outcomes)
    for outcome in ("failed", "rto_over", "passed", "skipped"):
        if outcome in seen:
            return outcome
    return "other"


def _counts(outcomes: list[str]) -> str:
    order = ("passed", "failed", "skipped", "rto_over", "other")
    return ", ".join(f"{outcomes.count(o)} {o}" for o in order if outcomes.count(o))


def _readiness_row(group: list[dict[str, Any]], start: float, after: bool,
                   only_readiness: bool) -> TimelineRow:
    outcomes = [outcome_of(r) for r in group]
    title = ("readiness" if only_readiness else
             "readiness after the drill" if after else "readiness before the drill")
    return TimelineRow(label=f"{title}: {_counts(outcomes)}", start=start,
                       minutes=sum(minutes_of(r) for r in group), outcome=_worst(outcomes),
                       kind="phase", phase="readiness-after" if after else "readiness",
                       scenarios=len(group))


def _end_to_end_row(phase: str, stages: list[TimelineRow],
                    figures: dict[str, Any] | None) -> TimelineRow:
    start, end = stages[0].start, stages[-1].end
    if figures and figures.get("simulated_minutes") is not None:
        measured = float(figures["simulated_minutes"])
        budget = figures.get("budget_minutes")
        verdict = ("met" if figures.get("ok") else "OVER" if figures.get("ok") is False
                   else "incomplete")
        of = f" of {float(budget):g}" if budget else ""
        label = f"RTO end to end, {phase}: {measured:.1f}{of} min, {verdict}"
        outcome = {"met": "passed", "OVER": "rto_over"}.get(verdict, "failed")
        return TimelineRow(label=label, start=start, minutes=measured, outcome=outcome,
                           kind="end_to_end", phase=phase,
                           budget_minutes=float(budget) if budget else None)
    outcomes = [s.outcome for s in stages]
    label = f"{phase}, sum of its stages: {end - start:.1f} min"
    return TimelineRow(label=label, start=start, minutes=end - start, outcome=_worst(outcomes),
                       kind="end_to_end", phase=phase)


def timeline_rows(results: list[dict[str, Any]],
                  end_to_end: dict[str, Any] | None = None) -> list[TimelineRow]:
    """The rows to draw for ``results`` (stage result dicts, in drill order)."""
    only_readiness = all(r.get("phase") == "readiness" for r in results)
    rows: list[TimelineRow] = []
    start = 0.0
    seen_stage = False
    index = 0
    while index < len(results):
        result = results[index]
        if result.get("phase") == "readiness":
            group = []
            while index < len(results) and results[index].get("phase") == "readiness":
                group.append(results[index])
                index += 1
            row = _readiness_row(group, start, seen_stage, only_readiness)
            rows.append(row)
            start = row.end
            continue
        budget = result.get("rto_budget_minutes")
        row = TimelineRow(label=label_of(result), start=start, minutes=minutes_of(result),
                          outcome=outcome_of(result), kind="stage",
                          phase=str(result.get("phase", "other")),
                          budget_minutes=float(budget) if budget else None)
        rows.append(row)
        start = row.end
        seen_stage = True
        index += 1
        following = results[index].get("phase") if index < len(results) else None
        if row.phase in STAGED and following != row.phase:
            stages = [r for r in rows if r.kind == "stage" and r.phase == row.phase]
            rows.append(_end_to_end_row(row.phase, stages, (end_to_end or {}).get(row.phase)))
    return rows
