"""The drill run of one attempt, built once by the command that runs it and handed to the
pytest session as an object: its id, its attempt folder, its journal and the lease it holds.

Inside the session the plugin reads these from here (``pytest_dr.keys.DRILL_RUN_KEY``), not
from command-line options, so a game day has one source for each. A pytest run started by
hand has no drill run and falls back to its options (``--dr-attempt-dir``, ``--dr-drill-id``,
``--dr-lease-holder``). Not supported: two drill runs in one session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from maip_drlib.drill.evidence_dirs import AttemptDir
from maip_drlib.evidence.journal import Journal

if TYPE_CHECKING:
    from maip_drlib.drill.lease import DrillLease, LeaseGrant


@dataclass(frozen=True)
class DrillRun:
    attempt: AttemptDir
    journal: Journal
    lease: DrillLease | None = None  # held, heartbeat running, by the command
    grant: LeaseGrant | None = None

    @property
    def drill_id(self) -> str:
        return self.attempt.drill_id

    @property
    def attempt_dir(self) -> Path:
        return self.attempt.path

    @property
    def holder_id(self) -> str | None:
        """The lease holder the session verifies before destructive scenarios."""
        return self.grant.holder.holder_id if self.grant is not None else None

    def results_file(self, phase: str) -> Path:
        return self.attempt.results_file(phase)
