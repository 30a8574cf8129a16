"""Remediation decisions: ``reports/<drill id>/remediation.jsonl``, appended, never rewritten.

Every deviation of a DR test record is a remediation item (``R<n>``, with a content ``key``).
``maip-dr remediation set`` records a decision for one item, as one JSON line appended to the
drill's decisions file, beside the attempts (a sealed attempt is never touched):

- ``owned``: an owner and a due date (``YYYY-MM-DD``); at view time it is ``overdue`` once
  the due date has passed (UTC);
- ``risk accepted``: the reason the item stays unfixed.

Each line holds the drill id, the item's id and key, the decision, when (UTC) and by whom (the
local user and host: the command never calls AWS), the SHA-256 of the previous line's body
(``prev``: a chain, so an edited or removed line in the middle shows) and, with the evidence
HMAC key, ``mac`` = HMAC-SHA256(key, ``remediation:<SHA-256 of the body>``) (``keys.mac``).
Unsigned lines are written only for a drill whose attempts were sealed without a key; a drill
sealed with the key refuses an unsigned decision (``GuardRefused``, exit 3), as ``verify``
with the key calls an unsigned line a problem. Every line goes through the one redactor before
it is hashed and written.

The sealed record is not regenerated: a decision is read at view time. ``current_record``
returns the newest sealed record with the decisions applied (the latest decision per item
wins; items are matched by key, then by id); ``maip-dr remediation list``, ``maip-dr
history`` and the record a resumed attempt writes read it. ``check_decisions`` is what
``maip-dr verify`` checks.

Not supported: withdrawing a decision (record a new one), closing an item as fixed (a retest
drill says which items its run closed: ``--retests``), detecting the last lines removed
together (no signed count is kept: keep the printed line hash outside the folder), two
writers on different machines sharing a folder (a local ``flock`` serialises writers).
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import re
import socket
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from maip_drlib.errors import ConfigError, GuardRefused
from maip_drlib.evidence.journal import attempt_dirs, utc_now_iso
from maip_drlib.evidence.keys import mac, mac_ok
from maip_drlib.evidence.redact import Redactor, default_redactor
from maip_drlib.evidence.redacted_json import redacted

DECISIONS_NAME = "remediation.jsonl"
FORMAT = "maip-dr-remediation/1"
PURPOSE = "remediation"
GENESIS = "0" * 64
OWNED, RISK_ACCEPTED, OPEN = "owned", "risk accepted", "open"
MAX_OWNER_CHARS = 100
MAX_REASON_CHARS = 2000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _printable(text: str, option: str, what: str, limit: int) -> str:
    stripped = " ".join(text.split()) if option == "--owner" else text.strip()
    if not stripped:
        raise ConfigError(f"the {what} is empty", key=option)
    if any(not c.isprintable() for c in stripped):
        raise ConfigError(f"the {what} contains control characters", key=option)
    if len(stripped) > limit:
        raise ConfigError(f"the {what} is at most {limit} characters, got {len(stripped)}",
                          key=option)
    return stripped


def check_owner(text: str) -> str:
    """A person or team owning an item ("Ana <DBA>", "platform team"); one line, bounded."""
    return _printable(text, "--owner", "owner", MAX_OWNER_CHARS)


def check_reason(text: str) -> str:
    """Why the risk is accepted; printable, at most ``MAX_REASON_CHARS`` characters."""
    return _printable(text, "--accept-risk", "reason", MAX_REASON_CHARS)


def parse_due(text: str) -> str:
    """``YYYY-MM-DD`` (a real calendar date) or one ConfigError line naming ``--due``."""
    value = text.strip()
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"expected a date as YYYY-MM-DD (e.g. 2027-01-31), got "
                          f"{text[:40]!r}", key="--due") from None
    return value


def body_hash(line: dict[str, Any]) -> str:
    """SHA-256 of a line's body: every field but ``mac``, as canonical JSON."""
    body = {k: v for k, v in line.items() if k != "mac"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_decisions(drill_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The decision lines of a drill (in order) and the problems reading them (a line that is
    no JSON object is skipped and named)."""
    path = drill_dir / DECISIONS_NAME
    if not path.is_file():
        return [], []
    lines: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            problems.append(f"{DECISIONS_NAME} line {number}: not a JSON object")
            continue
        lines.append({**loaded, "_line": number})
    return lines, problems


def drill_signed(drill_dir: Path) -> bool:
    """Whether any attempt of the drill was sealed with the HMAC key (its manifest says so)."""
    for path in attempt_dirs(drill_dir).values():
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("signed") is True:
            return True
    return False


def sealed_record(drill_dir: Path) -> dict[str, Any]:
    """The newest record of the drill (as sealed); ConfigError naming DRILL without one."""
    from maip_drlib.evidence.dr_test_record import record_path

    path = record_path(drill_dir)
    if path is None:
        raise ConfigError(f"drill {drill_dir.name!r} has no DR test record "
                          "(dr-test-record.json in an attempt)", key="DRILL")
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the DR test record ({type(error).__name__})",
                          source=str(path), key="DRILL") from None
    if not isinstance(loaded, dict):
        raise ConfigError("the DR test record is not a JSON object", source=str(path),
                          key="DRILL")
    return loaded


def find_item(record: dict[str, Any], item_id: str) -> dict[str, Any]:
    """The record's remediation item ``item_id`` (``R3``, case-insensitive), or one
    ConfigError line naming ITEM and the ids that exist."""
    items = [i for i in record.get("remediation") or [] if isinstance(i, dict)]
    for item in items:
        if str(item.get("id")).casefold() == item_id.strip().casefold():
            return item
    known = ", ".join(str(i.get("id")) for i in items) or "none: the drill had no deviation"
    raise ConfigError(f"no remediation item {item_id[:20]!r} in drill "
                      f"{record.get('drill_id')!r} (items: {known})", key="ITEM")


def append_decision(drill_dir: Path, item: dict[str, Any], *, owner: str | None = None,
                    due: str | None = None, accepted_risk: str | None = None,
                    key: bytes | None, redactor: Redactor | None = None,
                    decided_by: str | None = None) -> dict[str, Any]:
    """Append one decision line for ``item`` (owner and due, or an accepted risk) and return
    it; refuses an unsigned line for a drill sealed with the key (GuardRefused)."""
    if key is None and drill_signed(drill_dir):
        raise GuardRefused("this drill's evidence is signed: a decision must be signed too "
                           "(give the key: MAIP_DR_HMAC_KEY or --hmac-key-file); nothing "
                           "was written")
    path = drill_dir / DECISIONS_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.seek(0)
        existing = [text for text in handle.read().splitlines() if text.strip()]
        prev = GENESIS
        if existing:
            try:
                prev = body_hash(json.loads(existing[-1]))
            except (ValueError, AttributeError):
                prev = hashlib.sha256(existing[-1].encode("utf-8")).hexdigest()
        decision = OWNED if owner is not None else RISK_ACCEPTED
        line: dict[str, Any] = redacted({
            "format": FORMAT, "drill_id": drill_dir.name, "item": item.get("id"),
            "item_key": item.get("key"), "decision": decision, "owner": owner, "due": due,
            "accepted_risk": accepted_risk, "decided_at": utc_now_iso(),
            "decided_by": decided_by or f"{getpass.getuser()}@{socket.gethostname()}",
            "prev": prev, "signed": key is not None}, redactor or default_redactor())
        line["mac"] = mac(key, PURPOSE, body_hash(line)) if key is not None else None
        handle.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return line


def check_decisions(drill_dir: Path, key: bytes | None,
                    record: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """``verify``'s check of the decisions file: (problems, notes). Problems: a line that is
    no JSON, a broken ``prev`` chain, a line naming another drill or an item the record does
    not have, and with the key a MAC that does not match or an unsigned line."""
    lines, problems = read_decisions(drill_dir)
    notes: list[str] = []
    if not lines and not problems:
        return [], []
    if record is None:
        try:
            record = sealed_record(drill_dir)
        except ConfigError:
            record = {}
    known = {(i.get("id"), i.get("key")) for i in record.get("remediation") or []
             if isinstance(i, dict)}
    prev = GENESIS
    unsigned = 0
    for line in lines:
        where = f"{DECISIONS_NAME} line {line['_line']} ({line.get('item')})"
        body = {k: v for k, v in line.items() if k != "_line"}
        digest = body_hash(body)
        if line.get("prev") != prev:
            problems.append(f"{where}: chain broken: prev {str(line.get('prev'))[:12]} is not "
                            f"the previous line's {prev[:12]} (a line edited or removed?)")
        prev = digest
        if line.get("drill_id") != drill_dir.name:
            problems.append(f"{where}: names drill {line.get('drill_id')!r}")
        if record and (line.get("item"), line.get("item_key")) not in known:
            problems.append(f"{where}: no such item in the DR test record")
        if line.get("mac") is None:
            unsigned += 1
            if key is not None:
                problems.append(f"{where}: unsigned decision, but a key was given (the "
                                f"signature cannot be checked)")
        elif key is not None and not mac_ok(key, PURPOSE, digest, line.get("mac")):
            problems.append(f"{where}: signature does not match with this key (wrong key, or "
                            f"the line was rewritten)")
    if key is None:
        notes.append(f"{DECISIONS_NAME}: {len(lines)} decision(s), signatures not checked "
                     f"(no key)" + (f"; {unsigned} written unsigned" if unsigned else ""))
    return problems, notes


def _today() -> date:
    return datetime.now(UTC).date()


def apply_decisions(record: dict[str, Any], lines: list[dict[str, Any]],
                    today: date | None = None) -> dict[str, Any]:
    """``record`` with each item's latest decision applied (a new dict): ``status`` ("open",
    "owned", "risk accepted"), ``owner``, ``due``, ``overdue``, ``accepted_risk``,
    ``decided_at``, ``decided_by``, ``decision_signed``."""
    today = today or _today()
    latest: dict[str, dict[str, Any]] = {}
    for line in lines:  # in file order: the last one wins
        latest[f"key:{line.get('item_key')}"] = line
        latest[f"id:{line.get('item')}"] = line
    items = []
    for item in record.get("remediation") or []:
        item = dict(item)
        line = latest.get(f"key:{item.get('key')}") or (
            latest.get(f"id:{item.get('id')}") if not item.get("key") else None)
        item.setdefault("overdue", False)
        if line is not None:
            owned = line.get("decision") == OWNED
            item.update(status=OWNED if owned else RISK_ACCEPTED,
                        owner=line.get("owner") if owned else None,
                        due=line.get("due") if owned else None,
                        accepted_risk=None if owned else line.get("accepted_risk"),
                        decided_at=line.get("decided_at"), decided_by=line.get("decided_by"),
                        decision_signed=line.get("mac") is not None,
                        overdue=bool(owned and str(line.get("due") or "9999") <
                                     today.isoformat()))
        items.append(item)
    return {**record, "remediation": items,
            "decisions": {"file": DECISIONS_NAME, "count": len(lines),
                          "read_at": utc_now_iso()}}


def current_record(drill_dir: Path, today: date | None = None) -> dict[str, Any]:
    """The newest sealed record with the drill's decisions applied (ConfigError without a
    record)."""
    lines, _problems = read_decisions(drill_dir)
    return apply_decisions(sealed_record(drill_dir), lines, today)


def open_ids(record: dict[str, Any]) -> list[str]:
    """Items nobody decided yet, then owned items past their due date ("R3 (overdue)")."""
    items = [i for i in record.get("remediation") or [] if isinstance(i, dict)]
    return ([str(i.get("id")) for i in items if i.get("status") == OPEN]
            + [f"{i.get('id')} (overdue)" for i in items if i.get("overdue")])
