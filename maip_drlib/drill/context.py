"""What every stage function receives: handles, topology, target, options and a decision log.

Not supported: running two drills through one context at once (the log is per drill).
"""

from __future__ import annotations

import getpass
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from maip_drlib.config import Target, Topology

if TYPE_CHECKING:
    from maip_drlib.regions import RegionHandles
    from maip_drlib.resolvers import Resolver


@dataclass(frozen=True)
class OutageDeclaration:
    """The operator's statement that the primary region is down (``--dr-declare-outage``)."""

    reason: str
    declared_by: str
    declared_at: str  # ISO 8601 UTC

    @classmethod
    def now(cls, reason: str) -> OutageDeclaration:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
        return cls(reason=reason, declared_by=who,
                   declared_at=datetime.now(UTC).isoformat(timespec="seconds"))


MIN_SOAK_STEP_S = 10.0  # --dr-soak-step: the shortest soak that still sees a 5XX minute start
MAX_SOAK_STEP_S = 3600.0


@dataclass(frozen=True)
class DrillOptions:
    """The safety flags of DESIGN.md section 4, as given on the command line."""

    execute: bool = False  # --dr-execute: mutating stages may run
    planned: bool = False  # --dr-planned: fence at the application instead of an outage
    declared_outage: OutageDeclaration | None = None  # --dr-declare-outage
    dry_run: bool = False  # --dr-dry-run: plan only, no mutating call
    # --dr-soak-step SECONDS: real seconds of each weighted failback step's soak instead of
    # the feature's minutes (rehearsals and tests; at least MIN_SOAK_STEP_S). None: the
    # feature's value (2 minutes per step in production).
    soak_step_s: float | None = None


@dataclass(frozen=True)
class PollPolicy:
    """How waits poll: simulations poll fast; live targets back off further."""

    initial_s: float = 0.2
    max_s: float = 0.5

    @classmethod
    def for_target(cls, target: Target) -> PollPolicy:
        return cls(0.1, 0.5) if target.simulated else cls(1.0, 15.0)


@dataclass(frozen=True)
class Decision:
    """One recorded decision of a guard or stage: what was decided, on what evidence."""

    at: str
    stage: str
    decision: str
    evidence: dict[str, Any]


@dataclass
class DecisionLog:
    """Append-only, thread-safe record of every guard and stage decision of a drill."""

    entries: list[Decision] = field(default_factory=list)
    listener: Callable[[Decision], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, stage: str, decision: str, **evidence: Any) -> Decision:
        entry = Decision(at=datetime.now(UTC).isoformat(timespec="milliseconds"), stage=stage,
                         decision=decision, evidence=evidence)
        with self._lock:
            self.entries.append(entry)
        if self.listener is not None:
            self.listener(entry)
        return entry


@dataclass(frozen=True)
class SyntheticRequest:
    """A request beyond the health URL that proves the service works (stage 5)."""

    method: str = "GET"
    path: str = "/api/v1/merchants/status"
    expected_status: int = 200


@dataclass
class DrillContext:
    """Everything a stage function needs; built once per drill at the edge."""

    handles: RegionHandles
    topology: Topology
    target: Target
    resolver: Resolver
    options: DrillOptions = field(default_factory=DrillOptions)
    decisions: DecisionLog = field(default_factory=DecisionLog)
    poll: PollPolicy = field(default_factory=PollPolicy)
    progress: Callable[[str], None] = field(default=lambda message: None)
    started_monotonic: float = field(default_factory=time.monotonic)
    # The drill's id (``--dr-drill-id``): keys the data-plane rows a stage writes.
    drill_id: str | None = None
    # Facts read while a region answered, for the stages that must not ask it once it is
    # declared down (``drill/region_facts.py``): e.g. its ALB's DNS name.
    region_facts: dict[str, str] = field(default_factory=dict)

    def real_seconds(self, business_minutes: float) -> float:
        """Real seconds that ``business_minutes`` take on this target (simulations scale)."""
        if self.target.simulated and self.target.time_scale:
            return business_minutes * self.target.time_scale
        return business_minutes * 60.0

    def say(self, message: str) -> None:
        """Progress for the operator (what is being done or awaited)."""
        self.progress(message)
