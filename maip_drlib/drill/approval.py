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

This module reads and writes the items (``ApprovalTable``), approves (``approve``) and waits
(``wait_for_decision``); what the items hold is ``drill.approval_items`` (importable from here).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from maip_drlib.drill.approval_items import (
    APPROVAL_TIMEOUT_DEFAULT_MINUTES,
    APPROVAL_TIMEOUT_MAX_MINUTES,
    APPROVAL_TIMEOUT_MIN_MINUTES,
    DECISIONS,
    GRANTED,
    MAX_REASON_CHARS,
    MIN_PROGRESS_EVERY_S,
    PENDING,
    PLAN_LINES_KEPT,
    PLAN_UNAVAILABLE,
    PROGRESS_LINES,
    REJECTED,
    TIMED_OUT,
    AlreadyDecided,
    ApprovalRefused,
    ApprovalRejected,
    ApprovalRequest,
    ApprovalTimedOut,
    Clock,
    Decision,
    NothingPending,
    SameIdentity,
    StageRef,
    check_reason,
    check_timeout_minutes,
    decision_key,
    iso,
    request_key,
    who_am_i,
)
from maip_drlib.drill.lease_item import LEASE_KEY_ATTRIBUTE, lease_table_call
from maip_drlib.errors import WaitTimeout
from maip_drlib.waits import WaitSpec, wait_for

__all__ = [
    "APPROVAL_TIMEOUT_DEFAULT_MINUTES",
    "APPROVAL_TIMEOUT_MAX_MINUTES",
    "APPROVAL_TIMEOUT_MIN_MINUTES",
    "DECISIONS",
    "GRANTED",
    "MAX_REASON_CHARS",
    "MIN_PROGRESS_EVERY_S",
    "PENDING",
    "PLAN_LINES_KEPT",
    "PLAN_UNAVAILABLE",
    "PROGRESS_LINES",
    "REJECTED",
    "TIMED_OUT",
    "AlreadyDecided",
    "ApprovalRefused",
    "ApprovalRejected",
    "ApprovalRequest",
    "ApprovalTable",
    "ApprovalTimedOut",
    "Clock",
    "Decision",
    "NothingPending",
    "SameIdentity",
    "StageRef",
    "approve",
    "check_reason",
    "check_timeout_minutes",
    "decision_key",
    "iso",
    "request_key",
    "wait_for_decision",
    "who_am_i",
]


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
