"""Remediation decisions on a real game day's evidence (a copy of the session's shared one,
signed with the HMAC key in its environment): the intended participant who did not take part
(Bo) is a remediation item; ``maip-dr remediation set`` records an owner for it, signed, beside
the sealed attempt; ``verify`` still calls the drill intact with the key, ``remediation list``
and ``history`` no longer count the item as open."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from shared_gameday import DRILL_ID, SECRETS, SharedGameDay
from test_verify_cli import run

from maip_drlib.evidence.history import read_drill
from maip_drlib.evidence.integrity import verify_drill
from maip_drlib.evidence.remediation import DECISIONS_NAME
from maip_drlib.evidence.report_overview import _record_text

pytestmark = [pytest.mark.gameday]


def test_a_decision_on_the_shared_game_days_missing_participant(
        embedded_gameday: SharedGameDay, tmp_path: Path, capsys,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    reports = tmp_path / "reports"
    shutil.copytree(embedded_gameday.workdir / "reports", reports)
    drill = reports / DRILL_ID
    record = json.loads((drill / "dr-test-record.json").read_text())
    (item,) = [i for i in record["remediation"]
               if i["key"] == "drill:missing_participant:bo"]
    assert item["status"] == "open"
    key = SECRETS["MAIP_DR_HMAC_KEY"]
    before = read_drill(drill, key=key.encode())
    assert item["id"] in before.open_items
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", key)
    code, out, err = run(["remediation", "set", DRILL_ID, item["id"], "--owner",
                          "Ana <incident commander>", "--due", "2099-01-31", "--reports",
                          str(reports)], capsys)
    assert code == 0, out + err
    assert (drill / DECISIONS_NAME).is_file()
    assert verify_drill(drill, key=key.encode()).verdict == "intact"
    after = read_drill(drill, key=key.encode())
    assert item["id"] not in after.open_items and after.evidence == "intact"
    code, out, _ = run(["remediation", "list", DRILL_ID, "--reports", str(reports)], capsys)
    assert code == 0 and f"{item['id']}  owned by Ana <incident commander>, due 2099-01-31" \
        in out, out
    # The report's overview shows the record as it reads now, the decision applied.
    text = _record_text(drill)
    assert text is not None and "Ana <incident commander>" in text, text
    assert "2099-01-31" in text
