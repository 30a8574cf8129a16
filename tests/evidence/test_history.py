"""``maip-dr history``: every drill of a reports folder, oldest first, with its verdict, RTO end
to end, RPO per store, open remediation items and evidence verdict; the trend plot; the exit
codes. Drills are built with the evidence tests' own helpers (a keyed journal and seal from
test_manifest_verify, stage results and RPO rows from test_summary_timeline, written by the
real ``write_summary``)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from test_manifest_verify import KEY, run_attempt
from test_summary_timeline import RESULTS, RPO
from test_verify_cli import run

from maip_drlib.evidence.history import DrillRow, read_drill, read_history
from maip_drlib.evidence.history_plot import write_history_plot
from maip_drlib.evidence.manifest import seal
from maip_drlib.evidence.summary_files import write_summary

pytestmark = pytest.mark.unit

PASSED = [dict(r, outcome="passed", rto_ok=True) for r in RESULTS]


def make_drill(reports: Path, drill_id: str, *, results: list[dict] | None = None,
               rpo: list[dict] | None = None, simulated: bool = True,
               record: dict | None = None, summary: str | None = None) -> Path:
    """A keyed, sealed drill of one attempt whose summary was written by ``write_summary``
    (or, given ``summary``, holds that text); ``record`` is its DR test record."""
    drill = reports / drill_id
    attempt = run_attempt(drill, 1, sealed=False)
    if summary is None:
        write_summary(attempt, results=results or RESULTS, rpo=RPO if rpo is None else rpo,
                      target={"name": "embedded" if simulated else "prod",
                              "kind": "embedded" if simulated else "live"},
                      operator="arn:aws:sts::123456789012:user/moto (ops@host)",
                      simulated=simulated, time_scale=0.5 if simulated else None,
                      drill_id=drill_id, rto_end_to_end={})
    else:
        (attempt / "summary.json").write_text(summary)
    if record is not None:
        (attempt / "dr-test-record.json").write_text(json.dumps(record))
    seal(attempt, key=KEY)
    return drill


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIP_DR_HMAC_KEY", raising=False)


def test_a_drill_row_carries_verdict_rto_rpo_and_the_evidence_verdict(tmp_path: Path) -> None:
    drill = make_drill(tmp_path, "gameday-1")
    row = read_drill(drill, key=KEY)
    assert row.verdict == "FAIL" and row.unreadable is None
    assert row.date is not None and row.date_from == "journal"
    assert (row.target, row.target_kind, row.simulated) == ("embedded", "embedded", True)
    assert row.rto["failover"] == {"minutes": 18.0, "budget_minutes": 35.0, "ok": None,
                                   "complete": False}
    assert row.rpo == {"dynamodb": None, "rds": 4.2, "msk": None}
    assert row.open_items is None  # no DR test record
    assert row.evidence == "intact"
    assert read_drill(drill, key=None).evidence == "unverified"
    summary = drill / "attempt-1" / "summary.json"
    summary.write_text(summary.read_text().replace('"FAIL"', '"PASS"'))
    assert read_drill(drill, key=KEY).evidence == "tampered"


def test_open_remediation_items_come_from_the_dr_test_record(tmp_path: Path) -> None:
    record = {"remediation": [{"id": "R1", "status": "open"}, {"id": "R2", "status": "closed"},
                              {"id": "R3", "status": "open"}, {"id": "R4", "status": "accepted"}]}
    row = read_drill(make_drill(tmp_path, "gameday-1", record=record), key=KEY)
    assert row.open_items == ["R1", "R3"] and row.evidence == "intact"
    none_open = read_drill(make_drill(tmp_path, "gameday-2", record={"remediation": []}), key=KEY)
    assert none_open.open_items == []


def test_a_broken_summary_is_a_row_saying_why(tmp_path: Path) -> None:
    row = read_drill(make_drill(tmp_path, "gameday-1", summary='{"verdict": "PA'), key=KEY)
    assert row.verdict == "unreadable"
    assert row.unreadable is not None and row.unreadable.startswith(
        "attempt-1/summary.json: not JSON (")
    assert '"PA' not in row.unreadable  # the file's contents are never quoted
    assert row.evidence == "intact"  # sealed as it is: the evidence itself is whole


def test_drills_are_listed_oldest_first_and_a_drill_without_summary_is_incomplete(
        tmp_path: Path) -> None:
    make_drill(tmp_path, "z-first")
    make_drill(tmp_path, "a-second", results=PASSED, simulated=False)
    run_attempt(tmp_path / "m-interrupted", 1, sealed=False)  # killed before its summary
    (tmp_path / "not-a-drill").mkdir()
    rows = read_history(tmp_path, key=KEY)
    assert [r.drill_id for r in rows] == ["z-first", "a-second", "m-interrupted"]
    assert [r.verdict for r in rows] == ["FAIL", "PASS", "incomplete"]
    assert rows[1].simulated is False and rows[1].rto["failover"]["ok"] is True
    assert rows[2].evidence == "tampered"  # never sealed: verify counts it a problem


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_the_trend_plot_is_a_png_with_content(tmp_path: Path) -> None:
    rows = [DrillRow("d1", "x", date="2026-01-01T10:00:00.000Z", simulated=True,
                     rto={"failover": {"minutes": 20.0, "budget_minutes": 45.0}},
                     rpo={"dynamodb": 0.5, "rds": 0.0, "msk": None}),
            DrillRow("d2", "x", date="2026-02-01T10:00:00.000Z", simulated=False,
                     rto={"failover": {"minutes": 30.0, "budget_minutes": 45.0},
                          "failback": {"minutes": 90.0, "budget_minutes": 165.0}},
                     rpo={"dynamodb": 1.5, "rds": 2.0, "msk": None}),
            DrillRow("undated", "x")]
    path, undated = write_history_plot(rows, tmp_path / "out" / "history.png")
    assert undated == 1
    assert _png_size(path) == (1200, 700)
    assert path.stat().st_size > 20_000  # axes, points, legends: not an empty canvas


def test_cli_lists_the_table_draws_the_plot_and_says_where(tmp_path: Path, capsys) -> None:
    reports = tmp_path / "reports"
    make_drill(reports, "gameday-1", record={"remediation": [{"id": "R1", "status": "open"}]})
    make_drill(reports, "gameday-2", results=PASSED, summary="[1, 2]")
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    code, out, err = run(["history", str(reports), "--hmac-key-file", str(key_file)], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"2 drill(s) in {reports}, oldest first"
    assert lines[1].split() == ["date", "(UTC)", "drill", "target", "verdict", "RTO", "end",
                                "to", "end", "(min", "/", "budget)", "RPO", "dynamodb", "/",
                                "rds", "/", "msk", "open", "items", "evidence"]
    first = lines[2]
    assert " gameday-1 " in first and "embedded [embedded] (simulated)" in first
    assert "FAIL" in first and "failover 18.0 / 35 incomplete" in first
    assert "not measured / 4.200 s / not measured" in first
    assert first.split()[-2:] == ["R1", "intact"]
    assert " gameday-2 " in lines[3] and lines[3].split()[4:5] == ["unreadable"]
    assert lines[3].endswith(
        "intact    unreadable: attempt-1/summary.json: expected a JSON object, found list")
    assert lines[4] == f"trend plot (RTO end to end, RPO per store): {reports / 'history.png'}"
    assert _png_size(reports / "history.png") == (1200, 700)


def test_cli_json_quiet_and_exit_codes(tmp_path: Path, capsys) -> None:
    reports = tmp_path / "reports"
    make_drill(reports, "gameday-1")
    code, out, _ = run(["history", "--reports", str(reports), "--json", "--no-plot"], capsys)
    document = json.loads(out)
    assert code == 0 and document["plot"] is None and document["key_given"] is False
    assert [(d["drill_id"], d["verdict"], d["evidence"]) for d in document["drills"]] == [
        ("gameday-1", "FAIL", "unverified")]
    assert document["drills"][0]["rpo"] == {"dynamodb": None, "rds": 4.2, "msk": None}

    code, out, err = run(["history", str(reports), "--quiet",
                          "--plot", str(tmp_path / "p.png")], capsys)
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith("date (UTC)") and len(out.splitlines()) == 2
    assert (tmp_path / "p.png").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(["history", str(empty)], capsys)
    assert (code, out, err) == (0, f"no drill in {empty}\n", "")
    assert not (empty / "history.png").exists()

    code, out, err = run(["history", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and out == ""
    assert err == f"maip-dr: {tmp_path / 'nowhere'}: REPORTS_DIR: no such folder\n"

    code, _, err = run(["history", str(reports), "--reports", str(empty)], capsys)
    assert code == 2 and "two reports folders given" in err and len(err.splitlines()) == 1
