"""The keyed journal chain, the signed drill index, late seals and old (format 1) evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maip_drlib.evidence import keys
from maip_drlib.evidence.drill_index import INDEX_NAME, INDEX_SIGNATURE
from maip_drlib.evidence.integrity import verify_drill
from maip_drlib.evidence.journal import JOURNAL_NAME, Journal, canonical, record_hash, verify_macs
from maip_drlib.evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, seal, sign
from maip_drlib.evidence.redact import Redactor

pytestmark = pytest.mark.unit

DRILL = "gameday-keyed"
KEY = b"dummy-hmac-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_process_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MAIP_DR_HMAC_KEY", raising=False)
    keys.reset()
    yield
    keys.reset()


def attempt(drill: Path, number: int, *, key: bytes | None = KEY, sealed: bool = True) -> Path:
    path = drill / f"attempt-{number}"
    path.mkdir(parents=True)
    with Journal.open(path, drill_id=drill.name, attempt=number, redactor=Redactor(),
                      key=key) as journal:
        journal.record("drill.start")
        journal.record("stage.end", stage="failover 2", outcome="failed")
    (path / "results-failover.json").write_text('{"failed": 1}\n')
    if sealed:
        seal(path, key=key)
    return path


def rewrite_without_key(journal: Path, **changes: object) -> None:
    """Apply ``changes`` to the stage record and recompute the SHA-256 chain (MACs kept)."""
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    prev = records[0]["prev"]
    for record in records:
        if record["kind"] == "stage.end":
            record.update(changes)
        record["prev"] = prev
        record["hash"] = prev = record_hash(record)
    journal.write_bytes(b"".join(canonical(r) + b"\n" for r in records))


def test_every_record_of_a_keyed_journal_carries_its_hmac(tmp_path: Path) -> None:
    path = attempt(tmp_path / DRILL, 1, sealed=False)
    records = [json.loads(line) for line in (path / JOURNAL_NAME).read_text().splitlines()]
    assert all(len(r["mac"]) == 64 for r in records)
    assert verify_macs(records, KEY) == []
    assert verify_macs(records, b"another-dummy-key-0123456789")[0].startswith(
        "journal: record seq 1: HMAC does not match its content with this key")


def test_the_process_key_keys_a_journal_opened_without_one(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / DRILL / "attempt-1"
    folder.mkdir(parents=True)
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY.decode())  # a process started by a keyed drill
    with Journal.open(folder, drill_id=DRILL, attempt=1, redactor=Redactor()) as journal:
        assert "mac" in journal.record("step.start")
    keys.use_key(None, children=False)  # the edge said: no key
    with Journal.open(folder, drill_id=DRILL, attempt=1, redactor=Redactor()) as journal:
        assert "mac" not in journal.record("step.end")


def test_a_chain_recomputed_without_the_key_is_tampered(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    path = attempt(drill, 1, sealed=False)
    rewrite_without_key(path / JOURNAL_NAME, outcome="passed")
    seal(path, key=KEY)  # even sealed afterwards with the key, the records betray it
    report = verify_drill(drill, key=KEY)
    assert report.verdict == "tampered"
    assert ("attempt-1/journal.jsonl: record seq 2: HMAC does not match its content with this "
            "key (edited, the chain recomputed without the key, or a wrong key)") in report.problems


def test_a_signed_drill_is_intact_with_the_key_and_unverified_without(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    attempt(drill, 1)
    attempt(drill, 2)
    report = verify_drill(drill, key=KEY)
    assert (report.verdict, report.verified_by) == ("intact", ["hmac key"]), report.problems
    assert [a.keyed_chain for a in report.attempts] == ["ok", "ok"]
    index = json.loads((drill / INDEX_NAME).read_text())
    assert [(e["attempt"], e["digest"], e["late"]) for e in index["attempts"]] == [
        (1, report.attempts[0].digest, False), (2, report.attempts[1].digest, False)]
    assert verify_drill(drill, key=None).verdict == "unverified"


def test_deleting_the_last_attempt_is_a_problem_with_the_key(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    attempt(drill, 1)
    second = attempt(drill, 2)
    for path in sorted(second.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    second.rmdir()
    assert verify_drill(drill, key=None).verdict == "unverified"  # nothing inside shows it
    report = verify_drill(drill, key=KEY)
    assert report.verdict == "tampered"
    listed = json.loads((drill / INDEX_NAME).read_text())["attempts"][1]["digest"]
    assert report.problems == [f"attempt-2: missing: the signed drill index lists it (digest "
                               f"{listed[:12]}): deleted?"]


def test_an_added_attempt_is_a_problem_with_the_key(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    attempt(drill, 1)
    index = (drill / INDEX_NAME).read_bytes(), (drill / INDEX_SIGNATURE).read_bytes()
    attempt(drill, 2, key=b"the-forgers-own-key-0123456789")  # signed, but not with ours
    (drill / INDEX_NAME).write_bytes(index[0])  # the forger keeps our signed index
    (drill / INDEX_SIGNATURE).write_bytes(index[1])
    report = verify_drill(drill, key=KEY)
    assert report.verdict == "tampered"
    assert ("attempt-2: not in the signed drill index (added after the drill's last seal?)"
            in report.problems)


def test_an_edited_index_is_rebuilt_and_reported(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    attempt(drill, 1)
    (drill / INDEX_NAME).write_text((drill / INDEX_NAME).read_text().replace('"late"', '"Late"'))
    assert "does not match index.json" in verify_drill(drill, key=KEY).problems[0]
    attempt(drill, 2)
    problems = verify_drill(drill, key=KEY).problems
    assert problems == ["index.json: the previous index did not verify (index.sig does not "
                        "match index.json with this key (wrong key, or the index was "
                        "rewritten)); rebuilt from the sealed attempts"]


def test_a_late_seal_records_what_it_sealed_and_that_it_was_late(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    attempt(drill, 1, sealed=False)  # interrupted
    second = attempt(drill, 2)
    manifest = json.loads((drill / "attempt-1" / MANIFEST_NAME).read_text())
    assert manifest["late"]["by_attempt"] == 2
    assert manifest["late"]["journal_check"] == ["keyed chain intact"]
    assert manifest["journal"]["keyed"] is True
    records = [json.loads(line) for line in (second / JOURNAL_NAME).read_text().splitlines()]
    (late,) = [r for r in records if r["kind"] == "evidence.late_seal"]
    digest = hashlib.sha256((drill / "attempt-1" / MANIFEST_NAME).read_bytes()).hexdigest()
    assert (late["sealed_attempt"], late["digest"], late["journal_records"]) == (1, digest, 2)
    assert late["journal_check"] == ["keyed chain intact"]
    report = verify_drill(drill, key=KEY)
    assert report.verdict == "intact", report.problems
    index = json.loads((drill / INDEX_NAME).read_text())
    assert [e["late"] for e in index["attempts"]] == [True, False]


def test_an_edit_before_the_late_seal_shows_through_the_keyed_chain(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    first = attempt(drill, 1, sealed=False)  # interrupted; then edited, chain recomputed
    rewrite_without_key(first / JOURNAL_NAME, outcome="passed")
    attempt(drill, 2)  # the resume seals it late, with the key
    check = json.loads((first / MANIFEST_NAME).read_text())["late"]["journal_check"]
    assert check == ["journal.jsonl: record seq 2: HMAC does not match its content with this key "
                     "(edited, the chain recomputed without the key, or a wrong key)"]
    report = verify_drill(drill, key=KEY)
    assert report.verdict == "tampered"
    assert any(p.startswith("attempt-1: sealed late by attempt 2, which found its journal: "
                            "journal.jsonl: record seq 2: HMAC does not match")
               for p in report.problems), report.problems


def _as_format_1(path: Path, key: bytes | None) -> None:
    """Rewrite a seal as the suite wrote it before keyed journals."""
    manifest = json.loads((path / MANIFEST_NAME).read_text())
    manifest["format"] = "maip-dr-manifest/1"
    del manifest["late"], manifest["journal"]["keyed"]
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (path / MANIFEST_NAME).write_bytes(data)
    if key is not None:
        (path / SIGNATURE_NAME).write_text(sign(key, hashlib.sha256(data).hexdigest()) + "\n")


def test_old_unkeyed_evidence_reads_as_unverified(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    _as_format_1(attempt(drill, 1, key=None), None)
    report = verify_drill(drill, key=None)
    assert (report.verdict, report.problems) == ("unverified", [])


def test_old_signed_evidence_is_unverified_even_with_the_key(tmp_path: Path) -> None:
    drill = tmp_path / DRILL
    path = attempt(drill, 1, key=None)
    _as_format_1(path, KEY)
    report = verify_drill(drill, key=KEY)
    assert (report.verdict, report.problems) == ("unverified", [])
    assert [a.signature for a in report.attempts] == ["ok"]
    assert any("sealed before keyed journals (manifest format 1)" in n for n in report.notes)
    final = report.final_digest
    assert verify_drill(drill, key=None, expect_digest=final).verdict == "intact"
