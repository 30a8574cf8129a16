"""The approval's items and their parts: what a request and a decision hold, their keys.

Constants (timeouts, decisions, limits), the refusals (``ApprovalRefused`` and its kinds,
``SameIdentity``, ``AlreadyDecided``, ``NothingPending``), the checks of ``--dr-approval-timeout``
and ``--reject``, ``StageRef``, the item keys, ``ApprovalRequest`` and ``Decision``. Reading and
writing them in the table, approving and waiting are ``drill.approval``'s. Not supported:
items of other kinds in the lease table (the lease's own is ``drill.lease_item``).
"""

from __future__ import annotations

import getpass
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from maip_drlib.drill.lease_item import LEASE_KEY_ATTRIBUTE
from maip_drlib.errors import ConfigError, GuardRefused

APPROVAL_TIMEOUT_DEFAULT_MINUTES = 30.0
APPROVAL_TIMEOUT_MIN_MINUTES = 1.0
APPROVAL_TIMEOUT_MAX_MINUTES = 1440.0
PENDING, GRANTED, REJECTED, TIMED_OUT = "pending", "granted", "rejected", "timed_out"
DECISIONS = (GRANTED, REJECTED, TIMED_OUT)
PLAN_LINES_KEPT = 20  # planned calls kept in a request (the rest are counted)
PLAN_UNAVAILABLE = "plan unavailable"  # how a plan line says the planner failed
PROGRESS_LINES = 10  # progress lines per wait at most (besides the first and the last)
MIN_PROGRESS_EVERY_S = 30.0
MAX_REASON_CHARS = 500
Clock = Callable[[], float]


class ApprovalRefused(GuardRefused):
    """A mutating stage did not get its second person's approval; nothing of it ran (exit 3)."""


class ApprovalRejected(ApprovalRefused):
    """The approver rejected the stage (exit 3)."""


class ApprovalTimedOut(ApprovalRefused):
    """No decision before the deadline (exit 3)."""


class SameIdentity(GuardRefused):
    """The approver's AWS identity is the operator's (exit 3): another person must approve."""


class AlreadyDecided(GuardRefused):
    """The request has its decision already (exit 3): one decision per request."""


class NothingPending(ConfigError):
    """No request waits for that drill and stage (exit 2: wrong drill id or stage)."""


def iso(epoch: float) -> str:
    """UTC ISO 8601 to the second, ``Z`` suffix."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def who_am_i() -> str:
    """``user@host`` of this process (the ARN is the identity; this is for people)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def check_timeout_minutes(value: object, where: str) -> float:
    """Minutes within the bounds (finite), or one ConfigError line naming ``where``."""
    try:
        minutes = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        minutes = math.nan
    if not APPROVAL_TIMEOUT_MIN_MINUTES <= minutes <= APPROVAL_TIMEOUT_MAX_MINUTES:
        raise ConfigError(f"expected {APPROVAL_TIMEOUT_MIN_MINUTES:g} to "
                          f"{APPROVAL_TIMEOUT_MAX_MINUTES:g} minutes, got {value!r}", key=where)
    return minutes


def check_reason(text: str, where: str = "--reject") -> str:
    """A rejection's reason: printable, 10 to ``MAX_REASON_CHARS`` characters; stripped."""
    if any(not character.isprintable() for character in text):
        raise ConfigError("the reason contains control characters", key=where)
    stripped = text.strip()
    if not 10 <= len(stripped) <= MAX_REASON_CHARS:
        raise ConfigError(f"give a reason of 10 to {MAX_REASON_CHARS} printable characters "
                          f"(it is recorded in the evidence), got {text!r}", key=where)
    return stripped


@dataclass(frozen=True)
class StageRef:
    """A mutating stage: ``failover:2`` on the command line, ``failover 2`` for people."""

    phase: str
    stage: int

    @classmethod
    def parse(cls, text: str, where: str = "--stage") -> StageRef:
        """A stage of the drill's registry (``registry.parse_stage``)."""
        from maip_drlib.drill.registry import parse_stage

        found = parse_stage(text, key=where)
        return cls(found.phase, found.number)

    @property
    def token(self) -> str:
        return f"{self.phase}:{self.stage}"

    @property
    def name(self) -> str:
        return f"{self.phase} {self.stage}"


def request_key(drill_id: str, stage: StageRef) -> str:
    return f"approval#{drill_id}#{stage.token}"


def decision_key(drill_id: str, stage: StageRef, request_id: str) -> str:
    return f"approval#{drill_id}#{stage.token}#{request_id}"


