"""The drill's events as Allure results, so the report lists the whole drill in order.

Between the scenarios a game day does things no scenario does: it injects the outage of the
primary region (simulations), holds the platform in DR (``--hold-in-dr``) and restores the
primary. The journal records them (``fault`` with ``action`` ``outage``/``restore``,
``hold.start``/``hold.end``); here each becomes one result in Allure's result format, in its
drill phase (``parentSuite`` "2. outage of the primary region", "5. hold in DR", "6. restore
of the primary region"), timed by its journal records, with the record attached as JSON and
the tag ``drill-event``. The outage and the restore are "passed" when recorded (they are
actions, not checks: their description says so); the hold is "passed" or "failed" as its
``hold.end`` says.

Written at report time into a folder beside the attempts' results (never into a sealed
attempt). Not supported: a declared outage (a live drill: nothing was injected, no event),
and journals that are not JSON lines (such lines are skipped).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from maip_drlib.evidence.drill_phases import group_name, qualified_full_name
from maip_drlib.evidence.redact import Redactor, default_redactor

EVENT_TAG = "drill-event"
SIMULATED_PREFIX = "[SIMULATED] "
_ACTION_NOTE = ("A drill event, not a check: the game day did this between the scenarios "
                "(recorded in the journal, attached).")


def _ms(at: str | None) -> int | None:
    if not at:
        return None
    try:
        return int(datetime.fromisoformat(at).timestamp() * 1000)
    except ValueError:
        return None


def _records(journal: Path) -> list[dict[str, Any]]:
    out = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("hash", "prev", "mac")}


def _event(key: str, name: str, record: dict[str, Any], *, status: str, simulated: bool,
           stop: dict[str, Any] | None = None, message: str = "") -> dict[str, Any]:
    drill_id = str(record.get("drill_id", ""))
    full_name = qualified_full_name(key, f"maip-dr gameday:{name}")
    test_case = hashlib.md5(full_name.encode(), usedforsecurity=False).hexdigest()
    start = _ms(record.get("at")) or 0
    result: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "name": (SIMULATED_PREFIX if simulated else "") + name,
        "fullName": full_name, "testCaseId": test_case,
        "historyId": f"{test_case}.{hashlib.md5(b'', usedforsecurity=False).hexdigest()}",
        "status": status, "stage": "finished", "start": start,
        "stop": _ms((stop or record).get("at")) or start,
        "description": _ACTION_NOTE if key != "hold" else
        "The platform held in DR before the failback, watched (journal records attached).",
        "labels": [{"name": "parentSuite", "value": group_name(key)},
                   {"name": "suite", "value": "drill events"},
                   {"name": "drill_phase", "value": key},
                   {"name": "stage", "value": key},
                   {"name": "drill_id", "value": drill_id},
                   {"name": "simulated", "value": "true" if simulated else "false"},
                   {"name": "tag", "value": EVENT_TAG}],
        "steps": [], "attachments": [], "parameters": [],
    }
    if record.get("region"):
        result["labels"].append({"name": "region", "value": str(record["region"])})
    if message:
        result["statusDetails"] = {"message": message}
    return result


def drill_events(drill_dir: Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(result, the journal records it stands for) per event, attempt by attempt."""
    events = []
    attempts = sorted((p for p in Path(drill_dir).glob("attempt-*") if p.name[8:].isdigit()),
                      key=lambda p: int(p.name[8:]))
    for attempt in attempts:
        journal = attempt / "journal.jsonl"
        if not journal.is_file():
            continue
        records = _records(journal)
        simulated = any(r.get("kind") == "drill.start" and r.get("simulated") for r in records)
        hold_start: dict[str, Any] | None = None
        for record in records:
            kind = record.get("kind")
            if kind == "fault" and record.get("action") in ("outage", "restore"):
                action = str(record["action"])
                region = record.get("region", "the primary region")
                name = (f"Outage of {region} injected" if action == "outage"
                        else f"{region} restored")
                events.append((_event(action, name, record, status="passed",
                                      simulated=simulated or bool(record.get("simulated"))),
                               [record]))
            elif kind == "hold.start":
                hold_start = record
            elif kind == "hold.end" and hold_start is not None:
                minutes = hold_start.get("planned_minutes", record.get("planned_minutes"))
                ok = record.get("ok")
                events.append((_event("hold", f"Hold in DR for {minutes:g} minutes"
                                      if isinstance(minutes, int | float) else "Hold in DR",
                                      hold_start, stop=record, simulated=simulated,
                                      status="passed" if ok else "failed",
                                      message="" if ok else str(record.get("verdict", ""))),
                               [hold_start, record]))
                hold_start = None
    return events


def write_event_results(drill_dir: Path, folder: Path,
                        redactor: Redactor | None = None) -> int:
    """Write every event of ``drill_dir`` as ``<uuid>-result.json`` (and its journal records
    as a JSON attachment) into ``folder``; return how many."""
    redactor = redactor or default_redactor()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    events = drill_events(drill_dir)
    for result, records in events:
        source = f"{uuid.uuid4()}-attachment.json"
        body = json.dumps(redactor.value([_public(r) for r in records]), indent=2,
                          sort_keys=True)
        (folder / source).write_text(body, encoding="utf-8")
        result["attachments"].append({"name": "journal records", "source": source,
                                      "type": "application/json"})
        text = json.dumps(redactor.value(result), indent=2)
        (folder / f"{result['uuid']}-result.json").write_text(text, encoding="utf-8")
    return len(events)
