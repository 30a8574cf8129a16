"""Sealing an attempt: ``manifest.json`` (SHA-256 and size of every file) and ``manifest.sig``.

``seal`` writes ``<attempt dir>/manifest.json`` listing every file of the attempt
(recursively, sorted by relative POSIX path; ``manifest.json`` and ``manifest.sig`` excluded)
with the drill id, attempt number, ``sealed_at``, the journal's last hash and record count,
the digest of the previous attempt's manifest (the chain of seals) and a note. The attempt's
final digest is the SHA-256 of the bytes of ``manifest.json``; with a key, ``manifest.sig``
holds ``HMAC-SHA256(key, digest as ASCII hex)`` in hex. The key itself is never written.

Seals are made in attempt order: sealing attempt n first seals any earlier attempt a crash
left unsealed (``seal_unsealed_attempts``, noted "sealed late by attempt n ...").

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
    attempt_dirs,
    attempt_number,
    scan_journal,
    utc_now_iso,
)

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
FORMAT = "maip-dr-manifest/1"
EXCLUDED = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
_TMP_SUFFIX = ".sealing"
MIN_KEY_BYTES = 16
KEY_ENV = "MAIP_DR_HMAC_KEY"
KEY_OPTION = "--hmac-key-file"


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


def build_manifest(attempt_dir: Path, *, note: str, signed: bool) -> dict[str, Any]:
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
                    "torn_tail_bytes": len(journal.torn)},
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
    seal_unsealed_attempts(attempt_dir.parent, key=key, by_attempt=number)
    return _seal_one(attempt_dir, key=key, note=note)


def _seal_one(attempt_dir: Path, *, key: bytes | None, note: str) -> Seal:
    manifest = build_manifest(attempt_dir, note=note, signed=key is not None)
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
    left it unsealed), noting "sealed late by attempt <by_attempt> <reason>"."""
    seals = []
    for number, path in attempt_dirs(drill_dir).items():
        if number < by_attempt and not (path / MANIFEST_NAME).exists():
            seals.append(_seal_one(path, key=key,
                                   note=f"sealed late by attempt {by_attempt} {reason}"))
    return seals


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