@dataclass(frozen=True)
class ApprovalRequest:
    """What the waiting drill asks to have approved (the request item)."""

    drill_id: str
    stage: StageRef
    request_id: str
    operator_arn: str
    operator: str  # user@host
    requested_at: float  # epoch seconds
    deadline: float  # epoch seconds
    target: str
    plan: tuple[str, ...] = ()

    @classmethod
    def new(cls, drill_id: str, stage: StageRef, operator_arn: str, *, timeout_minutes: float,
            target: str, plan: Sequence[str] = (), clock: Clock = time.time) -> ApprovalRequest:
        now = clock()
        kept = tuple(plan[:PLAN_LINES_KEPT])
        if len(plan) > PLAN_LINES_KEPT:
            kept += (f"... and {len(plan) - PLAN_LINES_KEPT} more",)
        return cls(drill_id=drill_id, stage=stage, request_id=uuid.uuid4().hex[:16],
                   operator_arn=operator_arn, operator=who_am_i(), requested_at=now,
                   deadline=now + timeout_minutes * 60.0, target=target, plan=kept)

    def item(self) -> dict[str, Any]:
        return {LEASE_KEY_ATTRIBUTE: {"S": request_key(self.drill_id, self.stage)},
                "kind": {"S": "approval.request"}, "state": {"S": PENDING},
                "drill_id": {"S": self.drill_id}, "phase": {"S": self.stage.phase},
                "stage": {"N": str(self.stage.stage)}, "request_id": {"S": self.request_id},
                "operator_arn": {"S": self.operator_arn}, "operator": {"S": self.operator},
                "requested_at": {"N": f"{self.requested_at:.3f}"},
                "deadline": {"N": f"{self.deadline:.3f}"}, "target": {"S": self.target},
                "plan": {"L": [{"S": line} for line in self.plan]}}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ApprovalRequest:
        def text(name: str) -> str:
            return str(item.get(name, {}).get("S", ""))

        def number(name: str) -> float:
            return float(item.get(name, {}).get("N", "0"))

        return cls(drill_id=text("drill_id"),
                   stage=StageRef(text("phase"), int(number("stage"))),
                   request_id=text("request_id"), operator_arn=text("operator_arn"),
                   operator=text("operator"), requested_at=number("requested_at"),
                   deadline=number("deadline"), target=text("target"),
                   plan=tuple(str(v.get("S", "")) for v in item.get("plan", {}).get("L", [])))

    def _count(self) -> str:
        if any(line.startswith(PLAN_UNAVAILABLE) for line in self.plan):
            return "unknown (the planner could not read the state)"
        return str(len(self.plan)) if self.plan else "none"

    def describe(self, now: float) -> list[str]:
        """What is being approved, for the approver to read before deciding."""
        left = self.deadline - now
        lines = [f"drill {self.drill_id}, stage {self.stage.name} on target {self.target!r}",
                 f"operator: {self.operator_arn} ({self.operator})",
                 f"requested {iso(self.requested_at)}, deadline {iso(self.deadline)} "
                 + (f"({left / 60:.1f} min left)" if left > 0 else "(passed)"),
                 f"planned mutating calls of {self.stage.name}: {self._count()}"]
        lines += [f"  {line}" for line in self.plan]
        return lines


@dataclass(frozen=True)
class Decision:
    """One request's decision (the decision item), and its journal record."""

    decision: str  # granted, rejected, timed_out
    drill_id: str
    stage: StageRef
    request_id: str
    operator_arn: str
    approver_arn: str | None  # None when the deadline passed
    decided_by: str  # user@host of whoever wrote it
    decided_at: str  # UTC ISO 8601
    reason: str | None = None

    @property
    def kind(self) -> str:
        return f"approval.{self.decision}"

    def journal_fields(self) -> dict[str, Any]:
        """``approval.granted`` / ``approval.rejected`` / ``approval.timed_out`` fields (the
        DR test record reads them by these names)."""
        fields: dict[str, Any] = {"phase": self.stage.phase, "stage": self.stage.stage,
                                  "stage_name": self.stage.name,
                                  "approver_arn": self.approver_arn,
                                  "operator_arn": self.operator_arn,
                                  "decided_at": self.decided_at}
        if self.decision == REJECTED:
            fields["reason"] = self.reason
        fields["request_id"] = self.request_id
        return fields

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            LEASE_KEY_ATTRIBUTE: {"S": decision_key(self.drill_id, self.stage,
                                                    self.request_id)},
            "kind": {"S": "approval.decision"}, "decision": {"S": self.decision},
            "drill_id": {"S": self.drill_id}, "phase": {"S": self.stage.phase},
            "stage": {"N": str(self.stage.stage)}, "request_id": {"S": self.request_id},
            "operator_arn": {"S": self.operator_arn}, "decided_by": {"S": self.decided_by},
            "decided_at": {"S": self.decided_at}}
        if self.approver_arn is not None:
            item["approver_arn"] = {"S": self.approver_arn}
        if self.reason is not None:
            item["reason"] = {"S": self.reason}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Decision:
        def text(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return None if value is None else str(value)

        return cls(decision=text("decision") or "", drill_id=text("drill_id") or "",
                   stage=StageRef(text("phase") or "", int(item.get("stage", {}).get("N", 0))),
                   request_id=text("request_id") or "", operator_arn=text("operator_arn") or "",
                   approver_arn=text("approver_arn"), decided_by=text("decided_by") or "",
                   decided_at=text("decided_at") or "", reason=text("reason"))

    def describe(self) -> str:
        by = self.approver_arn or "nobody (the deadline passed)"
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.decision} by {by} ({self.decided_by}) at {self.decided_at}{reason}"

