"""The approval items (``maip_drlib.drill.approval``) against an in-memory DynamoDB that keeps
the two calls they use (GetItem, PutItem with ``attribute_not_exists``): one decision per
request, decisions of another drill, stage or request never count, the operator's own
identity is refused, and the deadline writes ``timed_out`` (fake clocks: no waiting)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from maip_drlib.drill.approval import (
    GRANTED,
    PROGRESS_LINES,
    REJECTED,
    TIMED_OUT,
    AlreadyDecided,
    ApprovalRequest,
    ApprovalTable,
    Decision,
    NothingPending,
    SameIdentity,
    StageRef,
    approve,
    check_reason,
    check_timeout_minutes,
    decision_key,
    wait_for_decision,
)
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit

TABLE = "maip-dr-drill-lease"
OPERATOR = "arn:aws:iam::123456789012:user/operator"
APPROVER = "arn:aws:iam::123456789012:user/approver"
FAILOVER_2 = StageRef("failover", 2)


class FakeDynamo:
    """GetItem and PutItem of one table, as DynamoDB answers them (conditions: only
    ``attribute_not_exists(#pk)``)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.puts: list[dict[str, Any]] = []
        self.before_put: Callable[[dict[str, Any]], None] | None = None

    def _table(self, name: str, operation: str) -> None:
        if name != TABLE:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, operation)

    def get_item(self, *, TableName: str, Key: dict, ConsistentRead: bool = False) -> dict:
        self._table(TableName, "GetItem")
        assert ConsistentRead, "approval reads are strongly consistent"
        item = self.items.get(Key["pk"]["S"])
        return {"Item": copy.deepcopy(item)} if item else {}

    def put_item(self, *, TableName: str, Item: dict, ConditionExpression: str | None = None,
                 ExpressionAttributeNames: dict | None = None) -> dict:
        self._table(TableName, "PutItem")
        if self.before_put is not None:
            hook, self.before_put = self.before_put, None
            hook(Item)
        key = Item["pk"]["S"]
        if ConditionExpression is not None:
            assert ConditionExpression == "attribute_not_exists(#pk)"
            assert ExpressionAttributeNames == {"#pk": "pk"}
            if key in self.items:
                raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}},
                                  "PutItem")
        self.items[key] = copy.deepcopy(Item)
        self.puts.append(copy.deepcopy(Item))
        return {}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def dynamo() -> FakeDynamo:
    return FakeDynamo()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table(dynamo: FakeDynamo, clock: Clock) -> ApprovalTable:
    return ApprovalTable(client=dynamo, table=TABLE, region="us-west-2", clock=clock)


def _request(table: ApprovalTable, clock: Clock, drill: str = "gameday-1",
             stage: StageRef = FAILOVER_2, minutes: float = 30) -> ApprovalRequest:
    request = ApprovalRequest.new(drill, stage, OPERATOR, timeout_minutes=minutes,
                                  target="prod", plan=["rds:promote_read_replica (us-west-2)"],
                                  clock=clock)
    table.request(request)
    return request


def _wait(table: ApprovalTable, request: ApprovalRequest, clock: Clock,
          said: list[str] | None = None) -> Decision:
    return wait_for_decision(table, request, poll_s=2.0,
                             say=(said.append if said is not None else lambda _: None),
                             clock=clock, monotonic=clock, sleep=clock.sleep)


def test_an_approval_by_another_identity_is_the_decision_the_drill_reads(
        table: ApprovalTable, clock: Clock) -> None:
    request = _request(table, clock)
    shown: list[list[str]] = []
    decision = approve(table, "gameday-1", FAILOVER_2, APPROVER, show=shown.append)
    assert decision.decision == GRANTED and decision.approver_arn == APPROVER
    assert any(OPERATOR in line for line in shown[0])  # shown before the write
    assert any("rds:promote_read_replica" in line for line in shown[0])
    found = _wait(table, request, clock)
    assert found == decision
    assert found.journal_fields() == {
        "phase": "failover", "stage": 2, "stage_name": "failover 2",
        "approver_arn": APPROVER, "operator_arn": OPERATOR,
        "decided_at": decision.decided_at, "request_id": request.request_id}
    assert decision.decided_at.endswith("Z") and "T" in decision.decided_at


