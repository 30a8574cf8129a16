"""One scenario's result in a drill phase, typed: what the stage tracker records, what the
game day decides on, and one row of a ``results-<phase>.json`` file.

The JSON row is the evidence format (``to_row``/``from_row``); keys a row has that this type
does not know are ignored when it is read back, and a missing optional key takes its default.
Not supported: rows without ``scenario`` or ``outcome`` (a ``ValueError`` names the key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

OUTCOMES = ("passed", "failed", "skipped")


@dataclass
class StageResult:
    nodeid: str
    scenario: str
    phase: str
    stage: int | None
    outcome: str  # passed, failed, skipped
    error_kind: str | None = None  # check, guard, environment, permission, error
    message: str = ""
    duration_s: float = 0.0
    simulated_minutes: float | None = None
    rto_budget_minutes: float | None = None
    rto_ok: bool | None = None
    destructive: bool = False
    # A failed check's verdict (``CheckFailed``): what was expected and what was observed.
    expected: str | None = None
    observed: str | None = None
    # The hold in DR's own figures (``drill/hold.py``: ``results-hold.json``); None otherwise.
    hold: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def to_row(self) -> dict[str, Any]:
        """The JSON row of the results file (and of --json documents)."""
        row = asdict(self)
        if row["hold"] is None:  # only the hold's row has it
            del row["hold"]
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StageResult:
        for key in ("scenario", "outcome"):
            if key not in row:
                raise ValueError(f"a stage result row has no {key!r}")
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in row.items() if key in known}
        values.setdefault("nodeid", str(row["scenario"]))
        values.setdefault("phase", "other")
        values.setdefault("stage", None)
        return cls(**values)


def rows(results: tuple[StageResult, ...] | list[StageResult]) -> list[dict[str, Any]]:
    """The JSON rows of ``results``, in order (at the evidence boundary only)."""
    return [result.to_row() for result in results]


@dataclass(frozen=True)
class PhaseRun:
    """One phase of a drill's session: its name, its exit code as a pytest process would have
    had it (0 passed, 1 a failure, 5 nothing selected, 2-4 a stop) and its results."""

    phase: str
    exit_code: int
    results: tuple[StageResult, ...] = ()

    @property
    def failed(self) -> bool:
        return self.exit_code not in (0, 5) or any(r.failed for r in self.results)
