"""Where a drill's evidence lands: ``reports/<drill id>/attempt-<n>/`` (DESIGN.md section 5).

A new drill gets a fresh id; resuming a drill (same id) appends the next attempt. Not
supported yet: the journal, manifests and HTML report (the compliance-evidence work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from maip_drlib.errors import ConfigError

DRILL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


@dataclass(frozen=True)
class AttemptDir:
    drill_id: str
    number: int
    path: Path

    @property
    def allure_results(self) -> Path:
        return self.path / "allure-results"

    def results_file(self, phase: str) -> Path:
        return self.path / f"results-{phase}.json"


def new_drill_id(kind: str) -> str:
    return f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def next_attempt(reports: Path, drill_id: str) -> AttemptDir:
    if not DRILL_ID.match(drill_id):
        raise ConfigError(f"drill id {drill_id!r} must be letters, digits, '.', '_' or '-'",
                          key="--drill-id")
    drill = reports.resolve() / drill_id
    drill.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name.split("-", 1)[1]) for p in drill.glob("attempt-*")
               if p.name.split("-", 1)[1].isdigit()]
    number = max(numbers, default=0) + 1
    path = drill / f"attempt-{number}"
    path.mkdir()
    return AttemptDir(drill_id, number, path)
