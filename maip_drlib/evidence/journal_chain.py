"""The journal's format and its reading: records, hashes, MACs, the chain across attempts.

The record layout (``RESERVED`` fields, ``KIND`` names, ``GENESIS``), ``canonical`` bytes and
``record_hash``, ``verify_macs`` with the evidence key, reading a journal (``scan_journal``
tells a torn last line from a complete one; ``read_journal``), ``verify_chain`` and where an
attempt's chain starts (``attempt_dirs``, ``previous_chain_head``). Writing is
``evidence.journal``'s. Not supported: journals of another layout version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maip_drlib.errors import DRError
from maip_drlib.evidence.keys import mac_ok

JOURNAL_NAME = "journal.jsonl"
GENESIS = "0" * 64
RESERVED = ("seq", "at", "drill_id", "attempt", "kind", "prev", "hash")
MAC_FIELD = "mac"  # present only in keyed journals
MAC_PURPOSE = "journal"
KIND = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$")
ATTEMPT_DIR = re.compile(r"^attempt-([1-9][0-9]*)$")


class EvidenceError(DRError):
    """Evidence cannot be written or read as the layout requires (exit 4)."""

    exit_code = 4


def canonical(obj: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of ``record`` without its ``hash`` and ``mac``."""
    return hashlib.sha256(canonical({k: v for k, v in record.items()
                                     if k not in ("hash", MAC_FIELD)})).hexdigest()


def verify_macs(records: list[dict[str, Any]], key: bytes, *, label: str = "journal"
                ) -> list[str]:
    """Problems of a keyed chain (empty when fine): every record must carry the HMAC of its
    own content hash with ``key``."""
    problems: list[str] = []
    for index, record in enumerate(records):
        where = f"{label}: record seq {record.get('seq', f'? (line {index + 1})')}"
        found = record.get(MAC_FIELD)
        if found is None:
            problems.append(f"{where}: no HMAC (the attempt was signed, so every record of "
                            f"its journal is keyed)")
        elif not mac_ok(key, MAC_PURPOSE, record_hash(record), found):
            problems.append(f"{where}: HMAC does not match its content with this key "
                            f"(edited, the chain recomputed without the key, or a wrong key)")
    return problems


def keyed_records(records: Iterable[dict[str, Any]]) -> bool:
    """Whether every record carries a MAC (a journal written with a key)."""
    listed = list(records)
    return bool(listed) and all(MAC_FIELD in record for record in listed)


def utc_now_iso(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attempt_number(attempt_dir: Path) -> int:
    """n of an ``attempt-<n>`` folder; ``EvidenceError`` naming the folder otherwise."""
    match = ATTEMPT_DIR.match(attempt_dir.name)
    if not match:
        raise EvidenceError(f"{attempt_dir}: not an attempt folder (expected attempt-<n>)")
    return int(match.group(1))


@dataclasses.dataclass(frozen=True)
class JournalScan:
    """What a journal file holds: its valid records, and a torn tail if any."""

    records: list[dict[str, Any]]
    valid_size: int
    torn: bytes = b""
    missing_newline: bool = False

    @property
    def last_hash(self) -> str | None:
        return self.records[-1]["hash"] if self.records else None


def scan_journal(path: Path) -> JournalScan:
    """Read ``path`` leniently about its last line only: a torn tail is returned apart.

    A bad line that is not the last one is corruption, not a torn write: ``EvidenceError``
    naming the file and line.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JournalScan([], 0)
    except OSError as error:
        raise EvidenceError(f"{path}: cannot read the journal: {error.strerror}") from error
    records: list[dict[str, Any]] = []
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    offset = 0
    for number, line in enumerate(lines, start=1):
        record = _parse_line(line)
        if record is None:
            raise EvidenceError(f"{path}: line {number}: not a journal record (corrupt)")
        records.append(record)
        offset += len(line) + 1
    if not tail:
        return JournalScan(records, offset)
    record = _parse_line(tail)
    if record is not None and record.get("hash") == record_hash(record):
        records.append(record)
        return JournalScan(records, offset + len(tail), missing_newline=True)
    return JournalScan(records, offset, torn=tail)


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and "hash" in record else None


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every record of the journal at ``path``; ``EvidenceError`` on any bad line, torn or not."""
    scan = scan_journal(path)
    if scan.torn:
        raise EvidenceError(f"{path}: line {len(scan.records) + 1}: torn last line "
                            f"({len(scan.torn)} bytes, an interrupted write)")
    return scan.records


def verify_chain(records: list[dict[str, Any]], expected_first_prev: str, *,
                 label: str = "journal") -> list[str]:
    """Problems of a chain of records (empty when fine): hashes, links, seq, identity."""
    problems: list[str] = []
    prev = expected_first_prev
    first = records[0] if records else {}
    for index, record in enumerate(records):
        where = f"{label}: record seq {record.get('seq', f'? (line {index + 1})')}"
        missing = [key for key in RESERVED if key not in record]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            prev = record.get("hash", prev)
            continue
        if record["seq"] != index + 1:
            problems.append(f"{where}: seq out of order (expected {index + 1})")
        if record["drill_id"] != first["drill_id"] or record["attempt"] != first["attempt"]:
            problems.append(f"{where}: drill {record['drill_id']} attempt {record['attempt']} "
                            f"differs from the first record's")
        computed = record_hash(record)
        if record["hash"] != computed:
            problems.append(f"{where}: hash does not match its content (expected "
                            f"{str(record['hash'])[:12]}, computed {computed[:12]})")
        if record["prev"] != prev:
            target = "the previous attempt's last record" if index == 0 else (
                f"record seq {records[index - 1].get('seq')}")
            problems.append(f"{where}: chain broken: prev {str(record['prev'])[:12]} is not "
                            f"the hash of {target} ({prev[:12]})")
        prev = record["hash"]
    return problems


def attempt_dirs(drill_dir: Path) -> dict[int, Path]:
    """The ``attempt-<n>`` folders of a drill, by number."""
    found: dict[int, Path] = {}
    if drill_dir.is_dir():
        for child in drill_dir.iterdir():
            match = ATTEMPT_DIR.match(child.name)
            if match and child.is_dir() and not child.is_symlink():
                found[int(match.group(1))] = child
    return dict(sorted(found.items()))


def previous_chain_head(drill_dir: Path, attempt: int) -> tuple[str, Path | None, JournalScan]:
    """The hash the first record of ``attempt`` links to, the journal it comes from, and
    that journal's scan: the last valid record of the nearest earlier attempt that has
    records, else ``GENESIS``."""
    earlier = [path for number, path in attempt_dirs(drill_dir).items() if number < attempt]
    for path in reversed(earlier):
        scan = scan_journal(path / JOURNAL_NAME)
        if scan.records:
            return scan.records[-1]["hash"], path / JOURNAL_NAME, scan
    return GENESIS, None, JournalScan([], 0)



def kinds(records: Iterable[dict[str, Any]]) -> list[str]:
    """The kinds of ``records`` in order (a convenience for tests and summaries)."""
    return [str(record.get("kind")) for record in records]
