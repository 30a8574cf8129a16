"""Sealing attempts and verifying a drill: any single changed byte, removed or added file,
edited journal record, wrong key, late sealing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maip_drlib.errors import ConfigError
from maip_drlib.evidence.integrity import verify_drill
from maip_drlib.evidence.journal import JOURNAL_NAME, EvidenceError, Journal, record_hash
from maip_drlib.evidence.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    load_key,
    seal,
    seal_unsealed_attempts,
    sign,
)
from maip_drlib.evidence.redact import Redactor

pytestmark = pytest.mark.unit

DRILL = "gameday-20240101T000000Z"
KEY = b"dummy-hmac-key-0123456789abcdef"


def run_attempt(drill_dir: Path, number: int, *, sealed: bool = True,
                key: bytes | None = KEY) -> Path:
    path = drill_dir / f"attempt-{number}"
    path.mkdir(parents=True)
    with Journal.open(path, drill_id=drill_dir.name, attempt=number,
                      redactor=Redactor(), key=key) as journal:
        journal.record("drill.start", operator="alice@host")
        journal.record("stage.end", stage="failover 2", outcome="passed")
        journal.record("drill.end", verdict="pass")
    (path / "allure-results").mkdir()
    (path / "allure-results" / f"{number}-result.json").write_text(
        json.dumps({"name": "failover 2", "status": "passed"}))
    (path / "results-failover.json").write_text('{"passed": 5}\n')
    if sealed:
        seal(path, key=key)
    return path


@pytest.fixture
def drill(tmp_path: Path) -> Path:
    drill_dir = tmp_path / DRILL
    run_attempt(drill_dir, 1)
    run_attempt(drill_dir, 2)
    return drill_dir


def test_sealed_drill_verifies(drill: Path) -> None:
    report = verify_drill(drill, key=KEY)
    assert report.ok, report.problems
    assert [a.signature for a in report.attempts] == ["ok", "ok"]
    manifest2 = drill / "attempt-2" / MANIFEST_NAME
    assert report.final_digest == report.attempts[1].digest
    data = json.loads(manifest2.read_text())
    assert data["previous_manifest_digest"] == report.attempts[0].digest
    assert data["drill_id"] == DRILL and data["attempt"] == 2
    assert [f["path"] for f in data["files"]] == [
        "allure-results/2-result.json", "journal.jsonl", "results-failover.json"]
    assert data["journal"]["records"] == 3
    assert (drill / "attempt-2" / SIGNATURE_NAME).read_text().strip() == sign(
        KEY, report.final_digest or "")


def test_without_a_key_signatures_are_not_checked(drill: Path) -> None:
    report = verify_drill(drill, key=None)
    assert report.ok, report.problems
    assert not report.signatures_checked
    assert [a.signature for a in report.attempts] == ["not checked", "not checked"]
    assert any("signatures not checked" in note for note in report.notes)


def test_the_key_is_written_nowhere(drill: Path) -> None:
    for path in drill.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_bytes(), path


def _positions(size: int) -> list[int]:
    return sorted({0, size // 2, size - 1, *range(0, size, 61)})


def test_any_single_changed_byte_in_any_file_fails(drill: Path) -> None:
    files = sorted(p for p in drill.rglob("*") if p.is_file())
    assert len(files) == 12  # 3 evidence files + manifest + signature per attempt, the index
    checked = 0
    for path in files:
        original = path.read_bytes()
        for position in _positions(len(original)):
            changed = bytearray(original)
            changed[position] ^= 0x01
            path.write_bytes(bytes(changed))
            report = verify_drill(drill, key=KEY)
            relative = path.relative_to(drill).as_posix()
            assert not report.ok, (relative, position)
            if path.name not in (MANIFEST_NAME, SIGNATURE_NAME, "index.json", "index.sig"):
                assert any(p.startswith(f"{relative}: edited after sealing: sha256 expected ")
                           for p in report.problems), report.problems
            checked += 1
        path.write_bytes(original)
    assert checked > 50
    assert verify_drill(drill, key=KEY).ok


def test_edited_file_names_expected_and_found_hash(drill: Path) -> None:
    target = drill / "attempt-1" / "results-failover.json"
    expected = next(f["sha256"] for f in json.loads(
        (drill / "attempt-1" / MANIFEST_NAME).read_text())["files"]
        if f["path"] == "results-failover.json")
    target.write_text('{"passed": 6}\n')
    report = verify_drill(drill, key=KEY)
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.startswith("attempt-1/results-failover.json: edited after sealing: sha256 "
                              f"expected {expected[:12]}, found ")
    assert problem.endswith("size expected 14, found 14")


def test_removed_file_fails(drill: Path) -> None:
    (drill / "attempt-2" / "allure-results" / "2-result.json").unlink()
    report = verify_drill(drill, key=KEY)
    assert report.problems == [
        "attempt-2/allure-results/2-result.json: missing (listed in the manifest)"]


def test_added_files_fail_except_html(drill: Path) -> None:
    (drill / "html").mkdir()
    (drill / "html" / "index.html").write_text("<html></html>")
    assert verify_drill(drill, key=KEY).ok
    (drill / "attempt-1" / "allure-results" / "extra-result.json").write_text("{}")
    (drill / "notes.txt").write_text("added")
    report = verify_drill(drill, key=KEY)
    assert sorted(report.problems) == [
        "attempt-1/allure-results/extra-result.json: added after sealing (not in the manifest)",
        "notes.txt: added beside the attempts (not part of any manifest)",
    ]


def test_journal_record_edited_with_hash_recomputed_breaks_the_chain(drill: Path) -> None:
    path = drill / "attempt-1" / JOURNAL_NAME
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[1]["outcome"] = "failed"
    records[1]["hash"] = record_hash(records[1])
    path.write_text("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n"
                            for r in records))
    problems = verify_drill(drill, key=KEY).problems
    assert any(p.startswith("attempt-1/journal.jsonl: edited after sealing") for p in problems)
    assert (f"attempt-1/journal.jsonl: record seq 3: chain broken: prev "
            f"{records[2]['prev'][:12]} is not the hash of record seq 2 "
            f"({records[1]['hash'][:12]})") in problems


def test_removed_journal_record_breaks_the_link_across_attempts(tmp_path: Path) -> None:
    drill_dir = tmp_path / DRILL
    run_attempt(drill_dir, 1, sealed=False)
    run_attempt(drill_dir, 2)  # seals attempt 1 late, after the edit below would be too late
    path = drill_dir / "attempt-1" / JOURNAL_NAME
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    problems = verify_drill(drill_dir, key=KEY).problems
    assert any("attempt-2/journal.jsonl: record seq 1: chain broken" in p for p in problems)


def test_wrong_key_fails(drill: Path) -> None:
    report = verify_drill(drill, key=b"another-dummy-key-0123456789")
    assert [a.signature for a in report.attempts] == ["INVALID", "INVALID"]
    assert report.problems[0].startswith("attempt-1/manifest.sig: signature does not match")


def test_removed_signature_fails_even_without_a_key(drill: Path) -> None:
    (drill / "attempt-2" / SIGNATURE_NAME).unlink()
    assert verify_drill(drill, key=None).problems == [
        "attempt-2/manifest.sig: missing (the manifest says it was signed)"]


def test_unsigned_seal_with_a_key_given_fails(tmp_path: Path) -> None:
    drill_dir = tmp_path / DRILL
    run_attempt(drill_dir, 1, key=None)
    assert verify_drill(drill_dir, key=None).ok
    assert "sealed without a signature" in verify_drill(drill_dir, key=KEY).problems[0]


def test_rewritten_earlier_manifest_breaks_the_seal_chain(drill: Path) -> None:
    path = drill / "attempt-1" / MANIFEST_NAME
    path.write_text(path.read_text().replace('"note": ""', '"note": "rewritten"'))
    problems = verify_drill(drill, key=None).problems
    assert len(problems) == 1
    assert problems[0].startswith("attempt-2/manifest.json: seal chain broken: "
                                  "previous_manifest_digest ")


def test_late_sealing_of_an_unsealed_attempt(tmp_path: Path) -> None:
    drill_dir = tmp_path / DRILL
    run_attempt(drill_dir, 1, sealed=False)  # the process was killed before sealing
    unsealed = verify_drill(drill_dir, key=KEY)
    assert unsealed.problems == ["attempt-1: not sealed (no manifest.json)"]
    assert unsealed.final_digest is None
    run_attempt(drill_dir, 2)  # its seal seals attempt 1 first
    report = verify_drill(drill_dir, key=KEY)
    assert report.ok, report.problems
    assert report.attempts[0].note == "sealed late by attempt 2 after an interruption"
    assert report.attempts[1].note == ""


def test_seal_unsealed_attempts_directly(tmp_path: Path) -> None:
    drill_dir = tmp_path / DRILL
    run_attempt(drill_dir, 1, sealed=False)
    run_attempt(drill_dir, 2, sealed=False)
    seals = seal_unsealed_attempts(drill_dir, key=KEY, by_attempt=3, reason="at resume")
    assert [s.path.parent.name for s in seals] == ["attempt-1", "attempt-2"]
    assert seal_unsealed_attempts(drill_dir, key=KEY, by_attempt=3) == []
    report = verify_drill(drill_dir, key=KEY)
    assert report.ok, report.problems
    assert report.attempts[1].note == "sealed late by attempt 3 at resume"


def test_torn_journal_sealed_late_is_a_note(tmp_path: Path) -> None:
    drill_dir = tmp_path / DRILL
    run_attempt(drill_dir, 1, sealed=False)
    with (drill_dir / "attempt-1" / JOURNAL_NAME).open("ab") as handle:
        handle.write(b'{"seq":4,"a')
    run_attempt(drill_dir, 2)
    report = verify_drill(drill_dir, key=KEY)
    assert report.ok, report.problems
    assert any("attempt-1/journal.jsonl: ends with a torn line (11 bytes)" in note
               for note in report.notes)


def test_sealing_twice_is_refused(drill: Path) -> None:
    with pytest.raises(EvidenceError, match="already sealed"):
        seal(drill / "attempt-2", key=KEY)


def test_missing_attempt_and_missing_journal(drill: Path) -> None:
    (drill / "attempt-2").rename(drill / "attempt-3")
    problems = verify_drill(drill, key=None).problems
    assert "attempt-2: missing (attempts found: 1, 3)" in problems
    assert any(p.startswith("attempt-3/manifest.json: names drill") for p in problems)


def test_not_a_drill_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such drill folder"):
        verify_drill(tmp_path / "nope", key=None)
    with pytest.raises(ConfigError, match=r"no attempt-<n> inside"):
        verify_drill(tmp_path, key=None)


def test_load_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    assert load_key("ignored-because-the-file-wins", key_file) == KEY
    assert load_key(KEY.decode(), None) == KEY
    assert load_key("", None) is None and load_key(None, None) is None
    with pytest.raises(ConfigError, match=r"--hmac-key-file: cannot read the key file"):
        load_key(None, tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"^MAIP_DR_HMAC_KEY: the HMAC key must be at least"):
        load_key("short", None)
