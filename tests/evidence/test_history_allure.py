"""The single-file report carries Allure 3's history across drills: a second drill's report,
built after the first one's in the same reports folder, holds the first drill's run of the same
scenario (the history file ``<reports>/.allure-history.jsonl``, read through ``historyPath``).

Runs the project's Allure 3 (``npm ci`` in the clone) on two small drills and reads the data the
report embeds (``d("data/...json", "<base64>")``). Skips, naming what is missing, without
Node.js or the installed Allure 3.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from maip_drlib.evidence.allure_install import find_allure
from maip_drlib.evidence.html_report import HISTORY_NAME, build_report

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (node) is not installed"),
    pytest.mark.skipif(not (ROOT / "node_modules" / "allure" / "cli.js").is_file(),
                       reason="Allure 3 is not installed: run `npm ci` in the project root"),
]

SCENARIO = "failover 2: The DR replica becomes a standalone writer"
EMBEDDED = re.compile(r'd\("([^"]+\.json)",\s*"([A-Za-z0-9+/=]*)"\)')


def allure_drill(reports: Path, drill_id: str, status: str, start_ms: int) -> Path:
    """A drill whose one attempt holds one Allure result of ``SCENARIO``."""
    results = reports / drill_id / "attempt-1" / "allure-results"
    results.mkdir(parents=True)
    uuid = f"{drill_id}-0000-0000-0000-000000000001"
    (results / f"{uuid}-result.json").write_text(json.dumps({
        "uuid": uuid, "historyId": "failover-2-standalone-writer", "name": SCENARIO,
        "fullName": f"features/failover.feature:{SCENARIO}", "status": status,
        "stage": "finished", "start": start_ms, "stop": start_ms + 1500,
        "labels": [{"name": "feature", "value": "Failover"}]}))
    return reports / drill_id


def embedded(index: Path) -> dict[str, Any]:
    """The JSON files a single-file report embeds, by their path in the report."""
    return {path: json.loads(base64.b64decode(data))
            for path, data in EMBEDDED.findall(index.read_text(encoding="utf-8"))}


def test_a_second_drills_report_holds_the_first_drills_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    first = allure_drill(reports, "gameday-1", "failed", 1_790_000_000_000)
    second = allure_drill(reports, "gameday-2", "passed", 1_790_086_400_000)
    tool = find_allure(None, config=ROOT / "allurerc.mjs", cache=tmp_path / "no-cache",
                       clone=ROOT)

    build_report(first, tool=tool)
    history = reports / HISTORY_NAME
    assert [json.loads(line)["name"] for line in history.read_text().splitlines()] == [
        "MAIP DR drill gameday-1"]

    data = embedded(build_report(second, tool=tool))
    runs = [v for k, v in data.items() if k.startswith("data/history/")]
    assert [run["name"] for run in runs] == ["MAIP DR drill gameday-1"]
    result = next(v for k, v in data.items() if k.startswith("data/test-results/"))
    assert result["name"] == SCENARIO and result["status"] == "passed"
    assert [(h["status"], h["start"]) for h in result["history"]] == [
        ("failed", 1_790_000_000_000)]  # the first drill's run of the same scenario

    build_report(second, tool=tool)  # rebuilt: its drill's run is replaced, not added twice
    assert [json.loads(line)["name"] for line in history.read_text().splitlines()] == [
        "MAIP DR drill gameday-1", "MAIP DR drill gameday-2"]