def test_the_operators_own_identity_is_refused_and_nothing_is_written(
        table: ApprovalTable, dynamo: FakeDynamo, clock: Clock) -> None:
    _request(table, clock)
    before = len(dynamo.puts)
    with pytest.raises(SameIdentity, match="is the drill operator's") as refused:
        approve(table, "gameday-1", FAILOVER_2, OPERATOR)
    assert refused.value.exit_code == 3 and "\n" not in str(refused.value)
    assert len(dynamo.puts) == before


def test_one_decision_per_request(table: ApprovalTable, clock: Clock) -> None:
    request = _request(table, clock)
    approve(table, "gameday-1", FAILOVER_2, APPROVER, reason=None)
    with pytest.raises(AlreadyDecided, match="decided already: granted by"):
        approve(table, "gameday-1", FAILOVER_2, "arn:aws:iam::123456789012:user/third",
                reason="too late to change my mind")
    # the conditional put itself refuses a second decision, whoever asks
    with pytest.raises(AlreadyDecided):
        table.decide(Decision(REJECTED, "gameday-1", FAILOVER_2, request.request_id,
                              OPERATOR, APPROVER, "x@y", "2027-01-01T00:00:00Z", "no no no no"))
    assert _wait(table, request, clock).decision == GRANTED


def test_a_rejection_carries_its_reason(table: ApprovalTable, clock: Clock) -> None:
    request = _request(table, clock)
    approve(table, "gameday-1", FAILOVER_2, APPROVER, reason="replica lag is too high today")
    found = _wait(table, request, clock)
    assert found.decision == REJECTED
    assert found.journal_fields()["reason"] == "replica lag is too high today"
    assert found.kind == "approval.rejected"


def test_nothing_pending_for_another_drill_or_stage(table: ApprovalTable, clock: Clock) -> None:
    _request(table, clock)
    with pytest.raises(NothingPending) as wrong_drill:
        approve(table, "gameday-2", FAILOVER_2, APPROVER)
    assert wrong_drill.value.exit_code == 2
    with pytest.raises(NothingPending):
        approve(table, "gameday-1", StageRef("failover", 3), APPROVER)


def test_a_decision_for_another_drill_stage_or_request_does_not_count(
        table: ApprovalTable, dynamo: FakeDynamo, clock: Clock) -> None:
    earlier = _request(table, clock)
    approve(table, "gameday-1", FAILOVER_2, APPROVER)  # the earlier attempt's request
    other = _request(table, clock, drill="gameday-2")
    approve(table, "gameday-2", FAILOVER_2, APPROVER)
    third = _request(table, clock, stage=StageRef("failover", 4))
    approve(table, "gameday-1", StageRef("failover", 4), APPROVER)
    # a grant copied under this request's key but naming another drill is not read either
    request = _request(table, clock, minutes=1)  # a new attempt's request for failover 2
    forged = Decision(GRANTED, "gameday-2", FAILOVER_2, request.request_id, OPERATOR, APPROVER,
                      "x@y", "2027-01-01T00:00:00Z").item()
    forged["pk"] = {"S": decision_key("gameday-1", FAILOVER_2, request.request_id) + "x"}
    dynamo.items[forged["pk"]["S"]] = forged
    assert len({earlier.request_id, other.request_id, third.request_id,
                request.request_id}) == 4
    assert _wait(table, request, clock).decision == TIMED_OUT


def test_the_deadline_writes_timed_out_and_a_late_approval_is_refused(
        table: ApprovalTable, dynamo: FakeDynamo, clock: Clock) -> None:
    request = _request(table, clock, minutes=60)
    said: list[str] = []
    started = clock()
    found = _wait(table, request, clock, said)
    assert found.decision == TIMED_OUT and found.approver_arn is None
    assert clock() - started >= 3600
    assert found.journal_fields()["approver_arn"] is None
    stored = dynamo.items[decision_key("gameday-1", FAILOVER_2, request.request_id)]
    assert stored["decision"]["S"] == TIMED_OUT
    assert 1 <= len(said) <= PROGRESS_LINES  # bounded progress
    assert all("min left" in line and "failover 2" in line for line in said)
    with pytest.raises(AlreadyDecided, match="timed_out by nobody"):
        approve(table, "gameday-1", FAILOVER_2, APPROVER)


