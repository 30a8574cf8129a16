"""Every drill of a reports folder, one row each: what ``maip-dr history`` lists and plots.

A drill is a folder of the reports folder holding ``attempt-<n>`` folders. Its row is read from
the evidence the drill left, without changing any of it:

- date (UTC): the first record of the first attempt's journal (``at``); without a journal, the
  time the newest ``summary.json`` was written (``date_from`` says which);
- target, verdict, RTO end to end and RPO per store: the newest attempt's ``summary.json``
  (each finished attempt writes one covering every attempt of the drill); an attempt that never
  finished leaves no summary: the verdict reads "incomplete" and the target comes from the
  journal's ``drill.start`` record;
- open remediation items: the ``remediation`` list of the DR test record
  (``dr-test-record.json``, beside the attempts or in the newest attempt holding one) with
  the decisions of ``remediation.jsonl`` applied (``remediation.py``): items nobody decided
  yet, then owned items past their due date ("R3 (overdue)"); None when the drill has no
  record;
- evidence: ``verify_drill``'s verdict (intact, unverified, tampered) with the key given.

A drill whose ``summary.json`` (or DR test record) cannot be read is still a row, with
``unreadable`` saying why, never an error.

Not supported: drills spread over several reports folders, drills in an S3 bucket.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maip_drlib.errors import ConfigError
from maip_drlib.evidence.journal import JOURNAL_NAME, EvidenceError, attempt_dirs

STORES = ("dynamodb", "rds", "msk")
RECORD_NAME = "dr-test-record.json"
SUMMARY_NAME = "summary.json"
PHASES = ("failover", "failback")


@dataclass
class DrillRow:
    """One drill of the history (``asdict`` is its JSON form)."""

    drill_id: str
    path: str
    date: str | None = None  # ISO 8601 UTC, "2026-12-06T11:40:44.198Z"
    date_from: str | None = None  # "journal" or "summary"
    attempts: int = 0
    target: str | None = None
    target_kind: str | None = None
    simulated: bool | None = None
    verdict: str = "incomplete"  # PASS, FAIL, incomplete (no summary) or unreadable
    rto: dict[str, dict[str, Any]] = field(default_factory=dict)  # phase -> figure
    rpo: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(STORES))
    open_items: list[str] | None = None  # None: no DR test record
    evidence: str = "unverified"  # intact, unverified, tampered, or "unreadable: ..."
    unreadable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def when(self) -> datetime | None:
        return _parse_time(self.date) if self.date else None


def find_drills(reports: Path) -> list[Path]:
    """The drill folders of ``reports`` (folders holding ``attempt-<n>``), by name."""
    return sorted(child for child in reports.iterdir()
                  if child.is_dir() and not child.is_symlink() and attempt_dirs(child))


def read_history(reports: Path, *, key: bytes | None) -> list[DrillRow]:
    """Every drill of ``reports``, oldest first (undated drills last, by id);
    ``ConfigError`` when ``reports`` is no folder."""
    if not reports.is_dir():
        raise ConfigError("no such folder", source=str(reports), key="REPORTS_DIR")
    rows = [read_drill(drill, key=key) for drill in find_drills(reports)]
    return sorted(rows, key=lambda r: (r.date is None, r.date or "", r.drill_id))


def read_drill(drill_dir: Path, *, key: bytes | None) -> DrillRow:
    """The row of one drill folder; reading problems land in ``unreadable``."""
    attempts = attempt_dirs(drill_dir)
    row = DrillRow(drill_id=drill_dir.name, path=str(drill_dir), attempts=len(attempts))
    start = _first_record(next(iter(attempts.values()))) if attempts else None
    if start:
        row.date, row.date_from = _iso(start.get("at")), "journal"
        row.target = start.get("target")
        row.target_kind = start.get("target_kind")
        row.simulated = start.get("simulated")
    summary_path = next((p / SUMMARY_NAME for p in reversed(attempts.values())
                         if (p / SUMMARY_NAME).is_file()), None)
    problems: list[str] = []
    if summary_path is not None:
        try:
            _apply_summary(row, _read_json(summary_path))
        except (OSError, ValueError, TypeError, AttributeError) as error:
            problems.append(f"{summary_path.relative_to(drill_dir)}: {_why(error)}")
            row.verdict = "unreadable"
        if row.date is None:
            stamp = datetime.fromtimestamp(summary_path.stat().st_mtime, UTC)
            row.date, row.date_from = _iso(stamp.isoformat()), "summary"
    try:
        row.open_items = open_items(drill_dir, attempts)
    except (OSError, ValueError, TypeError, AttributeError) as error:
        problems.append(f"{RECORD_NAME}: {_why(error)}")
    row.unreadable = "; ".join(problems) or None
    row.evidence = evidence_verdict(drill_dir, key=key)
    return row


def evidence_verdict(drill_dir: Path, *, key: bytes | None) -> str:
    """``verify_drill``'s verdict, or "unreadable: <why>" when it cannot check at all."""
    from maip_drlib.evidence.integrity import verify_drill

    try:
        return verify_drill(drill_dir, key=key, expect_digest=None).verdict
    except (ConfigError, EvidenceError, OSError, ValueError) as error:
        return f"unreadable: {_why(error)}"


