"""Sealing an attempt: ``manifest.json`` (SHA-256 and size of every file) and ``manifest.sig``.

``seal`` writes ``<attempt dir>/manifest.json`` listing every file of the attempt
(recursively, sorted by relative POSIX path; ``manifest.json`` and ``manifest.sig`` excluded)
with the drill id, attempt number, ``sealed_at``, the journal's last hash and record count,
the digest of the previous attempt's manifest (the chain of seals) and a note. The attempt's
final digest is the SHA-256 of the bytes of ``manifest.json``; with a key, ``manifest.sig``
holds ``HMAC-SHA256(key, digest as ASCII hex)`` in hex. The key itself is never written.

Seals are made in attempt order: sealing attempt n first seals any earlier attempt a crash
left unsealed (``seal_unsealed_attempts``, noted "sealed late by attempt n ..."). A late
manifest says so in ``late`` (by which attempt, why, when, what its journal held and what the
sealer found checking that journal's keyed chain); the sealing attempt journals an
``evidence.late_seal`` record naming each attempt it sealed late and its digest. Edits made to
an unsealed attempt before its late seal show through the keyed chain (``journal.py``), not
through the seal, which signs what it finds.

Format 2 (``maip-dr-manifest/2``) adds ``journal.keyed`` and ``late``; format 1 manifests
(sealed before keyed journals) still verify, as "unverified" at best. With a key, every seal
also updates the signed drill index (``drill_index.py``).

Not supported: re-sealing (an existing manifest is evidence; ``seal`` refuses), symbolic
links inside an attempt (refused, naming the link), files changing while being sealed (close
the journal and let writers finish first), keys given as anything but raw bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maip_drlib.errors import ConfigError
from maip_drlib.evidence.journal import (
    JOURNAL_NAME,
    EvidenceError,
    Journal,
    attempt_dirs,
    attempt_number,
    keyed_records,
    previous_chain_head,
    scan_journal,
    utc_now_iso,
    verify_chain,
    verify_macs,
)
from maip_drlib.evidence.keys import KEY_ENV, MIN_KEY_BYTES
from maip_drlib.evidence.redact import Redactor

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
FORMAT_V1 = "maip-dr-manifest/1"
FORMAT = "maip-dr-manifest/2"
FORMATS = frozenset({FORMAT_V1, FORMAT})
EXCLUDED = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
_TMP_SUFFIX = ".sealing"
KEY_OPTION = "--hmac-key-file"
__all__ = ["KEY_ENV", "MIN_KEY_BYTES"]  # re-exported: the key's names live in keys.py


@dataclass(frozen=True)
class Seal:
    """A sealed attempt: the digest of its manifest, the HMAC (or None) and the manifest."""

    digest: str
    signature: str | None
    path: Path


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 hex and size of ``path``, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def sign(key: bytes, digest: str) -> str:
    """HMAC-SHA256 of the digest's ASCII hex, in hex."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def manifest_digest(attempt_dir: Path) -> str | None:
    """SHA-256 of ``manifest.json``'s bytes, None when the attempt is not sealed."""
    path = attempt_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    return sha256_file(path)[0]


def evidence_files(attempt_dir: Path) -> list[Path]:
    """Every file of an attempt except the manifest and signature, sorted by relative path."""
    files: list[Path] = []
    for path in attempt_dir.rglob("*"):
        relative = path.relative_to(attempt_dir)
        if path.is_symlink():
            raise EvidenceError(f"{path}: symbolic links are not supported in evidence")
        if path.is_file() and relative.as_posix() not in EXCLUDED:
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(attempt_dir).as_posix())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def build_manifest(attempt_dir: Path, *, note: str, signed: bool,
                   late: dict[str, Any] | None = None) -> dict[str, Any]:
    number = attempt_number(attempt_dir)
    for name in EXCLUDED:  # leftovers of a seal interrupted before its rename
        (attempt_dir / (name + _TMP_SUFFIX)).unlink(missing_ok=True)
    files = []
    for path in evidence_files(attempt_dir):
        digest, size = sha256_file(path)
        files.append({"path": path.relative_to(attempt_dir).as_posix(), "sha256": digest,
                      "size": size})
    journal = scan_journal(attempt_dir / JOURNAL_NAME)
    previous = None
    if number > 1:
        previous_dir = attempt_dir.parent / f"attempt-{number - 1}"
        previous = manifest_digest(previous_dir)
    return {
        "format": FORMAT,
        "drill_id": attempt_dir.parent.name,
        "attempt": number,
        "sealed_at": utc_now_iso(),
        "note": note,
        "signed": signed,
        "journal": {"path": JOURNAL_NAME, "records": len(journal.records),
                    "last_hash": journal.last_hash,
                    "torn_tail_bytes": len(journal.torn),
                    "keyed": keyed_records(journal.records)},
        "late": late,
        "previous_manifest_digest": previous,
        "files": files,
    }


