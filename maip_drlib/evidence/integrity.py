"""Checking a drill's evidence: manifests, files, the journal chain, seals and signatures.

``verify_drill`` checks, for every ``attempt-<n>`` of a drill folder (numbered 1..N without
gaps): the manifest is present and names this drill and attempt; every listed file is present
with its SHA-256 and size; no file was added beside them (only ``html/`` at the drill level
holds derived output outside the manifests); the journal chain inside the attempt and its link
to the previous attempt's last record; the manifest's record of the journal; the chain of seals
(each manifest names the digest of the previous one); with a key, each ``manifest.sig``, the
HMAC of every journal record of a signed attempt (``journal.verify_macs``) and the signed drill
index (``drill_index.py``: no attempt missing or added); with ``expect_digest``, the final
digest against one kept outside the folder. Problems name the file relative to the drill
folder and, for an edited file, the expected and found hash prefixes.

Beside the attempts, ``remediation.jsonl`` holds the drill's appended remediation decisions:
``remediation.check_decisions`` checks its chain, the items it names and, with a key, every
line's signature.

The verdict (``VerifyReport.verdict``): "tampered" when any problem was found; "intact" only
when nothing outside the folder's own say-so is missing: the key checked every signature, every
record's HMAC and the index (``verified_by`` "hmac key"), or the final digest equals the
expected one ("expected digest"); "unverified" otherwise (no key and no expected digest, or
evidence sealed before keyed journals, format 1): whoever can write the folder could have
recomputed every unkeyed hash.

Not supported: telling who changed a file or when, recovering altered evidence, checking a
signature without the key (it says so in ``notes``), verifying the HTML report (derived).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maip_drlib.errors import ConfigError
from maip_drlib.evidence.dr_test_record import RECORD_FILES, check_drill_copy
from maip_drlib.evidence.drill_index import INDEX_FILES, check_index
from maip_drlib.evidence.journal import (
    GENESIS,
    JOURNAL_NAME,
    EvidenceError,
    attempt_dirs,
    scan_journal,
    verify_chain,
    verify_macs,
)
from maip_drlib.evidence.manifest import (
    EXCLUDED,
    FORMAT,
    FORMAT_V1,
    FORMATS,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    evidence_files,
    sha256_file,
    sign,
)
from maip_drlib.evidence.remediation import DECISIONS_NAME, check_decisions

DERIVED_DIRS = frozenset({"html"})
PREFIX = 12


@dataclass
class AttemptStatus:
    """What was found for one attempt (a line of ``maip-dr verify``)."""

    number: int
    sealed: bool = False
    sealed_at: str | None = None
    note: str = ""
    files: int = 0
    records: int = 0
    signature: str = "none"  # "ok", "INVALID", "missing", "not checked", "none" (unsigned)
    digest: str | None = None
    format: str | None = None
    keyed_chain: str = "none"  # "ok", "not checked", "none" (unkeyed), "INVALID"
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.sealed:
            state = "NOT SEALED"
        else:
            state = f"sealed {self.sealed_at}" + (f" ({self.note})" if self.note else "")
        verdict = "ok" if not self.problems else f"{len(self.problems)} problem(s)"
        digest = f", digest {self.digest[:PREFIX]}" if self.digest else ""
        return (f"attempt-{self.number}: {verdict}: {state}, {self.files} files, "
                f"{self.records} journal records, signature {self.signature}{digest}")


@dataclass
class VerifyReport:
    drill_dir: Path
    attempts: list[AttemptStatus]
    problems: list[str]
    notes: list[str]
    final_digest: str | None
    signatures_checked: bool
    verified_by: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found (which alone proves nothing: see ``verdict``)."""
        return not self.problems

    @property
    def verdict(self) -> str:
        """"tampered", "intact" (vouched for by the key or the expected digest) or
        "unverified"."""
        if self.problems:
            return "tampered"
        return "intact" if self.verified_by else "unverified"


