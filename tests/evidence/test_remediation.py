"""Remediation decisions: ``maip-dr remediation set`` appends one signed line per decision to
``reports/<drill id>/remediation.jsonl`` (never touching a sealed attempt), ``remediation
list`` and ``history`` read the items' current status, ``verify`` checks the lines' chain and
signatures, and bad input is one line naming the option (exit 2). Also: approvals journalled
by a drill waiting for a second person are the record's approvers, and a rejection or a
time-out is a deviation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from test_dr_test_record import PLAN, START, _attempt, _row, _summary
from test_verify_cli import run

from maip_drlib.evidence.dr_test_record import build_record, write_drill_copy, write_record
from maip_drlib.evidence.dr_test_record_md import render
from maip_drlib.evidence.history import read_drill
from maip_drlib.evidence.integrity import verify_drill
from maip_drlib.evidence.manifest import seal
from maip_drlib.evidence.remediation import DECISIONS_NAME, current_record

pytestmark = pytest.mark.unit

KEY = "a-test-hmac-key-of-32-bytes-0000"


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIP_DR_HMAC_KEY", raising=False)


def _drill(reports: Path, drill_id: str = "drill-a", *, key: bytes | None = KEY.encode()
           ) -> Path:
    """A sealed drill of one attempt whose record has items R1.. (failover 2 over budget,
    failover 3 failed, failover 4 skipped, the RDS RPO missed)."""
    drill = reports / drill_id
    stages = [_row("failover", 1, "The primary region is down"),
              _row("failover", 2, "The DR replica becomes a standalone writer", minutes=20.0,
                   budget=15.0),
              _row("failover", 3, "Clients reach the DR load balancer", "failed",
                   message="DNS still answers the primary"),
              _row("failover", 4, "DR is scaled", "skipped", message="an earlier stage failed")]
    attempt = _attempt(drill, 1, records=[START, PLAN], results={"failover": stages},
                       summary=_summary(stages), key=key)
    write_record(attempt, exit_code=1)
    seal(attempt, key=key)
    write_drill_copy(drill)
    return drill


def _lines(drill: Path) -> list[dict]:
    return [json.loads(t) for t in (drill / DECISIONS_NAME).read_text().splitlines()]


def test_set_appends_signed_decisions_that_list_history_and_verify_read(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = tmp_path / "reports"
    drill = _drill(reports)
    sealed = {p: p.read_bytes() for p in drill.rglob("*") if p.is_file()}
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out, err = run(["remediation", "set", "drill-a", "R1", "--owner", "Ana <DBA>",
                          "--due", "2020-01-31", "--reports", str(reports)], capsys)
    assert code == 0, out + err
    assert "R1  owned by Ana <DBA>, due 2020-01-31, OVERDUE" in out
    assert out.splitlines()[-1] == "recorded: R1 owned (signed with the HMAC key) (exit 0)"
    code, out, err = run(["remediation", "set", str(drill), "r2", "--accept-risk",
                          "DNS TTL is the provider's; documented in the runbook"], capsys)
    assert code == 0, out + err
    # nothing sealed was touched: one new file beside the attempts
    assert {p: p.read_bytes() for p in sealed} == sealed
    lines = _lines(drill)
    assert [(x["item"], x["decision"]) for x in lines] == [("R1", "owned"),
                                                          ("R2", "risk accepted")]
    assert all(x["mac"] and x["signed"] for x in lines) and lines[1]["prev"] != lines[0]["prev"]
    items = {i["id"]: i for i in current_record(drill, today=date(2026, 1, 1))["remediation"]}
    assert (items["R1"]["status"], items["R1"]["owner"], items["R1"]["overdue"]) == (
        "owned", "Ana <DBA>", True)
    assert items["R2"]["status"] == "risk accepted" and items["R3"]["status"] == "open"
    md = render(current_record(drill))
    assert "| R1 | D1 | owned, OVERDUE | Ana <DBA> | 2020-01-31 |" in md
    assert "risk accepted: R2" in md and "Decisions: 2 in remediation.jsonl" in md
    # list, history and verify read the decisions
    code, out, _ = run(["remediation", "list", "drill-a", "--reports", str(reports)], capsys)
    assert code == 0 and "open: R3, R4, R1 (overdue)" in out.splitlines()[0]
    code, out, _ = run(["remediation", "list", "drill-a", "--record", "--reports",
                        str(reports)], capsys)
    assert code == 0 and "## 5. Remediation" in out and "owned, OVERDUE" in out
    row = read_drill(drill, key=KEY.encode())
    assert row.open_items == ["R3", "R4", "R1 (overdue)"] and row.evidence == "intact"
    assert verify_drill(drill, key=KEY.encode()).verdict == "intact"
    # an edited line is tampering; so is a line that no key signed
    path = drill / DECISIONS_NAME
    original = path.read_text()
    path.write_text(original.replace("Ana <DBA>", "Bo <DBA>"))
    problems = verify_drill(drill, key=KEY.encode()).problems
    assert any("line 1 (R1): signature does not match" in p for p in problems), problems
    forged = dict(lines[1], accepted_risk="nobody cares", mac=None)
    path.write_text(original + json.dumps(forged) + "\n")
    problems = verify_drill(drill, key=KEY.encode()).problems
    assert any("line 3 (R2): chain broken" in p for p in problems), problems
    assert any("line 3 (R2): unsigned decision, but a key was given" in p for p in problems)
    unkeyed = verify_drill(drill, key=None)
    assert any("signatures not checked" in n for n in unkeyed.notes)


def test_an_unsigned_decision_is_refused_for_a_signed_drill_and_marked_for_an_unsigned_one(
        tmp_path: Path, capsys) -> None:
    reports = tmp_path / "reports"
    _drill(reports)
    code, out, err = run(["remediation", "set", "drill-a", "R1", "--accept-risk", "x",
                          "--reports", str(reports)], capsys)
    assert code == 3 and "a decision must be signed too" in err, out + err
    assert not (reports / "drill-a" / DECISIONS_NAME).exists()
    _drill(reports, "drill-u", key=None)
    code, out, err = run(["remediation", "set", "drill-u", "R1", "--accept-risk", "x",
                          "--reports", str(reports)], capsys)
    assert code == 0 and "(UNSIGNED (no key given))" in out, out + err
    assert _lines(reports / "drill-u")[0]["mac"] is None
    assert verify_drill(reports / "drill-u", key=None).verdict == "unverified"


@pytest.mark.parametrize(("args", "named"), [
    (["nope", "R1", "--accept-risk", "x"], "DRILL: no drill 'nope'"),
    (["drill-a", "R99", "--accept-risk", "x"], "ITEM: no remediation item 'R99'"),
    (["drill-a", "R1", "--owner", "Ana", "--due", "31/01/2027"], "--due: expected a date"),
    (["drill-a", "R1", "--owner", "Ana", "--due", "2027-02-30"], "--due: expected a date"),
    (["drill-a", "R1", "--due", "2027-01-31"], "--owner: missing"),
    (["drill-a", "R1", "--owner", "Ana"], "--due: an owned item needs a due date"),
    (["drill-a", "R1"], "--owner: missing"),
    (["drill-a", "R1", "--owner", "Ana", "--due", "2027-01-31", "--accept-risk", "x"],
     "--accept-risk: give either"),
    (["drill-a", "R1", "--owner", " ", "--due", "2027-01-31"], "--owner: the owner is empty"),
])
def test_bad_input_is_one_line_naming_the_option(tmp_path: Path, capsys,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 args: list[str], named: str) -> None:
    reports = tmp_path / "reports"
    _drill(reports)
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out, err = run(["remediation", "set", *args, "--reports", str(reports)], capsys)
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1 and named in err, err
    assert not (reports / "drill-a" / DECISIONS_NAME).exists()


def test_help_states_safety_and_exit_codes(capsys) -> None:
    code, out, _ = run(["remediation", "set", "--help"], capsys)
    assert code == 0 and "writes one line to reports/<drill id>/remediation.jsonl" in \
        " ".join(out.split()) and "never touches the target" in out and "Exit codes" in out
    code, out, _ = run(["remediation", "list", "--help"], capsys)
    assert code == 0 and "Read-only" in out and "Exit codes" in out


def test_approvals_are_the_records_approvers_and_a_rejection_or_time_out_a_deviation(
        tmp_path: Path) -> None:
    drill = tmp_path / "reports" / "drill-ap"
    operator = "arn:aws:sts::123456789012:assumed-role/ops/ana"
    approver = "arn:aws:sts::123456789012:assumed-role/ops/bo"
    base = {"phase": "failover", "operator_arn": operator}
    _attempt(drill, 1, results={}, records=[START, (
        "approval.granted", {**base, "stage": 2, "stage_name": "promote",
                             "approver_arn": approver, "decided_at": "2026-12-06T10:00:00Z",
                             "request_id": "req-1"}), (
        "approval.rejected", {**base, "stage": 3, "stage_name": "route clients",
                              "approver_arn": approver, "decided_at": "2026-12-06T10:05:00Z",
                              "reason": "change freeze on DNS"})])
    _attempt(drill, 2, results={}, records=[START, (
        "approval.timed_out", {**base, "stage": 3, "stage_name": "route clients"})])
    data = build_record(drill)
    approvers = data["people"]["approvers"]
    assert [(a["attempt"], a["stage"], a["decision"]) for a in approvers] == [
        (1, 2, "granted"), (1, 3, "rejected"), (2, 3, "timed out")]
    assert approvers[0]["approver_arn"] == approver and approvers[0]["operator_arn"] == operator
    assert approvers[0]["request_id"] == "req-1"
    assert data["people"]["approval"] == "1 granted, 1 rejected, 1 timed out"
    deviations = [(d["kind"], d["attempt"]) for d in data["deviations"]]
    assert deviations == [("approval_rejected", 1), ("approval_timed_out", 2)]
    assert "rejected by " + approver + ": change freeze on DNS" in data["deviations"][0]["what"]
    assert [r["deviation"] for r in data["remediation"]] == ["D1", "D2"]
    md = render(data)
    assert "- Approvers: 1 granted, 1 rejected, 1 timed out" in md
    assert f"failover:2 (promote) granted by {approver}" in md
