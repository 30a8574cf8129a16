"""The DR test record built from small fake drill folders: every section, a secret in a note
redacted, a resumed drill (two attempts, stable remediation ids), missing participants, the
record sealed in the attempt (verify with the key sees a change), the participant and
note checks of the command line and the config, and a retest of an earlier drill's items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.config_loader import load_config
from maip_drlib.errors import ConfigError
from maip_drlib.evidence.dr_test_record import (
    RECORD_JSON,
    RECORD_MD,
    build_record,
    check_drill_copy,
    record_path,
    write_drill_copy,
    write_record,
)
from maip_drlib.evidence.integrity import verify_drill
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.manifest import seal
from maip_drlib.evidence.record_people import (
    check_note,
    journal_people,
    parse_participant,
    parse_participants,
)
from maip_drlib.evidence.record_retest import check_retests, journal_retest
from maip_drlib.evidence.redact import Redactor
from maip_drlib.evidence.remediation import append_decision, find_item, sealed_record

pytestmark = pytest.mark.unit

KEY = b"a-test-hmac-key-of-32-bytes-0000"


def _row(phase: str, stage: int | None, scenario: str, outcome: str = "passed", *,
         minutes: float = 1.0, budget: float | None = 5.0, message: str = "",
         destructive: bool = True) -> dict[str, Any]:
    return {"phase": phase, "stage": stage, "scenario": scenario, "outcome": outcome,
            "simulated_minutes": minutes, "duration_s": minutes * 0.5,
            "rto_budget_minutes": budget, "rto_ok": None if budget is None or outcome !=
            "passed" else minutes <= budget, "message": message, "destructive": destructive,
            "error_kind": "check" if outcome == "failed" else None}


RPO = [{"store": "dynamodb", "status": "measured", "rpo_s": 0.5, "lost": 5, "interval_s": 0.1,
        "target_s": 5.0, "ok": True},
       {"store": "rds", "status": "measured", "rpo_s": 9.0, "lost": 90, "interval_s": 0.1,
        "target_s": 5.0, "ok": False},
       {"store": "msk", "status": "not measured", "rpo_s": None, "lost": None}]


def _attempt(drill: Path, number: int, *, records: list[tuple[str, dict[str, Any]]],
             results: dict[str, list[dict[str, Any]]], summary: dict[str, Any] | None = None,
             redactor: Redactor | None = None, key: bytes | None = None) -> Path:
    path = drill / f"attempt-{number}"
    path.mkdir(parents=True)
    with Journal.open(path, drill_id=drill.name, attempt=number,
                      redactor=redactor or Redactor(), key=key) as journal:
        for kind, fields in records:
            if kind == "record.people":
                journal_people(journal, fields["participants"], fields["notes"],
                               command="gameday")
            else:
                journal.record(kind, **fields)
    for phase, rows in results.items():
        (path / f"results-{phase}.json").write_text(json.dumps(rows))
    if summary is not None:
        (path / "summary.json").write_text(json.dumps(summary))
        (path / "rpo.json").write_text(json.dumps({"rpo": summary.get("rpo", [])}))
    return path


def _summary(stages: list[dict[str, Any]], *, verdict: str = "FAIL",
             failover_ok: bool = True) -> dict[str, Any]:
    return {"simulated": True, "time_scale": 0.5, "verdict": verdict, "reasons": ["x"],
            "operator": "arn:aws:sts::123456789012:user/ops (ops@host)",
            "target": {"name": "embedded-sim", "kind": "sim",
                       "regions": ["us-east-1", "us-west-2"]},
            "stages": stages, "rpo": RPO, "evidence": {"signed": False},
            "rto_end_to_end": {
                "failover": {"from": "outage", "to": "DR serving", "simulated_minutes": 50.0
                             if not failover_ok else 20.0, "budget_minutes": 45.0,
                             "ok": failover_ok, "complete": True, "real_s": 25.0},
                "failback": {"from": "failback start", "to": "steady state",
                             "simulated_minutes": 80.0, "budget_minutes": 165.0, "ok": True,
                             "complete": True, "real_s": 40.0}}}


PLAN = ("drill.plan", {"scenario": {"kind": "declared", "reason": "region us-east-1 is down",
                                    "region": "us-east-1"},
                       "status": "recorded", "notes": ["clients now: primary"],
                       "calls": [{"stage": "failover 2", "service": "rds",
                                  "operation": "promote_read_replica", "region": "us-west-2",
                                  "parameters": {"DBInstanceIdentifier": "replica"}}]})
START = ("drill.start", {"target": "embedded-sim", "target_kind": "sim", "simulated": True,
                         "time_scale": 0.5, "resume_from": None})


def _full_drill(tmp_path: Path, note: str = "promotion took long: pre-warm") -> Path:
    drill = tmp_path / "reports" / "drill-a"
    stages = [_row("readiness", None, "Both clusters are active", budget=None,
                   destructive=False),
              _row("failover", 1, "The primary region is down"),
              _row("failover", 2, "The DR replica becomes a standalone writer", minutes=20.0,
                   budget=15.0),
              _row("failover", 3, "Clients reach the DR load balancer", "failed",
                   message="DNS still answers the primary"),
              _row("failover", 4, "DR is scaled", "skipped",
                   message="an earlier stage failed")]
    records = [START,
               ("lease.acquired", {"holder_id": "h1"}),
               ("lease.broken", {"reason": "the previous holder died at 10:00",
                                 "previous_holder": "h0"}),
               ("evidence.unsigned", {"reason": "key vault down during the drill",
                                      "override": "--unsigned-evidence"}),
               ("record.people", {"participants": parse_participants(
                   ["Ana Silva <incident commander>", "Bo <DBA>"]), "notes": [note]}),
               ("readiness.accepted", {"reason": "known stale old writer", "failed": []}),
               PLAN]
    _attempt(drill, 1, records=records,
             results={"readiness": stages[:1], "failover": stages[1:]},
             summary=_summary(stages, failover_ok=False))
    return drill


def test_every_section_comes_from_the_drills_evidence(tmp_path: Path) -> None:
    drill = _full_drill(tmp_path)
    intended = parse_participants(["Ana Silva <incident commander>", "Carla <SRE lead>"])
    md_path, json_path = write_record(drill / "attempt-1", intended=intended, exit_code=1)
    data = json.loads(json_path.read_text())
    plan = data["plan"]
    assert plan["scope"] == {"target": {"name": "embedded-sim", "kind": "sim"},
                             "regions": ["us-east-1", "us-west-2"],
                             "stores": ["dynamodb", "rds", "msk"]}
    assert plan["scenario"]["kind"] == "declared"
    assert plan["scenario"]["reason"] == "region us-east-1 is down"
    objectives = plan["objectives"]
    assert [(o["phase"], o["stage"], o["budget_minutes"])
            for o in objectives["rto_per_stage_minutes"]][:2] == [("failover", 1, 5.0),
                                                                  ("failover", 2, 15.0)]
    assert objectives["rto_end_to_end_minutes"] == {"failover": 45.0, "failback": 165.0}
    assert {o["store"]: o["target_s"] for o in objectives["rpo_target_per_store_s"]} == {
        "dynamodb": 5.0, "rds": 5.0, "msk": None}
    assert plan["dry_run"]["status"] == "recorded"
    assert plan["dry_run"]["calls"][0]["operation"] == "promote_read_replica"
    people = data["people"]
    assert people["operator"].startswith("arn:aws:sts::123456789012:user/ops")
    assert [p["name"] for p in people["participants"]] == ["Ana Silva", "Bo"]
    assert people["missing"] == [{"name": "Carla", "role": "SRE lead"}]
    assert people["approvers"] == [] and people["approval"] == "none recorded"
    results = data["results"]
    assert [(s["phase"], s["stage"], s["measured_minutes"]) for s in results["stages"]][1] \
        == ("failover", 2, 20.0)
    assert results["rpo"][1]["lost"] == 90
    assert results["client_seen_rto"]["status"] == "not measured"
    kinds = [(d["id"], d["kind"]) for d in data["deviations"]]
    assert ("D1", "rto_overrun") in kinds  # failover 2 over its budget
    assert {k for _, k in kinds} == {"rto_overrun", "failed_check", "skipped_stage",
                                     "rpo_missed", "override", "missing_participant"}
    # the intended participant who took part in no attempt: a deviation of the drill, last
    assert data["deviations"][-1]["kind"] == "missing_participant"
    assert data["deviations"][-1]["attempt"] is None
    assert "Carla <SRE lead> did not take part" in data["deviations"][-1]["what"]
    assert data["remediation"][-1]["key"] == "drill:missing_participant:carla"
    overrides = [d["what"] for d in data["deviations"] if d["kind"] == "override"]
    assert any("lease taken over" in o and "died at 10:00" in o for o in overrides)
    assert any("unsigned" in o and "key vault down" in o for o in overrides)
    assert any("readiness failures accepted" in o for o in overrides)
    assert any(d["what"].startswith("end-to-end failover RTO") for d in data["deviations"])
    assert data["lessons"] == [{"attempt": 1, "text": "promotion took long: pre-warm"}]
    assert [r["id"] for r in data["remediation"]] == [f"R{n}" for n in
                                                       range(1, len(kinds) + 1)]
    assert all(r["status"] == "open" and set(r) >= {"owner", "due", "accepted_risk"}
               for r in data["remediation"])
    md = md_path.read_text()
    assert md.startswith("> **SIMULATED RUN**")
    for heading in ("## 1. Plan", "## 2. People", "## 3. Results against objectives",
                    "## 4. Deviations and lessons", "## 5. Remediation"):
        assert heading in md
    assert "Missing: Carla <SRE lead>" in md and "Participation as intended: NO" in md
    assert "| failover 2 | The DR replica becomes a standalone writer | passed | 20.00 | 15 |" \
        " MISSED |" in md
    assert "Approvers: none recorded" in md and "RTO as clients saw it: not measured" in md


def test_a_secret_in_a_note_is_redacted_in_both_files(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    known = "hunter2-operator-password"
    drill = _full_drill(tmp_path, note=f"aws_secret_access_key={secret} and pw {known}")
    # The journal's redactor knew neither pattern-free secret; the record's redactor does.
    md_path, json_path = write_record(drill / "attempt-1",
                                      redactor=Redactor(known_secrets=[known, secret]))
    for path in (md_path, json_path):
        text = path.read_text()
        assert secret not in text and known not in text, path.name
    lesson = json.loads(json_path.read_text())["lessons"][0]["text"]
    assert lesson.startswith("aws_secret_access_key=") and "pw" in lesson


def test_a_resumed_drill_is_one_record_with_stable_remediation_ids(tmp_path: Path) -> None:
    drill = tmp_path / "reports" / "drill-r"
    failed = [_row("failover", 1, "The primary region is down"),
              _row("failover", 2, "The DR replica becomes a standalone writer", "failed",
                   message="promotion timed out")]
    _attempt(drill, 1, results={"failover": failed}, records=[
        START, PLAN, ("record.people", {"participants": parse_participants(["Ana <IC>"]),
                                        "notes": ["first try"]}),
        ("drill.interrupted", {"signal": "SIGINT", "at_phase": "failover"})])
    seal(drill / "attempt-1", key=KEY)
    first = build_record(drill, current=1)
    passed = [_row("failover", 2, "The DR replica becomes a standalone writer")]
    _attempt(drill, 2, results={"failover": passed}, summary=_summary(
        [failed[0], passed[0]], verdict="PASS"), records=[
        START,
        ("drill.resumed", {"previous_attempt": 1, "interrupted_in": "failover stage 2"}),
        ("record.people", {"participants": parse_participants(["Bo <DBA>", "ana <IC>"]),
                           "notes": ["second try"]})], key=KEY)
    _md, json_path = write_record(drill / "attempt-2", exit_code=0)
    data = json.loads(json_path.read_text())
    assert [a["attempt"] for a in data["attempts"]] == [1, 2]
    assert data["attempts"][0]["sealed"] and data["attempts"][0]["interrupted"]
    assert data["attempts"][1]["exit_code"] == 0
    assert data["plan"]["dry_run"]["attempt"] == 1  # the plan before the first mutation
    assert [(p["name"], p["attempts"]) for p in data["people"]["participants"]] == [
        ("Ana", [1, 2]), ("Bo", [2])]
    assert [n["text"] for n in data["lessons"]] == ["first try", "second try"]
    # attempt 1's failure stays a deviation although attempt 2 passed the stage; the ids
    # the first record gave keep their meaning
    earlier = {(d["id"], d["key"]) for d in first["deviations"]}
    assert earlier and earlier <= {(d["id"], d["key"]) for d in data["deviations"]}
    assert data["deviations"][0]["attempt"] == 1
    assert build_record(drill, current=2)["remediation"] == data["remediation"]
    assert record_path(drill) == drill / "attempt-2" / RECORD_JSON


def test_participation_names_who_was_missing(tmp_path: Path) -> None:
    drill = tmp_path / "reports" / "drill-p"
    _attempt(drill, 1, results={}, summary=_summary([], verdict="PASS"), records=[
        START, ("record.people", {"participants": parse_participants(["  ana   silva <IC>"]),
                                  "notes": []})])
    everyone = parse_participants(["Ana Silva <incident commander>", "Bo <DBA>"])
    people = build_record(drill, intended=everyone)["people"]
    assert people["missing"] == [{"name": "Bo", "role": "DBA"}]
    assert people["as_intended"] is False
    assert build_record(drill, intended=everyone[:1])["people"]["as_intended"] is True
    assert build_record(drill)["people"]["as_intended"] is None  # nobody intended: not judged


def test_the_record_is_sealed_and_a_changed_record_is_tampered_with_the_key(
        tmp_path: Path) -> None:
    drill = _full_drill(tmp_path)
    attempt = drill / "attempt-1"
    (attempt / "journal.jsonl").unlink()  # written unkeyed above: a keyed one instead
    with Journal.open(attempt, drill_id=drill.name, attempt=1, redactor=Redactor(),
                      key=KEY) as journal:
        journal.record("drill.start", target="embedded-sim")
    write_record(attempt, exit_code=1)
    seal(attempt, key=KEY)
    assert verify_drill(drill, key=KEY).verdict == "intact"
    md = attempt / RECORD_MD
    md.write_text(md.read_text().replace("FAIL", "PASS"))
    report = verify_drill(drill, key=KEY)
    assert report.verdict == "tampered"
    assert any(p.startswith(f"attempt-1/{RECORD_MD}: edited after sealing")
               for p in report.problems), report.problems


@pytest.mark.parametrize("text", ["Ana", "<IC>", "Ana <>", "Ana <IC> <x>", "Ana\x1b <IC>"])
def test_a_participant_is_name_and_role(text: str) -> None:
    with pytest.raises(ConfigError, match="--participant"):
        parse_participant(text)


def test_a_note_is_printable_and_bounded() -> None:
    assert check_note("  lesson  ") == "lesson"
    for bad in ("", "   ", "a\x07b", "x" * 2001):
        with pytest.raises(ConfigError, match="--note"):
            check_note(bad)


def test_record_participants_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "maip-dr.toml"
    path.write_text('[record]\nparticipants = ["Ana <IC>", "Bo <DBA>", "Ana <IC>"]\n')
    assert [str(p) for p in load_config(path).record_participants] == ["Ana <IC>", "Bo <DBA>"]
    path.write_text('[record]\nparticipants = ["Ana"]\n')
    with pytest.raises(ConfigError, match=r"record\.participants\[0\]: expected"):
        load_config(path)
    path.write_text('[record]\npeople = []\n')
    with pytest.raises(ConfigError, match=r"record\.people: unknown key"):
        load_config(path)


def test_a_retest_links_the_earlier_drill_and_says_which_items_it_closed(
        tmp_path: Path) -> None:
    earlier = _full_drill(tmp_path)  # failover 2 over budget, 3 failed, 4 skipped, rds RPO...
    write_record(earlier / "attempt-1", exit_code=1)
    reports = earlier.parent
    for bad, why in (("nope", "no drill 'nope'"), ("drill-b", "a drill cannot retest itself"),
                     ("../x", "drill id .* must be letters")):
        with pytest.raises(ConfigError, match=f"--retests: {why}"):
            check_retests(reports, bad, "drill-b")
    (reports / "empty" / "attempt-1").mkdir(parents=True)
    with pytest.raises(ConfigError, match="no DR test record"):
        check_retests(reports, "empty", "drill-b")
    check_retests(reports, "drill-a", "drill-b")
    drill = reports / "drill-b"
    rerun = [_row("failover", 1, "The primary region is down"),
             _row("failover", 2, "The DR replica becomes a standalone writer", minutes=9.0,
                  budget=15.0),
             _row("failover", 3, "Clients reach the DR load balancer", "failed",
                  message="DNS still answers the primary")]
    summary = _summary(rerun)
    summary["rpo"] = [dict(row, ok=True, rpo_s=1.0) if row["store"] == "rds" else row
                      for row in RPO]
    path = _attempt(drill, 1, results={"failover": rerun}, summary=summary, records=[START])
    # an item whose risk was accepted since is not retested; an owned one is
    accepted = append_decision(earlier, find_item(sealed_record(earlier), "R3"), key=None,
                               accepted_risk="DNS is the provider's")
    append_decision(earlier, find_item(sealed_record(earlier), "R1"), key=None, owner="Ana",
                    due="2027-01-31")
    with Journal.open(path, drill_id="drill-b", attempt=1, redactor=Redactor(),
                      key=None) as journal:
        journal_retest(journal, reports, "drill-a")
    md_path, json_path = write_record(path, exit_code=1)
    retest = json.loads(json_path.read_text())["retest"]
    assert retest["of"] == "drill-a"
    assert retest["record"] == "drill-a/attempt-1/dr-test-record.json"
    outcomes = {i["title"].split(":")[0] + ":" + i["kind"]: i["outcome"]
                for i in retest["items"]}
    assert outcomes["failover 2:rto_overrun"] == "closed by this run"
    assert outcomes["failover 3:failed_check"] == "still open"
    assert accepted["item_key"] not in {i["key"] for i in retest["items"]}
    assert "failover 4:skipped_stage" not in outcomes  # R3: its risk was accepted
    assert outcomes["RPO of rds 9.0 s against a target of 5.0 s (90 canaries lost)"
                    ":rpo_missed"] == "closed by this run"
    assert any(o == "not retested" for k, o in outcomes.items() if k.endswith(":override"))
    closed = [i["id"] for i in retest["items"] if i["outcome"] == "closed by this run"]
    assert retest["closed"] == closed and len(closed) >= 2
    md = md_path.read_text()
    assert "## 6. Retest" in md and "Retests the open items of drill drill-a" in md
    assert f"Closed by this run: {', '.join(closed)}" in md


def test_a_drill_level_copy_is_checked_against_the_sealed_record(tmp_path: Path) -> None:
    drill = _full_drill(tmp_path)
    assert write_drill_copy(drill) == []  # no record yet
    write_record(drill / "attempt-1", exit_code=1)
    assert write_drill_copy(drill) == [drill / RECORD_MD, drill / RECORD_JSON]
    assert check_drill_copy(drill, RECORD_MD) == [] == check_drill_copy(drill, RECORD_JSON)
    (drill / RECORD_JSON).write_text("{}")
    assert check_drill_copy(drill, RECORD_JSON) == [
        f"{RECORD_JSON}: differs from attempt-1/{RECORD_JSON}, the record sealed in the "
        "attempt (edited after the drill?)"]
