"""The report of a real game day (the session's shared one) reads right: the readiness run
before the drill and the one after it are separate results with their own ids, shown in drill
order beside the outage, hold and restore, and the home page carries the RTO/RPO tables, the
DR test record, the timeline and the headline figures.

The first test reads the allure-results the game day wrote; the second builds the
single-file report of a copy of the evidence with the project's Allure 3 and reads the data
the page embeds (not pixels). It skips, naming what is missing, without Node.js or Allure 3
(``npm ci``)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from shared_gameday import DRILL_ID, SharedGameDay

from maip_drlib.evidence.drill_phases import group_name
from maip_drlib.evidence.report_overview import align_tables

pytestmark = pytest.mark.gameday

ROOT = Path(__file__).resolve().parents[2]
EMBEDDED = re.compile(r'd\("([^"]+)",\s*"([A-Za-z0-9+/=]*)"\)')
DRILL_ORDER = [group_name(key) for key in ("readiness", "outage", "failover", "rpo", "hold",
                                           "restore", "failback", "readiness-after")]
NEEDS_ALLURE = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (node) is not installed"),
    pytest.mark.skipif(not (ROOT / "node_modules" / "allure" / "cli.js").is_file(),
                       reason="Allure 3 is not installed: run `npm ci` in the project root"),
]


def _labels(result: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in result.get("labels", []):
        out.setdefault(label["name"], []).append(label["value"])
    return out


def _phase(result: dict[str, Any]) -> str:
    return _labels(result).get("drill_phase", ["?"])[0]


def _scenario(result: dict[str, Any]) -> str:
    return result["fullName"].split(":", 1)[1]  # the phase's prefix off


def _readiness_pairs(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    pairs: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        if _phase(result) in ("readiness", "readiness-after"):
            pairs.setdefault(_scenario(result), []).append(result)
    return pairs


def test_the_game_days_results_put_each_readiness_phase_apart(
        embedded_gameday: SharedGameDay) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    results = [json.loads(p.read_text()) for p in
               (embedded_gameday.attempt / "allure-results").glob("*-result.json")]
    pairs = _readiness_pairs(results)
    both = {name: runs for name, runs in pairs.items() if len(runs) == 2}
    assert len(both) >= 8, sorted(pairs)  # every readiness scenario ran before and after
    for name, runs in both.items():
        before, after = sorted(runs, key=lambda r: r["start"])
        assert (_phase(before), _phase(after)) == ("readiness", "readiness-after"), name
        for key in ("fullName", "testCaseId", "historyId"):
            assert before[key] != after[key], (name, key)
        assert _labels(before)["parentSuite"] == [DRILL_ORDER[0]]
        assert _labels(after)["parentSuite"] == [DRILL_ORDER[-1]]
    ordered = sorted(results, key=lambda r: r["start"])
    positions = [DRILL_ORDER.index(_labels(r)["parentSuite"][0]) for r in ordered]
    assert positions == sorted(positions), "results out of drill order"


def _embedded(index: Path) -> dict[str, bytes]:
    return {path: base64.b64decode(data)
            for path, data in EMBEDDED.findall(index.read_text(encoding="utf-8"))}


@NEEDS_ALLURE[0]
@NEEDS_ALLURE[1]
def test_the_report_shows_both_readiness_phases_in_drill_order_with_the_overview(
        embedded_gameday: SharedGameDay, tmp_path: Path) -> None:
    from maip_drlib.evidence.html_report import build_report, find_allure

    assert embedded_gameday.returncode == 0, embedded_gameday.output
    reports = tmp_path / "reports"  # a copy: the shared evidence is never modified
    shutil.copytree(embedded_gameday.workdir / "reports" / DRILL_ID, reports / DRILL_ID,
                    ignore=shutil.ignore_patterns("html"))
    tool = find_allure(None, config=ROOT / "allurerc.mjs", cache=tmp_path / "no-cache",
                       clone=ROOT)
    data = _embedded(build_report(reports / DRILL_ID, tool=tool, keep_history=False))

    results = [json.loads(v) for k, v in data.items() if k.startswith("data/test-results/")]
    assert not [r["name"] for r in results if r["isRetry"] or r["retriesCount"]]
    assert "retries" not in json.loads(data["widgets/statistic.json"])
    pairs = {name: runs for name, runs in _readiness_pairs(results).items() if len(runs) == 2}
    assert len(pairs) >= 8
    for name, (first, second) in pairs.items():
        assert first["id"] != second["id"] and first["historyId"] != second["historyId"], name
        assert first["testCase"]["id"] != second["testCase"]["id"], name

    tree = json.loads(data["widgets/tree.json"])
    groups = [tree["groupsById"][g]["name"] for g in tree["root"]["groups"]]
    assert groups == DRILL_ORDER  # the hold ran too (--hold-in-dr); readiness after is last
    assert not tree["root"].get("leaves")  # every result sits in its phase
    events = {r["name"] for r in results if "drill-event" in _labels(r).get("tag", [])}
    assert {"[SIMULATED] Outage of us-east-1 injected",
            "[SIMULATED] us-east-1 restored"} <= events
    assert any(name.startswith("[SIMULATED] Hold in DR") for name in events)

    attachments = json.loads(data["widgets/globals.json"])["attachments"]
    assert [a["name"] for a in attachments] == ["RTO and RPO", "DR test record",
                                                "drill timeline"]
    content = [data[f"data/attachments/{a['id']}{a['ext']}"] for a in attachments]
    tables = content[0].decode()
    assert "## RTO per stage" in tables and "## RTO end to end" in tables
    assert "## RPO per store" in tables and "| dynamodb |" in tables
    assert "failover 5" in tables and "failback 4" in tables
    record = content[1].decode()
    assert f"# DR test record: drill {DRILL_ID}" in record
    assert record == align_tables((reports / DRILL_ID / "dr-test-record.md").read_text())
    assert content[2].startswith(b"\x89PNG")
    variables = json.loads(data["widgets/variables.json"])
    assert variables["verdict"] == "PASS"
    assert variables["RTO failover"].endswith("min end to end: met")
    assert variables["evidence"].startswith("SIMULATED")