def open_items(drill_dir: Path, attempts: dict[int, Path]) -> list[str] | None:
    """Ids of the DR test record's open remediation items; None without a record."""
    candidates = [drill_dir / RECORD_NAME, *(p / RECORD_NAME for p in reversed(attempts.values()))]
    record_path = next((p for p in candidates if p.is_file()), None)
    if record_path is None:
        return None
    from maip_drlib.evidence.remediation import apply_decisions, open_ids, read_decisions

    record = _read_json(record_path)
    items = record.get("remediation") or []
    if not isinstance(items, list):
        raise ValueError("'remediation' is not a list")
    items = [dict(item, id=item.get("id") or f"#{index + 1}")
             for index, item in enumerate(items) if isinstance(item, dict)]
    return open_ids(apply_decisions({**record, "remediation": items},
                                    read_decisions(drill_dir)[0]))


def _apply_summary(row: DrillRow, summary: dict[str, Any]) -> None:
    target = summary.get("target") or {}
    row.target = target.get("name", row.target)
    row.target_kind = target.get("kind", row.target_kind)
    if "simulated" in summary:
        row.simulated = bool(summary["simulated"])
    row.verdict = str(summary.get("verdict") or "incomplete")
    for phase, figure in (summary.get("rto_end_to_end") or {}).items():
        row.rto[phase] = {"minutes": figure.get("simulated_minutes"),
                          "budget_minutes": figure.get("budget_minutes"),
                          "ok": figure.get("ok"), "complete": figure.get("complete", True)}
    for entry in summary.get("rpo") or []:
        store = str(entry.get("store") or "").split(":", 1)[0]
        if store in row.rpo and entry.get("rpo_s") is not None:
            row.rpo[store] = float(entry["rpo_s"])


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, found {type(data).__name__}")
    return data


def _first_record(attempt: Path) -> dict[str, Any] | None:
    """The journal's first record, or None (no journal, or a first line that is no JSON)."""
    try:
        with (attempt / JOURNAL_NAME).open(encoding="utf-8") as journal:
            first = json.loads(journal.readline())
    except (OSError, ValueError):
        return None
    return first if isinstance(first, dict) else None


def _parse_time(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _iso(value: object) -> str | None:
    stamp = _parse_time(str(value)) if value else None
    if stamp is None:
        return None
    return stamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _why(error: BaseException) -> str:
    """One line: the error's class and message (a file's contents are never quoted: JSON errors
    give the position only)."""
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg} at line {error.lineno} column {error.colno})"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
