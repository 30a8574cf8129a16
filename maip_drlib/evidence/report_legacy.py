"""Results recorded before they carried their drill phase, put in it at report time.

Evidence written before ``maip_drlib.pytest_dr.allure_phase`` existed has one identity per
scenario for the whole drill: its report would show the readiness run after the drill as
retries of the one before it. When an attempt's ``allure-results`` hold a result without the
``drill_phase`` label, ``maip-dr report`` reads a relabelled copy instead (the sealed attempt
is only read): each such result gets the phase whose ``phase.start``/``phase.end`` journal
records enclose its start, and with it the same ``fullName``, ``testCaseId``, ``historyId``,
``parentSuite``/``suite``/``drill_phase`` labels and name as a result written today.

Not supported: a result outside every phase window (an interrupted phase without its
``phase.end`` is open to the end of the journal; before the first phase: "other").
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from maip_drlib.evidence.drill_phases import group_name, qualified_full_name

PHASE_LABELS = ("parentSuite", "suite", "subSuite", "drill_phase")
SIMULATED_PREFIX = "[SIMULATED] "


def _ms(at: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(at)).timestamp() * 1000)
    except ValueError:
        return None


def phase_windows(journal: Path) -> list[tuple[int, int, str]]:
    """(start ms, end ms, phase) of every phase the journal records."""
    windows: list[tuple[int, int, str]] = []
    open_at: dict[str, int] = {}
    if not journal.is_file():
        return windows
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("kind") not in ("phase.start",
                                                                     "phase.end"):
            continue
        at, phase = _ms(record.get("at")), str(record.get("phase"))
        if at is None:
            continue
        if record["kind"] == "phase.start":
            open_at[phase] = at
        elif phase in open_at:
            windows.append((open_at.pop(phase), at, phase))
    windows += [(start, 2**62, phase) for phase, start in open_at.items()]
    return windows


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def relabel(result: dict[str, Any], key: str) -> dict[str, Any]:
    """``result`` (Allure result JSON) with the identity and labels of phase ``key``."""
    labels = [label for label in result.get("labels", [])
              if label.get("name") not in PHASE_LABELS]
    feature = next((label.get("value") for label in labels if label.get("name") == "feature"),
                   None)
    stage = next((str(label.get("value")) for label in labels if label.get("name") == "stage"),
                 "")
    labels += [{"name": "parentSuite", "value": group_name(key)},
               {"name": "drill_phase", "value": key}]
    if feature:
        labels.append({"name": "suite", "value": feature})
    name = str(result.get("name") or "")
    prefix = SIMULATED_PREFIX if name.startswith(SIMULATED_PREFIX) else ""
    bare = name[len(prefix):]
    if stage.split(" ")[0] in ("failover", "failback") and " " in stage \
            and not bare.startswith(f"{stage}: "):
        bare = f"{stage}: {bare}"
    if key == "readiness-after" and not bare.endswith(" (after the drill)"):
        bare += " (after the drill)"
    out = dict(result, labels=labels, name=prefix + bare)
    if result.get("fullName"):
        out["fullName"] = qualified_full_name(key, str(result["fullName"]))
        out["testCaseId"] = _md5(out["fullName"])
        params = str(result.get("historyId") or "").rpartition(".")[2] or _md5("")
        out["historyId"] = f"{out['testCaseId']}.{params}"
    return out


def _has_phase(result: dict[str, Any]) -> bool:
    return any(label.get("name") == "drill_phase" for label in result.get("labels", []))


def staged_results(results: Path, folder: Path) -> Path:
    """``results`` itself when every result carries its phase, else a relabelled copy of it
    in ``folder`` (the phases from the attempt's ``journal.jsonl`` beside it)."""
    files = sorted(results.glob("*-result.json"))
    loaded = {}
    for path in files:
        try:
            loaded[path] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
    if all(_has_phase(r) for r in loaded.values() if isinstance(r, dict)):
        return results
    windows = phase_windows(results.parent / "journal.jsonl")
    shutil.copytree(results, folder)
    for path, result in loaded.items():
        if not isinstance(result, dict) or _has_phase(result):
            continue
        start = result.get("start") if isinstance(result.get("start"), int) else None
        key = next((phase for begin, end, phase in windows
                    if start is not None and begin <= start <= end), "other")
        (folder / path.name).write_text(json.dumps(relabel(result, key)), encoding="utf-8")
    return folder
