"""Retests: a drill that retests the open remediation items of an earlier one (``--retests``).

``check_retests(reports_dir, drill_id, this_drill)`` runs before a game day starts: the earlier
drill must exist under the same reports folder and hold a DR test record (``ConfigError`` on
``--retests`` otherwise, exit 2). ``journal_retest`` writes one ``record.retest`` record at the
start of the attempt: the earlier drill's id and its open items as its record listed them,
with the remediation decisions made since applied (items open or owned; an accepted risk is
not retested) (a snapshot, sealed with this attempt: the earlier folder may move later).
``retest_section`` then says, for each of those items, what this drill found:

- ``closed by this run``: a stage item (failed check, skipped stage, RTO overrun) whose stage
  passed within its budget here, or an RPO item whose store met its target here;
- ``still open``: the same deviation happened again in this drill;
- ``not retested``: this drill did not run that stage or measure that store, or the item is an
  override or an interruption (a decision for ``remediation set``, not something a run proves).

Not supported: closing the items in the earlier drill's sealed record (it is never rewritten;
this drill's record carries the outcome), retesting several drills at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maip_drlib.errors import ConfigError
from maip_drlib.evidence.journal import Journal

RETEST_KIND = "record.retest"
RETESTABLE = frozenset({"failed_check", "skipped_stage", "rto_overrun", "rpo_missed"})


def _open_items(record: dict[str, Any]) -> list[dict[str, Any]]:
    deviations = {d.get("id"): d for d in record.get("deviations") or []}
    items = []
    for item in record.get("remediation") or []:
        if item.get("status") not in ("open", "owned"):  # risk accepted: not to be fixed
            continue
        deviation = deviations.get(item.get("deviation"), {})
        items.append({"id": item.get("id"), "key": item.get("key"), "title": item.get("title"),
                      "kind": deviation.get("kind")})
    return items


def check_retests(reports_dir: Path, drill_id: str, this_drill: str | None) -> None:
    """The earlier drill exists beside this one and has a DR test record (exit 2 if not)."""
    from maip_drlib.drill.evidence_dirs import DRILL_ID
    from maip_drlib.evidence.dr_test_record import record_path

    if not DRILL_ID.match(drill_id):
        raise ConfigError(f"drill id {drill_id!r} must be letters, digits, '.', '_' or '-'",
                          key="--retests")
    if drill_id == this_drill:
        raise ConfigError("a drill cannot retest itself", key="--retests")
    folder = reports_dir / drill_id
    if not folder.is_dir():
        raise ConfigError(f"no drill {drill_id!r} in {reports_dir}", key="--retests")
    if record_path(folder) is None:
        raise ConfigError(f"drill {drill_id!r} has no DR test record (dr-test-record.json) "
                          "to retest", key="--retests")


def journal_retest(journal: Journal, reports_dir: Path, drill_id: str | None) -> None:
    """One ``record.retest`` record with the earlier drill's open items (nothing without
    ``drill_id``)."""
    if drill_id is None:
        return
    from maip_drlib.evidence.dr_test_record import record_path
    from maip_drlib.evidence.remediation import apply_decisions, read_decisions

    path = record_path(reports_dir / drill_id)
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        record = {}
    if isinstance(record, dict):  # the decisions made since: a risk accepted is not retested
        record = apply_decisions(record, read_decisions(reports_dir / drill_id)[0])
    journal.record(RETEST_KIND, retests=drill_id,
                   record=str(path.relative_to(reports_dir)) if path else None,
                   open_items=_open_items(record if isinstance(record, dict) else {}))


def _subject(key: str) -> str:
    """``attempt-1:failed_check:failover 2: ...`` -> ``failover 2: ...`` (the thing tested)."""
    parts = str(key).split(":", 2)
    return parts[2] if len(parts) == 3 else str(key)


def _outcome(item: dict[str, Any], stages: dict[str, dict[str, Any]],
             rpo: dict[str, dict[str, Any]], now: set[tuple[str, str]]) -> str:
    kind, subject = item.get("kind"), _subject(str(item.get("key")))
    if kind not in RETESTABLE:
        return "not retested"
    if (str(kind), subject) in now:
        return "still open"
    if kind == "rpo_missed":
        row = rpo.get(subject)
        return "closed by this run" if row and row.get("ok") is True else "not retested"
    if subject.startswith("end-to-end "):
        return "not retested"  # judged below from this drill's figures
    row = stages.get(subject)
    if row is None or row.get("outcome") != "passed":
        return "not retested"
    return "closed by this run" if row.get("rto_ok") is not False else "still open"


def retest_section(records: list[dict[str, Any]], results: list[dict[str, Any]],
                   rpo: list[dict[str, Any]], end_to_end: dict[str, Any],
                   deviations: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What this drill found for the items it retests; None when it retests nothing."""
    retest = next((r for r in records if r.get("kind") == RETEST_KIND), None)
    if retest is None:
        return None
    stages = {f"{r.get('phase')} {r.get('stage')}: {r.get('scenario')}": r for r in results
              if r.get("stage")}
    by_store = {str(row.get("store")): row for row in rpo}
    now = {(str(d.get("kind")), _subject(str(d.get("key")))) for d in deviations}
    items = []
    for item in retest.get("open_items") or []:
        outcome = _outcome(item, stages, by_store, now)
        subject = _subject(str(item.get("key")))
        if subject.startswith("end-to-end ") and item.get("kind") == "rto_overrun":
            figure = end_to_end.get(subject.removeprefix("end-to-end "), {})
            outcome = ("still open" if ("rto_overrun", subject) in now else
                       "closed by this run" if figure.get("ok") is True else "not retested")
        items.append({**item, "outcome": outcome})
    return {"of": retest.get("retests"), "record": retest.get("record"), "items": items,
            "closed": [i["id"] for i in items if i["outcome"] == "closed by this run"]}