def test_an_approval_after_the_deadline_is_refused_before_the_drill_notices(
        table: ApprovalTable, dynamo: FakeDynamo, clock: Clock) -> None:
    request = _request(table, clock, minutes=1)
    clock.now = request.deadline + 1
    before = len(dynamo.puts)
    with pytest.raises(AlreadyDecided, match="expired"):
        approve(table, "gameday-1", FAILOVER_2, APPROVER)
    assert len(dynamo.puts) == before


def test_an_approval_written_just_before_the_timeout_wins(
        table: ApprovalTable, dynamo: FakeDynamo, clock: Clock) -> None:
    request = _request(table, clock, minutes=1)
    grant = Decision(GRANTED, "gameday-1", FAILOVER_2, request.request_id, OPERATOR, APPROVER,
                     "b@host", "2027-01-01T00:00:00Z")
    dynamo.before_put = lambda _item: dynamo.items.__setitem__(grant.item()["pk"]["S"],
                                                               grant.item())
    assert _wait(table, request, clock) == grant


def test_a_grant_by_the_operators_own_identity_in_the_table_does_not_count(
        table: ApprovalTable, dynamo: FakeDynamo, clock: Clock) -> None:
    request = _request(table, clock)
    own = Decision(GRANTED, "gameday-1", FAILOVER_2, request.request_id, OPERATOR, OPERATOR,
                   "a@host", "2027-01-01T00:00:00Z").item()
    dynamo.items[own["pk"]["S"]] = own
    with pytest.raises(SameIdentity, match="does not count"):
        _wait(table, request, clock)


def test_a_missing_table_is_one_line_naming_the_key(clock: Clock) -> None:
    table = ApprovalTable(client=FakeDynamo(), table="other", region="us-west-2", clock=clock)
    with pytest.raises(ConfigError, match=re.escape("topology.lease_table: drill lease table "
                                                    "'other' not found in us-west-2")):
        table.pending("gameday-1", FAILOVER_2)


@pytest.mark.parametrize("text", ["failover:6", "failback:5", "failover 2", "rpo:1", ""])
def test_a_bad_stage_is_refused(text: str) -> None:
    with pytest.raises(ConfigError,
                       match=re.escape("--stage: expected failover:1..5 or failback:1..4")):
        StageRef.parse(text)


def test_stage_names() -> None:
    assert StageRef.parse("failback:4").name == "failback 4"
    assert StageRef.parse("failover:2").token == "failover:2"


@pytest.mark.parametrize("value", ["0.5", "1441", "nan", "inf", "soon", None])
def test_the_timeout_is_bounded(value: object) -> None:
    with pytest.raises(ConfigError, match="--dr-approval-timeout: expected 1 to 1440 minutes"):
        check_timeout_minutes(value, "--dr-approval-timeout")
    assert check_timeout_minutes("1", "x") == 1.0


def test_a_rejection_needs_a_printable_reason() -> None:
    with pytest.raises(ConfigError, match="--reject: give a reason"):
        check_reason("no")
    with pytest.raises(ConfigError, match="control characters"):
        check_reason("bad\x1b[2J reason text")
    assert check_reason("  the replica is lagging  ") == "the replica is lagging"


def test_a_plan_the_planner_could_not_make_is_not_counted_as_calls(clock: Clock) -> None:
    request = ApprovalRequest.new("gameday-1", FAILOVER_2, OPERATOR, timeout_minutes=5,
                                  target="prod", plan=["plan unavailable: Unreachable: x"],
                                  clock=clock)
    lines = request.describe(clock())
    assert "planned mutating calls of failover 2: unknown" in lines[3]
    many = ApprovalRequest.new("gameday-1", FAILOVER_2, OPERATOR, timeout_minutes=5,
                               target="prod", plan=[f"call {n}" for n in range(30)], clock=clock)
    assert len(many.plan) == 21 and many.plan[-1] == "... and 10 more"
