"""The append-only, hash-chained journal of one attempt: ``<attempt dir>/journal.jsonl``.

Each line is one JSON record with ``seq`` (1, 2, ... per attempt), ``at`` (UTC ISO 8601 with
milliseconds), ``drill_id``, ``attempt``, ``kind``, the redacted fields, ``prev`` (the hash of
the previous record) and ``hash`` (SHA-256 of the canonical JSON of the record without
``hash`` and ``mac``: sorted keys, no spaces, UTF-8). With the evidence HMAC key (``keys.py``)
every record also carries ``mac`` = HMAC-SHA256(key, ``journal:<hash>``): whoever recomputes
the chain without the key cannot remake the MACs (``verify_macs``). A journal opened without
an explicit ``key`` takes the process's (``keys.process_key``).

The chain runs across attempts: the first record of attempt n links to the last record of the
nearest earlier attempt with a journal, attempt 1's first record to ``GENESIS``. Every record
is written with one ``os.write`` and ``os.fsync``-ed before ``record`` returns, so a process
killed with SIGKILL leaves valid evidence up to its last record.

On open, a torn last line (a partial write) is cut off (an incomplete write never was a
record) and a ``journal.recovered`` record names what was dropped (size, SHA-256, redacted
preview). A new attempt whose predecessor's journal ends torn says so the same way.

Several processes may append to one journal, also at the same time (``maip-dr`` and a
pytest run by hand with ``--dr-attempt-dir``): each append takes an exclusive ``flock`` on the
file and first catches up with what others wrote, so the chain stays one chain. Not
supported: file systems without ``flock`` (some network file systems), durability against
power loss of the directory entry on file systems that ignore ``fsync`` on directories,
non-JSON field values other than those ``_jsonable`` converts (paths, datetimes, sets,
dataclasses become strings or lists).

The format and its reading (hashes, MACs, scans, the chain check) are
``evidence.journal_chain``; its names are importable from here too. This module writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from maip_drlib.evidence.journal_chain import (
    ATTEMPT_DIR,
    GENESIS,
    JOURNAL_NAME,
    KIND,
    MAC_FIELD,
    MAC_PURPOSE,
    RESERVED,
    EvidenceError,
    JournalScan,
    attempt_dirs,
    attempt_number,
    canonical,
    keyed_records,
    kinds,
    previous_chain_head,
    read_journal,
    record_hash,
    scan_journal,
    utc_now_iso,
    verify_chain,
    verify_macs,
)
from maip_drlib.evidence.keys import mac, process_key
from maip_drlib.evidence.redact import Redactor

__all__ = [
    "ATTEMPT_DIR",
    "GENESIS",
    "JOURNAL_NAME",
    "KIND",
    "MAC_FIELD",
    "MAC_PURPOSE",
    "RESERVED",
    "EvidenceError",
    "Journal",
    "JournalScan",
    "attempt_dirs",
    "attempt_number",
    "canonical",
    "keyed_records",
    "kinds",
    "previous_chain_head",
    "read_journal",
    "record_hash",
    "scan_journal",
    "utc_now_iso",
    "verify_chain",
    "verify_macs",
]

_PROCESS_KEY = object()
PREVIEW_CHARS = 160


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [_jsonable(item) for item in obj]
        return sorted(items, key=repr) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    return str(obj)


def _preview(redactor: Redactor, data: bytes) -> str:
    return redactor.text(data.decode("utf-8", errors="replace"))[:PREVIEW_CHARS]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """An open journal; use ``Journal.open``. ``record`` is safe across threads and across
    processes appending to the same file (each append takes an exclusive ``flock`` and first
    catches up with records another process wrote)."""

    def __init__(self, path: Path, fd: int, *, drill_id: str, attempt: int, redactor: Redactor,
                 clock: Callable[[], datetime] | None, key: bytes | None = None) -> None:
        self.path = path
        self._key = key
        self.drill_id = drill_id
        self.attempt = attempt
        self.redactor = redactor
        self._fd: int | None = fd
        self._size = -1  # the file size after our last write; -1 forces a catch-up
        self._seq = 0
        self._last_hash = GENESIS
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def open(cls, attempt_dir: Path, *, drill_id: str, attempt: int, redactor: Redactor,
             clock: Callable[[], datetime] | None = None,
             key: bytes | object | None = _PROCESS_KEY) -> Journal:
        """Open (or create) the journal of ``attempt_dir`` and continue its chain; a torn
        last line is cut off here and named in a ``journal.recovered`` record. ``key``: the
        HMAC key of the chain (None: unkeyed); left out, the process's (``keys.py``)."""
        chain_key = process_key() if key is _PROCESS_KEY else key
        if attempt_number(attempt_dir) != attempt:
            raise EvidenceError(f"{attempt_dir}: folder does not match attempt {attempt}")
        if attempt_dir.parent.name != drill_id:
            raise EvidenceError(f"{attempt_dir}: folder is not in drill {drill_id!r}")
        path = attempt_dir / JOURNAL_NAME
        created = not path.exists()
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise EvidenceError(f"{path}: cannot open the journal: {error.strerror}") from error
        journal = cls(path, fd, drill_id=drill_id, attempt=attempt, redactor=redactor,
                      clock=clock, key=chain_key)  # type: ignore[arg-type]
        try:
            if created:
                _fsync_dir(attempt_dir)
            with journal._lock, journal._file_lock():
                journal._catch_up()
        except BaseException:
            journal.close()
            raise
        return journal

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[int]:
        if self._fd is None:
            raise EvidenceError(f"{self.path}: journal is closed")
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield self._fd
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _catch_up(self) -> None:
        """Under both locks: continue from the file's last valid record (another process
        may have appended), cutting off and recording a torn tail."""
        assert self._fd is not None
        if os.fstat(self._fd).st_size == self._size:
            return
        scan = scan_journal(self.path)
        for record in scan.records:
            if record.get("drill_id") != self.drill_id or record.get("attempt") != self.attempt:
                raise EvidenceError(
                    f"{self.path}: holds records of drill {record.get('drill_id')} attempt "
                    f"{record.get('attempt')}, not {self.drill_id} {self.attempt}")
        pending: list[dict[str, Any]] = []
        if scan.torn:
            os.ftruncate(self._fd, scan.valid_size)
            os.fsync(self._fd)
            pending.append(self._dropped(JOURNAL_NAME, scan, "torn last line (an interrupted "
                                                             "write) cut off"))
        elif scan.missing_newline:
            _write_all(self._fd, b"\n")
            os.fsync(self._fd)
        if scan.records:
            self._seq, self._last_hash = scan.records[-1]["seq"], scan.records[-1]["hash"]
        else:
            self._seq = 0
            self._last_hash, source, previous = previous_chain_head(self.path.parent.parent,
                                                                    self.attempt)
            if previous.torn and source is not None:
                pending.append(self._dropped(
                    f"{source.parent.name}/{JOURNAL_NAME}", previous,
                    "the previous attempt's journal ends with a torn line; this chain "
                    "continues from its last valid record"))
        self._size = os.fstat(self._fd).st_size
        for fields in pending:
            self._append("journal.recovered", self.redactor.value(fields))

    def _dropped(self, file: str, scan: JournalScan, reason: str) -> dict[str, Any]:
        return {"file": file, "dropped_bytes": len(scan.torn),
                "dropped_sha256": hashlib.sha256(scan.torn).hexdigest(),
                "dropped_preview": _preview(self.redactor, scan.torn),
                "resumed_after_seq": scan.records[-1]["seq"] if scan.records else 0,
                "reason": reason}

    def _append(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Under both locks: write one record after the current head and fsync it."""
        assert self._fd is not None
        now = self._clock() if self._clock else None
        record: dict[str, Any] = {
            "seq": self._seq + 1, "at": utc_now_iso(now), "drill_id": self.drill_id,
            "attempt": self.attempt, "kind": kind, **body, "prev": self._last_hash,
        }
        record["hash"] = record_hash(record)
        if self._key is not None:
            record[MAC_FIELD] = mac(self._key, MAC_PURPOSE, record["hash"])
        _write_all(self._fd, canonical(record) + b"\n")
        os.fsync(self._fd)
        self._seq += 1
        self._last_hash = record["hash"]
        self._size = os.fstat(self._fd).st_size
        return record

    @property
    def last_hash(self) -> str:
        return self._last_hash

    def record(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one record (fields redacted), fsync it, and return it as written."""
        if not KIND.match(kind):
            raise ValueError(f"journal kind {kind!r}: expected dotted lower-case words "
                             f"like 'stage.start'")
        clash = sorted(set(fields) & {*RESERVED, MAC_FIELD})
        if clash:
            raise ValueError(f"journal field {clash[0]!r} is reserved")
        body = self.redactor.value(_jsonable(fields))
        with self._lock, self._file_lock():
            self._catch_up()
            return self._append(kind, body)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