def seal(attempt_dir: Path, *, key: bytes | None, note: str = "") -> Seal:
    """Seal ``attempt_dir`` (earlier unsealed attempts first); ``EvidenceError`` when it
    already is sealed."""
    number = attempt_number(attempt_dir)
    if (attempt_dir / MANIFEST_NAME).exists():
        raise EvidenceError(f"{attempt_dir / MANIFEST_NAME}: already sealed (a seal is "
                            f"evidence and is never rewritten)")
    late = seal_unsealed_attempts(attempt_dir.parent, key=key, by_attempt=number)
    if late:
        with Journal.open(attempt_dir, drill_id=attempt_dir.parent.name, attempt=number,
                          redactor=Redactor(), key=key) as journal:
            for sealed in late:
                manifest = json.loads(sealed.path.read_text(encoding="utf-8"))
                journal.record("evidence.late_seal", sealed_attempt=manifest["attempt"],
                               digest=sealed.digest, signed=sealed.signature is not None,
                               journal_records=manifest["journal"]["records"],
                               journal_last_hash=manifest["journal"]["last_hash"],
                               files=len(manifest["files"]),
                               journal_check=manifest["late"]["journal_check"])
    sealed_now = _seal_one(attempt_dir, key=key, note=note)
    if key is not None:
        from maip_drlib.evidence.drill_index import update_index

        update_index(attempt_dir.parent, key)
    return sealed_now


def _seal_one(attempt_dir: Path, *, key: bytes | None, note: str,
              late: dict[str, Any] | None = None) -> Seal:
    manifest = build_manifest(attempt_dir, note=note, signed=key is not None, late=late)
    data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    digest = hashlib.sha256(data).hexdigest()
    signature = sign(key, digest) if key is not None else None
    if signature is not None:
        _write_atomic(attempt_dir / SIGNATURE_NAME, (signature + "\n").encode("ascii"))
    else:
        (attempt_dir / SIGNATURE_NAME).unlink(missing_ok=True)
    _write_atomic(attempt_dir / MANIFEST_NAME, data)
    return Seal(digest, signature, attempt_dir / MANIFEST_NAME)


def seal_unsealed_attempts(drill_dir: Path, *, key: bytes | None, by_attempt: int,
                           reason: str = "after an interruption") -> list[Seal]:
    """Seal, in order, every attempt before ``by_attempt`` that has no manifest (a crash
    left it unsealed), noting "sealed late by attempt <by_attempt> <reason>" and, in
    ``late``, what its journal held and what checking it with ``key`` found."""
    seals = []
    for number, path in attempt_dirs(drill_dir).items():
        if number < by_attempt and not (path / MANIFEST_NAME).exists():
            late = {"by_attempt": by_attempt, "reason": reason, "sealed_at": utc_now_iso(),
                    "journal_check": late_journal_check(drill_dir, number, path, key)}
            seals.append(_seal_one(path, key=key, late=late,
                                   note=f"sealed late by attempt {by_attempt} {reason}"))
    if seals and key is not None:
        from maip_drlib.evidence.drill_index import update_index

        update_index(drill_dir, key)
    return seals


def late_journal_check(drill_dir: Path, number: int, attempt_dir: Path,
                       key: bytes | None) -> list[str]:
    """What a late seal finds in the journal it is about to sign: ["keyed chain intact"],
    the problems of its chain (links, hashes and, with ``key``, every record's HMAC), or a
    line saying why the keyed chain could not be checked."""
    try:
        scan = scan_journal(attempt_dir / JOURNAL_NAME)
    except EvidenceError as error:
        return [str(error).split(": ", 1)[-1]]
    if not scan.records:
        return ["no journal records"]
    head = previous_chain_head(drill_dir, number)[0]
    problems = verify_chain(scan.records, head, label=JOURNAL_NAME)
    if key is None:
        return [*problems, "keyed chain not checked: no key given to the sealing attempt"]
    if not any("mac" in record for record in scan.records):
        return [*problems, "unkeyed journal: written without the key"]
    problems += verify_macs(scan.records, key, label=JOURNAL_NAME)
    return problems or ["keyed chain intact"]


def load_key(env_value: str | None, key_file: Path | None) -> bytes | None:
    """The HMAC key: the file's bytes (trailing newline stripped) when given, else the
    environment value; None when neither (an empty variable counts as unset)."""
    if key_file is not None:
        try:
            key = key_file.read_bytes().rstrip(b"\r\n")
        except OSError as error:
            raise ConfigError(f"cannot read the key file: {error.strerror}",
                              source=str(key_file), key=KEY_OPTION) from error
        where = {"source": str(key_file), "key": KEY_OPTION}
    elif env_value:
        key = env_value.encode("utf-8")
        where = {"key": KEY_ENV}
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"the HMAC key must be at least {MIN_KEY_BYTES} bytes, got "
                          f"{len(key)}", **where)
    return key
