"""The result of one drill stage, as reported to the operator and the decision log.

Not supported: outcomes do not carry exceptions; a failing stage raises instead
(CheckFailed, GuardRefused, WaitTimeout, ...), and an outcome is only returned on success.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StageOutcome:
    """What one stage did: a one-line summary, the mutating calls made, small evidence."""

    stage: str  # e.g. "failover 2"
    summary: str  # one line for the operator
    actions: tuple[str, ...] = ()  # mutating calls made; empty when the work was already done
    facts: dict[str, object] = field(default_factory=dict)  # small JSON-able evidence

    @property
    def changed_something(self) -> bool:
        """True when the stage made at least one mutating call."""
        return bool(self.actions)


@dataclass(frozen=True)
class PlannedCall:
    """One mutating call a stage would make (the dry-run planner's unit, DESIGN.md section 4).

    ``service`` is the AWS service name or ``kubernetes``; ``operation`` the API operation
    (boto3 snake_case name, or the Kubernetes client method); ``parameters`` what it would send;
    ``condition``, for a call the stage makes only if the platform has not done it by itself by
    then, says when (None: the call is made).
    """

    stage: str
    service: str
    region: str
    operation: str
    parameters: dict[str, object] = field(default_factory=dict)
    condition: str | None = None

    def __str__(self) -> str:
        text = f"[{self.stage}] {self.service} {self.region} {self.operation} {self.parameters}"
        return text + (f" (only if {self.condition})" if self.condition else "")

    def as_dict(self) -> dict[str, object]:
        """The call as ``maip-dr plan --json`` and the journal's ``drill.plan`` list it."""
        found: dict[str, object] = {"stage": self.stage, "service": self.service,
                                    "operation": self.operation, "region": self.region,
                                    "parameters": dict(self.parameters)}
        if self.condition:
            found["condition"] = self.condition
        return found
