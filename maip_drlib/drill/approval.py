"""A second person's approval before each mutating stage (the four-eyes rule; docs/approval.md).

Items live in the drill lease table of the DR region (``topology.lease_table``, key ``pk``),
beside the lease item, and this module writes only its own two kinds:

- the **request** ``pk = "approval#<drill id>#<phase>:<stage>"``, put by the waiting drill
  (``ApprovalTable.request``): the operator's caller ARN, user and host, the stage, a fresh
  ``request_id``, when it was asked, its deadline and a summary of the stage's planned
  mutating calls. A later attempt of the same drill replaces it with a new request (the drill
  lease makes the drill alone on the platform);
- the **decision** ``pk = "approval#<drill id>#<phase>:<stage>#<request id>"``, put with the
  condition ``attribute_not_exists(pk)``: one decision per request, whoever writes first.
  ``maip-dr approve`` writes ``granted`` or ``rejected`` (``approve``); the drill writes
  ``timed_out`` when its deadline passes (``wait_for_decision``), so a late approval is refused
  and an approval that came first is honoured.

A decision counts only for the drill, stage and request it names: an approval of another
drill, another stage or an earlier attempt's request is another item and is never read. The
approver must be another AWS identity: ``approve`` refuses (``SameIdentity``, exit 3) when its
caller ARN (STS GetCallerIdentity) is the request's operator ARN, and the drill does not count
a grant whose approver ARN is its own (someone wrote the table directly).

Deadlines: ``--dr-approval-timeout MINUTES``, ``APPROVAL_TIMEOUT_MIN_MINUTES`` to
``APPROVAL_TIMEOUT_MAX_MINUTES`` (default ``APPROVAL_TIMEOUT_DEFAULT_MINUTES``). Expiry compares
epoch seconds of the drill's clock with the approver's: the hosts' clocks must agree (NTP).

Not supported: several approvers for one stage (one decision per request), approval of
read-only stages, revoking a decision once written, an approval that outlives its request (a
resumed attempt asks again), identities compared beyond their ARN (two roles assumed by one
person are two identities to this check: the IAM side must keep them apart).
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

from botocore.exceptions import ClientError

from maip_drlib.drill.lease import LEASE_KEY_ATTRIBUTE, lease_table_call
from maip_drlib.errors import ConfigError, GuardRefused, WaitTimeout
from maip_drlib.waits import WaitSpec, wait_for

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


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass
class ApprovalTable:
    """The approval items in the lease table, through a DynamoDB client of the DR region."""

    client: Any  # boto3 DynamoDB client (timeouts and retries bounded by the region handle)
    table: str
    region: str
    clock: Clock = time.time

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return lease_table_call(self.client, self.table, self.region, operation,
                                missing="approvals are kept there; ", **kwargs)

    def _get(self, key: str) -> dict[str, Any] | None:
        answer = self._call("get_item", Key={LEASE_KEY_ATTRIBUTE: {"S": key}},
                            ConsistentRead=True)
        return answer.get("Item") or None

    def request(self, request: ApprovalRequest) -> None:
        """Put the request item (replacing an earlier attempt's: the lease keeps the drill
        alone, and a decision names its own request)."""
        self._call("put_item", Item=request.item())

    def pending(self, drill_id: str, stage: StageRef) -> ApprovalRequest | None:
        """The request of that drill and stage, or None."""
        item = self._get(request_key(drill_id, stage))
        if item is None:
            return None
        found = ApprovalRequest.from_item(item)
        if found.drill_id != drill_id or found.stage != stage:  # not ours: never counts
            return None
        return found

    def decision(self, request: ApprovalRequest) -> Decision | None:
        """The decision on exactly this request (drill, stage and request id), or None."""
        item = self._get(decision_key(request.drill_id, request.stage, request.request_id))
        if item is None:
            return None
        found = Decision.from_item(item)
        if (found.drill_id, found.stage, found.request_id) != (
                request.drill_id, request.stage, request.request_id):
            return None
        return found

    def decide(self, decision: Decision) -> Decision:
        """Put the decision unless one exists (``AlreadyDecided`` names it)."""
        try:
            self._call("put_item", Item=decision.item(),
                       ConditionExpression="attribute_not_exists(#pk)",
                       ExpressionAttributeNames={"#pk": LEASE_KEY_ATTRIBUTE})
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            key = decision_key(decision.drill_id, decision.stage, decision.request_id)
            stored = self._get(key)
            told = Decision.from_item(stored).describe() if stored else "(unreadable)"
            raise AlreadyDecided(f"{decision.stage.name} of drill {decision.drill_id} is "
                                 f"decided already: {told}; one decision per request") from error
        return decision


def approve(table: ApprovalTable, drill_id: str, stage: StageRef, approver_arn: str, *,
            reason: str | None = None, show: Callable[[list[str]], None] = lambda _: None
            ) -> Decision:
    """Grant (``reason`` None) or reject the pending request of ``drill_id`` and ``stage`` as
    ``approver_arn``; ``show`` gets what is being decided before the write."""
    request = table.pending(drill_id, stage)
    if request is None:
        raise NothingPending(f"no approval request of {stage.name} for drill {drill_id!r} in "
                             f"{table.table} ({table.region}): check the drill id and stage "
                             "the waiting drill printed", key="DRILL_ID/--stage")
    now = table.clock()
    show(request.describe(now))
    existing = table.decision(request)
    if existing is not None:
        raise AlreadyDecided(f"{stage.name} of drill {drill_id} is decided already: "
                             f"{existing.describe()}; nothing was written")
    if approver_arn == request.operator_arn:
        raise SameIdentity(f"your AWS identity {approver_arn} is the drill operator's: another "
                           "identity must approve (four-eyes); nothing was written")
    if now >= request.deadline:
        raise AlreadyDecided(f"the request of {stage.name} for drill {drill_id} expired at "
                             f"{iso(request.deadline)}; nothing was written")
    return table.decide(Decision(
        decision=REJECTED if reason is not None else GRANTED, drill_id=drill_id, stage=stage,
        request_id=request.request_id, operator_arn=request.operator_arn,
        approver_arn=approver_arn, decided_by=who_am_i(), decided_at=iso(now), reason=reason))


def _every(total_s: float) -> float:
    return max(MIN_PROGRESS_EVERY_S, total_s / PROGRESS_LINES)


def wait_for_decision(table: ApprovalTable, request: ApprovalRequest, *,
                      poll_s: float = 2.0, say: Callable[[str], None] = lambda _: None,
                      clock: Clock = time.time, monotonic: Clock = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> Decision:
    """Poll the request's decision until the deadline; at the deadline write ``timed_out``
    (an approval written just before wins). ``say`` gets a bounded number of progress lines
    (at most ``PROGRESS_LINES`` besides the outcome). A grant by the operator's own ARN does
    not count (``SameIdentity``)."""
    total = max(0.001, request.deadline - clock())
    every = _every(total)
    said = [0.0]

    def progress(_observed: object, elapsed: float) -> None:
        if elapsed - said[0] >= every:
            said[0] = elapsed
            say(f"maip-dr: still waiting for approval of {request.stage.name} (drill "
                f"{request.drill_id}): {max(0.0, total - elapsed) / 60:.1f} min left")

    spec = WaitSpec(f"approval of {request.stage.name} (drill {request.drill_id})",
                    deadline_s=total, poll_initial_s=poll_s, poll_max_s=poll_s, jitter_s=0.0)
    try:
        found = wait_for(spec, lambda: table.decision(request), success=lambda d: d is not None,
                         on_poll=progress, clock=monotonic, sleep=sleep).value
        assert found is not None
    except WaitTimeout:
        try:
            found = table.decide(Decision(
                decision=TIMED_OUT, drill_id=request.drill_id, stage=request.stage,
                request_id=request.request_id, operator_arn=request.operator_arn,
                approver_arn=None, decided_by=who_am_i(), decided_at=iso(clock())))
        except AlreadyDecided:
            stored = table.decision(request)
            if stored is None:
                raise
            found = stored
    if found.decision == GRANTED and found.approver_arn == request.operator_arn:
        raise SameIdentity(f"the grant of {request.stage.name} in the table was written by the "
                           f"operator's own identity {found.approver_arn}: it does not count; "
                           f"nothing of {request.stage.name} ran")
    if found.decision not in DECISIONS:
        raise ApprovalRefused(f"unknown decision {found.decision!r} on {request.stage.name}; "
                              f"nothing of {request.stage.name} ran")
    return found
