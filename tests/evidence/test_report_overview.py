"""The report's overview and drill events, staged for Allure from a drill folder
(maip_drlib/evidence/report_overview.py, report_events.py): the RTO/RPO tables, the DR test
record and the timeline as global attachments in that order, the headline figures, and the
outage, hold and restore as results of their phases. A drill folder of sample files: no
Allure here (tests/evidence/test_report_shared_gameday.py renders a real one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.report_events import EVENT_TAG, write_event_results
from maip_drlib.evidence.report_overview import (
    RECORD_NAME,
    RTO_RPO_NAME,
    TEXT_TYPE,
    TIMELINE_NAME,
    align_tables,
    headline,
    rto_rpo_markdown,
    write_overview,
)

pytestmark = pytest.mark.unit

SUMMARY: dict[str, Any] = {
    "drill_id": "gameday-x", "verdict": "PASS", "simulated": True, "time_scale": 0.5,
    "stages": [
        {"phase": "readiness", "stage": None, "scenario": "EKS", "outcome": "passed"},
        {"phase": "failover", "stage": 2, "scenario": "The DR replica becomes a standalone "
         "writer", "outcome": "passed", "simulated_minutes": 7.534, "rto_budget_minutes": 15,
         "rto_ok": True},
        {"phase": "failback", "stage": 4, "scenario": "The platform is back in its steady "
         "state", "outcome": "passed", "simulated_minutes": 70.0, "rto_budget_minutes": 60,
         "rto_ok": False},
    ],
    "rto_end_to_end": {
        "failback": {"budget_minutes": 165.0, "complete": True, "from": "failback start",
                     "ok": True, "simulated_minutes": 82.891, "to": "steady state"},
        "failover": {"budget_minutes": 45.0, "complete": True,
                     "from": "outage declared/detected", "ok": True,
                     "simulated_minutes": 17.825, "to": "DR serving"}},
    "rpo": [{"store": "dynamodb", "status": "measured", "rpo_s": 0.5, "target_s": 5.0,
             "lost": 5, "ok": True},
            {"store": "msk", "status": "not measured", "rpo_s": None, "lost": None,
             "ok": None}],
}


def _journal(*records: dict[str, Any]) -> str:
    base = {"drill_id": "gameday-x", "attempt": 1, "hash": "h", "prev": "p", "mac": "m"}
    return "".join(json.dumps({**base, **r}) + "\n" for r in records)


@pytest.fixture
def drill(tmp_path: Path) -> Path:
    attempt = tmp_path / "gameday-x" / "attempt-1"
    attempt.mkdir(parents=True)
    (attempt / "summary.json").write_text(json.dumps(SUMMARY))
    (attempt / "timeline.png").write_bytes(b"\x89PNG\r\n\x1a\nsample")
    (attempt / "dr-test-record.md").write_text("# DR test record: attempt copy\n")
    (tmp_path / "gameday-x" / "dr-test-record.md").write_text(
        "# DR test record: drill gameday-x: PASS\n\n| stage | RTO |\n|---|---:|\n"
        "| failover 2 | met |\n")
    (attempt / "journal.jsonl").write_text(_journal(
        {"kind": "drill.start", "at": "2026-12-06T13:29:12.511Z", "simulated": True},
        {"kind": "phase.start", "at": "2026-12-06T13:29:12.512Z", "phase": "readiness"},
        {"kind": "fault", "at": "2026-12-06T13:29:20.551Z", "action": "outage",
         "region": "us-east-1", "simulated": True},
        {"kind": "hold.start", "at": "2026-12-06T13:29:34.000Z", "planned_minutes": 2},
        {"kind": "hold.end", "at": "2026-12-06T13:29:35.000Z", "ok": False,
         "verdict": "ended early: 5xx above the limit"},
        {"kind": "fault", "at": "2026-12-06T13:29:36.000Z", "action": "restore",
         "region": "us-east-1", "simulated": True},
        {"kind": "phase.start", "at": "2026-12-06T13:29:37.000Z", "phase": "failback"})
        + "not a JSON line\n")
    return tmp_path / "gameday-x"


def test_the_rto_rpo_tables_hold_every_stage_the_end_to_end_and_every_store() -> None:
    text = rto_rpo_markdown(SUMMARY)
    assert text.startswith("> **SIMULATED RUN**")
    assert "| failover 2 | passed | 7.53 | 15 | met | The DR replica" in text
    assert "| failback 4 | passed | 70.00 | 60 | OVER |" in text
    assert "EKS" not in text  # readiness is no RTO
    end_to_end = text.split("## RTO end to end")[1]
    assert end_to_end.index("| failover |") < end_to_end.index("| failback |")
    assert "| failover | 17.82 | 45 | met | outage declared/detected | DR serving |" in text
    assert "| dynamodb | 0.500 | 5 | 5 | met |" in text
    assert "| msk | - | - | - | not measured |" in text


def test_headline_figures() -> None:
    assert headline(SUMMARY) == {
        "verdict": "PASS", "evidence": "SIMULATED run (simulated minutes)",
        "RTO failover": "17.8 of 45 min end to end: met",
        "RTO failback": "82.9 of 165 min end to end: met",
        "RPO dynamodb": "0.5 of 5 s: met", "RPO msk": "not measured"}


def test_tables_are_aligned_and_stay_markdown() -> None:
    text = align_tables("x\n| a | long value |\n|---|---:|\n| bbb | 1 |\n| - | - |\ny\n")
    assert text.splitlines() == ["x", "| a   | long value |", "| --- | ---------: |",
                                 "| bbb |          1 |", "| -   |          - |", "y"]


def test_the_overview_is_staged_as_global_attachments_in_order(drill: Path,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    variables = write_overview(drill, folder)
    assert variables["verdict"] == "PASS"
    [globals_file] = folder.glob("*-globals.json")
    attachments = json.loads(globals_file.read_text())["attachments"]
    assert [a["name"] for a in attachments] == [RTO_RPO_NAME, RECORD_NAME, TIMELINE_NAME]
    assert [a["type"] for a in attachments] == [TEXT_TYPE, TEXT_TYPE, "image/png"]
    texts = [(folder / a["source"]).read_bytes() for a in attachments]
    rows = [" ".join(line.split()) for line in texts[0].decode().splitlines()]
    assert "| failover | 17.82 | 45 | met | outage declared/detected | DR serving |" in rows
    assert texts[1].startswith(b"# DR test record: drill gameday-x")  # the drill's copy
    assert b"| stage      | RTO |\n| ---------- | --: |" in texts[1]  # aligned
    assert texts[2] == (drill / "attempt-1" / "timeline.png").read_bytes()


def test_a_drill_without_summary_or_record_gets_what_there_is(tmp_path: Path) -> None:
    attempt = tmp_path / "d" / "attempt-1"
    attempt.mkdir(parents=True)
    assert write_overview(tmp_path / "d", tmp_path / "staged") == {}
    assert not list((tmp_path / "staged").glob("*-globals.json"))


def test_the_outage_hold_and_restore_are_results_of_their_phases(drill: Path,
                                                                tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    assert write_event_results(drill, folder) == 3
    results = sorted((json.loads(p.read_text()) for p in folder.glob("*-result.json")),
                     key=lambda r: r["start"])
    labels = [{x["name"]: x["value"] for x in r["labels"]} for r in results]
    assert [x["parentSuite"] for x in labels] == [
        "2. outage of the primary region", "5. hold in DR", "6. restore of the primary region"]
    assert [r["name"] for r in results] == ["[SIMULATED] Outage of us-east-1 injected",
                                            "[SIMULATED] Hold in DR for 2 minutes",
                                            "[SIMULATED] us-east-1 restored"]
    assert [r["status"] for r in results] == ["passed", "failed", "passed"]
    assert results[1]["statusDetails"]["message"] == "ended early: 5xx above the limit"
    assert results[1]["stop"] - results[1]["start"] == 1000
    assert all(x["tag"] == EVENT_TAG for x in labels)
    assert len({r["fullName"] for r in results}) == 3
    attached = json.loads((folder / results[0]["attachments"][0]["source"]).read_text())
    assert attached[0]["action"] == "outage" and "mac" not in attached[0]


def _old_result(uuid: str, start: int, name: str) -> dict[str, Any]:
    full_name = f"features/readiness.feature:{name}"
    return {"uuid": uuid, "name": f"[SIMULATED] {name}", "fullName": full_name,
            "testCaseId": "t", "historyId": "t.d41d8cd98f00b204e9800998ecf8427e",
            "status": "passed", "start": start, "stop": start + 10,
            "labels": [{"name": "feature", "value": "DR readiness preflight"},
                       {"name": "stage", "value": "readiness"}]}


def test_results_recorded_before_phases_are_put_in_their_phase_in_a_copy(
        tmp_path: Path) -> None:
    attempt = tmp_path / "gameday-old" / "attempt-1"
    results = attempt / "allure-results"
    results.mkdir(parents=True)
    (attempt / "journal.jsonl").write_text(_journal(
        {"kind": "phase.start", "at": "2026-12-06T13:29:12.000Z", "phase": "readiness"},
        {"kind": "phase.end", "at": "2026-12-06T13:29:17.000Z", "phase": "readiness"},
        {"kind": "phase.start", "at": "2026-12-06T13:30:15.000Z",
         "phase": "readiness-after"},
        {"kind": "phase.end", "at": "2026-12-06T13:30:18.000Z", "phase": "readiness-after"}))
    start = 1796563753000  # 2026-12-06T13:29:13Z
    for uuid, at in (("a", start), ("b", start + 63_000)):
        (results / f"{uuid}-result.json").write_text(json.dumps(_old_result(uuid, at, "EKS")))
    (results / "a-attachment.txt").write_text("stdout")
    sealed = {p.name: p.read_bytes() for p in results.iterdir()}

    from maip_drlib.evidence.report_legacy import staged_results

    staged = staged_results(results, tmp_path / "staged")
    assert staged != results and {p.name: p.read_bytes() for p in results.iterdir()} == sealed
    assert (staged / "a-attachment.txt").read_text() == "stdout"
    before, after = (json.loads((staged / f"{u}-result.json").read_text()) for u in "ab")
    assert before["fullName"] == "readiness:features/readiness.feature:EKS"
    assert after["fullName"] == "readiness-after:features/readiness.feature:EKS"
    assert before["testCaseId"] != after["testCaseId"]
    assert before["historyId"] != after["historyId"]
    assert after["name"] == "[SIMULATED] EKS (after the drill)"
    labels = {x["name"]: x["value"] for x in after["labels"]}
    assert labels["parentSuite"] == "8. readiness after the drill"
    assert labels["suite"] == "DR readiness preflight"
    assert staged_results(staged, tmp_path / "again") == staged  # phased now: used as is