def verify_drill(drill_dir: Path, *, key: bytes | None,
                 expect_digest: str | None = None) -> VerifyReport:
    """Verify every attempt of ``drill_dir`` (and, given ``expect_digest``, the final digest
    against it: a SHA-256 hex); ``ConfigError`` when it is no drill folder."""
    if not drill_dir.is_dir():
        raise ConfigError("no such drill folder", source=str(drill_dir))
    attempts = attempt_dirs(drill_dir)
    if not attempts:
        raise ConfigError("not a drill folder (no attempt-<n> inside)", source=str(drill_dir))
    problems: list[str] = []
    notes: list[str] = []
    statuses: list[AttemptStatus] = []

    expected = list(range(1, max(attempts) + 1))
    gaps = [n for n in expected if n not in attempts]
    if gaps:
        problems.append(f"attempt-{gaps[0]}: missing (attempts found: "
                        f"{', '.join(str(n) for n in attempts)})")
    for child in sorted(drill_dir.iterdir()):
        if child.name in DERIVED_DIRS and child.is_dir() and not child.is_symlink():
            continue
        if child.name in INDEX_FILES and child.is_file() and not child.is_symlink():
            continue
        if child.name in RECORD_FILES and child.is_file() and not child.is_symlink():
            problems.extend(check_drill_copy(drill_dir, child.name))  # a sealed record's copy
            continue
        if child.name == DECISIONS_NAME and child.is_file() and not child.is_symlink():
            found, said = check_decisions(drill_dir, key)  # remediation decisions, appended
            problems.extend(found)
            notes.extend(said)
            continue
        if child.is_dir() and not child.is_symlink() and child in attempts.values():
            continue
        problems.append(f"{child.name}: added beside the attempts (not part of any manifest)")

    previous_digest: str | None = None
    chain_head: str | None = GENESIS
    for number, path in attempts.items():
        status, chain_head = _verify_attempt(drill_dir, number, path, key, previous_digest,
                                             chain_head, notes)
        statuses.append(status)
        problems.extend(status.problems)
        previous_digest = status.digest
    if key is None:
        notes.append("signatures not checked: no key given (MAIP_DR_HMAC_KEY or "
                     "--hmac-key-file)")
    verified_by = []
    if key is not None and _keyed_drill(statuses):
        problems.extend(check_index(drill_dir, key, {s.number: s.digest for s in statuses}))
        if all(s.format == FORMAT and s.signature == "ok" and s.keyed_chain == "ok"
               for s in statuses):
            verified_by.append("hmac key")
    elif key is not None and any(s.format == FORMAT_V1 for s in statuses):
        notes.append("sealed before keyed journals (manifest format 1): the key checks the "
                     "signatures, but not the journal records nor the set of attempts; only "
                     "--expect-digest can vouch for this drill")
    final = statuses[-1].digest if statuses else None
    if expect_digest is not None:
        if final == expect_digest:
            verified_by.append("expected digest")
        else:
            problems.append(f"final digest {str(final)[:PREFIX]} is not the expected "
                            f"sha256:{expect_digest[:PREFIX]} (--expect-digest): the last "
                            f"attempt was changed, removed or added")
    return VerifyReport(drill_dir, statuses, problems, notes, final, key is not None,
                        verified_by)


def _keyed_drill(statuses: list[AttemptStatus]) -> bool:
    """Whether any attempt was sealed in format 2: checked with a key, it must keep a signed
    index (an unsigned one is a problem with a key anyway)."""
    return any(s.format == FORMAT for s in statuses)


def _verify_attempt(drill_dir: Path, number: int, path: Path, key: bytes | None,
                    previous_digest: str | None, chain_head: str | None,
                    notes: list[str]) -> tuple[AttemptStatus, str | None]:
    """The attempt's status and the chain head the next attempt links to (None: unknown,
    because this journal is unreadable)."""
    status = AttemptStatus(number)
    name = path.name
    problems = status.problems
    manifest = _load_manifest(path, problems)
    chain_head = _check_journal(drill_dir, number, path, manifest, chain_head, status, notes)
    if manifest is None:
        return status, chain_head
    status.sealed = True
    status.digest = sha256_file(path / MANIFEST_NAME)[0]
    status.sealed_at = str(manifest.get("sealed_at"))
    status.note = str(manifest.get("note") or "")
    status.format = str(manifest.get("format"))
    if manifest.get("format") not in FORMATS:
        problems.append(f"{name}/{MANIFEST_NAME}: unknown format {manifest.get('format')!r}")
    if manifest.get("drill_id") != drill_dir.name or manifest.get("attempt") != number:
        problems.append(f"{name}/{MANIFEST_NAME}: names drill {manifest.get('drill_id')!r} "
                        f"attempt {manifest.get('attempt')!r}, not {drill_dir.name!r} {number}")
    if number > 1 and manifest.get("previous_manifest_digest") != previous_digest:
        found = manifest.get("previous_manifest_digest")
        problems.append(
            f"{name}/{MANIFEST_NAME}: seal chain broken: previous_manifest_digest "
            f"{str(found)[:PREFIX]} but attempt-{number - 1}/{MANIFEST_NAME} has digest "
            f"{str(previous_digest)[:PREFIX]}")
    _check_files(path, manifest, status)
    _check_signature(path, manifest, key, status)
    _check_keyed_chain(path, manifest, key, status)
    return status, chain_head


def _check_keyed_chain(path: Path, manifest: dict[str, Any], key: bytes | None,
                       status: AttemptStatus) -> None:
    """A signed format-2 attempt's journal is keyed: with the key, every record's HMAC."""
    if manifest.get("format") != FORMAT or manifest.get("signed") is not True:
        return
    where = f"{path.name}/{JOURNAL_NAME}"
    if key is None:
        status.keyed_chain = "not checked"
        return
    try:
        records = scan_journal(path / JOURNAL_NAME).records
    except EvidenceError:
        return  # already a problem of the chain check
    problems = verify_macs(records, key, label=where)
    status.keyed_chain = "INVALID" if problems else "ok"
    status.problems.extend(problems)
    late = manifest.get("late")
    if isinstance(late, dict):
        check = late.get("journal_check")
        if check != ["keyed chain intact"]:
            status.problems.append(f"{path.name}: sealed late by attempt "
                                   f"{late.get('by_attempt')}, which found its journal: "
                                   f"{'; '.join(map(str, check or ['unchecked']))}")


def _load_manifest(path: Path, problems: list[str]) -> dict[str, Any] | None:
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        problems.append(f"{path.name}: not sealed (no {MANIFEST_NAME})")
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path.name}/{MANIFEST_NAME}: not valid JSON ({error})")
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        problems.append(f"{path.name}/{MANIFEST_NAME}: no 'files' list")
        return None
    return manifest


def _check_files(path: Path, manifest: dict[str, Any], status: AttemptStatus) -> None:
    name = path.name
    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            status.problems.append(f"{name}/{MANIFEST_NAME}: malformed file entry {entry!r}")
            continue
        listed[entry["path"]] = entry
    status.files = len(listed)
    try:
        present = {p.relative_to(path).as_posix(): p for p in evidence_files(path)}
    except EvidenceError as error:
        status.problems.append(f"{name}: {error}")
        return
    for relative, entry in sorted(listed.items()):
        where = f"{name}/{relative}"
        if relative in EXCLUDED or relative.startswith("/") or ".." in relative.split("/"):
            status.problems.append(f"{where}: listed in the manifest with an invalid path")
            continue
        file_path = present.get(relative)
        if file_path is None:
            status.problems.append(f"{where}: missing (listed in the manifest)")
            continue
        digest, size = sha256_file(file_path)
        if digest != entry.get("sha256") or size != entry.get("size"):
            status.problems.append(
                f"{where}: edited after sealing: sha256 expected "
                f"{str(entry.get('sha256'))[:PREFIX]}, found {digest[:PREFIX]}; size expected "
                f"{entry.get('size')}, found {size}")
    for relative in sorted(set(present) - set(listed)):
        status.problems.append(f"{name}/{relative}: added after sealing (not in the manifest)")


def _check_signature(path: Path, manifest: dict[str, Any], key: bytes | None,
                     status: AttemptStatus) -> None:
    name = path.name
    sig_path = path / SIGNATURE_NAME
    signed = manifest.get("signed") is True
    if not sig_path.is_file():
        if signed:
            status.signature = "missing"
            status.problems.append(f"{name}/{SIGNATURE_NAME}: missing (the manifest says "
                                   f"it was signed)")
        elif key is not None:
            status.problems.append(f"{name}: sealed without a signature, but a key was given "
                                   f"(the signature cannot be checked)")
        return
    if key is None:
        status.signature = "not checked"
        return
    found = sig_path.read_bytes()
    expected = sign(key, status.digest or "").encode("ascii")
    if hmac.compare_digest(found, expected + b"\n") or hmac.compare_digest(found, expected):
        status.signature = "ok"
    else:
        status.signature = "INVALID"
        status.problems.append(f"{name}/{SIGNATURE_NAME}: signature does not match the "
                               f"manifest digest with this key (wrong key, or the manifest "
                               f"was rewritten)")


def _check_journal(drill_dir: Path, number: int, path: Path, manifest: dict[str, Any] | None,
                   chain_head: str | None, status: AttemptStatus,
                   notes: list[str]) -> str | None:
    journal_path = path / JOURNAL_NAME
    where = f"{path.name}/{JOURNAL_NAME}"
    if not journal_path.is_file():
        status.problems.append(f"{where}: missing (every attempt keeps a journal)")
        return chain_head
    try:
        scan = scan_journal(journal_path)
    except EvidenceError as error:
        status.problems.append(f"{where}: {str(error).split(': ', 1)[-1]}")
        return None
    status.records = len(scan.records)
    if chain_head is None and scan.records:  # the previous journal is unreadable
        chain_head = str(scan.records[0].get("prev"))
    status.problems.extend(verify_chain(scan.records, chain_head or GENESIS, label=where))
    for record in scan.records[:1]:
        if record.get("drill_id") != drill_dir.name or record.get("attempt") != number:
            status.problems.append(f"{where}: records name drill {record.get('drill_id')!r} "
                                   f"attempt {record.get('attempt')!r}, not "
                                   f"{drill_dir.name!r} {number}")
    if scan.torn:
        notes.append(f"{where}: ends with a torn line ({len(scan.torn)} bytes) left by an "
                     f"interrupted writer; the chain was checked up to its last valid record")
    if manifest is not None and isinstance(manifest.get("journal"), dict):
        sealed_last = manifest["journal"].get("last_hash")
        if sealed_last != scan.last_hash:
            status.problems.append(
                f"{where}: last record {str(scan.last_hash)[:PREFIX]} is not the one sealed "
                f"in the manifest ({str(sealed_last)[:PREFIX]})")
    return scan.last_hash if scan.records else chain_head
