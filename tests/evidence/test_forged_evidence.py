"""A forgery as a tamperer without the key would make it, verified at the command line.

The drill was run and sealed with the HMAC key (the key reaches the journal the way it reaches a
game day's processes: ``MAIP_DR_HMAC_KEY`` in the environment). The forger changes a failed
stage to passed in the journal and in ``summary.json``, recomputes the unkeyed SHA-256 chain,
deletes what only the key could remake (``manifest.sig``, the drill index) and reseals the
attempt unsigned with the suite's own ``seal``. Without a key ``maip-dr verify`` must not call
that intact (it says "unverified", exit 1); with the key it says "tampered" (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maip_drlib.cli import main
from maip_drlib.evidence.journal import JOURNAL_NAME, Journal, canonical, record_hash
from maip_drlib.evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, seal
from maip_drlib.evidence.redact import Redactor

pytestmark = pytest.mark.unit

KEY = "dummy-hmac-key-0123456789abcdef"
DRILL = "gameday-forged"


def signed_drill(reports: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One attempt whose failover 2 failed, journalled and sealed with the key."""
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    path = reports / DRILL / "attempt-1"
    path.mkdir(parents=True)
    with Journal.open(path, drill_id=DRILL, attempt=1, redactor=Redactor()) as journal:
        journal.record("drill.start", target="embedded")
        journal.record("stage.end", stage="failover 2", outcome="failed")
        journal.record("drill.end", exit_code=1)
    (path / "summary.json").write_text(json.dumps({"verdict": "FAIL"}) + "\n")
    seal(path, key=KEY.encode())
    monkeypatch.delenv("MAIP_DR_HMAC_KEY")
    return reports / DRILL


def forge(drill: Path) -> None:
    """FAIL -> PASS, the chain recomputed without the key, resealed unsigned."""
    attempt = drill / "attempt-1"
    journal = attempt / JOURNAL_NAME
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    prev = records[0]["prev"]
    for record in records:
        record.pop("mac", None)  # the forger cannot remake it
        if record.get("outcome") == "failed":
            record["outcome"] = "passed"
        if record.get("kind") == "drill.end":
            record["exit_code"] = 0
        record["prev"] = prev
        record["hash"] = prev = record_hash(record)
    journal.write_bytes(b"".join(canonical(r) + b"\n" for r in records))
    (attempt / "summary.json").write_text(json.dumps({"verdict": "PASS"}) + "\n")
    for name in (MANIFEST_NAME, SIGNATURE_NAME):
        (attempt / name).unlink()
    for leftover in drill.iterdir():  # whatever the key signed at the drill level
        if leftover.is_file():
            leftover.unlink()
    seal(attempt, key=None)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out + err


def test_a_forged_attempt_is_unverified_without_the_key_and_tampered_with_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    drill = signed_drill(tmp_path / "reports", monkeypatch)
    forge(drill)
    code, out = run(["verify", str(drill)], capsys)
    assert code == 1, out
    assert "evidence intact" not in out
    assert out.splitlines()[-1].startswith("verdict: unverified"), out
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out = run(["verify", str(drill)], capsys)
    assert code == 1, out
    assert out.splitlines()[-1].startswith("verdict: tampered"), out
    assert "PROBLEM attempt-1: sealed without a signature, but a key was given" in out
    assert "PROBLEM index.json: missing (a drill sealed with the key keeps a signed index" in out


def test_a_forgery_that_keeps_the_signed_files_is_tampered_with_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The forger puts the old manifest.sig and index back beside the resealed manifest."""
    drill = signed_drill(tmp_path / "reports", monkeypatch)
    kept = {p.relative_to(drill): p.read_bytes() for p in drill.rglob("*.sig")}
    kept |= {p.relative_to(drill): p.read_bytes() for p in drill.glob("index.json")}
    forge(drill)
    for relative, data in kept.items():
        (drill / relative).write_bytes(data)
    manifest = json.loads((drill / "attempt-1" / MANIFEST_NAME).read_text())
    assert manifest["signed"] is False and manifest["journal"]["keyed"] is False
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out = run(["verify", str(drill)], capsys)
    assert code == 1 and out.splitlines()[-1].startswith("verdict: tampered"), out
    assert "PROBLEM attempt-1/manifest.sig: signature does not match the manifest" in out
    assert "is not the one in the signed drill index" in out


def test_the_same_drill_unforged_is_intact_only_with_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    drill = signed_drill(tmp_path / "reports", monkeypatch)
    code, out = run(["verify", str(drill)], capsys)
    assert code == 1 and out.splitlines()[-1].startswith("verdict: unverified"), out
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out = run(["verify", str(drill)], capsys)
    assert code == 0, out
    assert out.splitlines()[-1] == "verdict: evidence intact (exit 0)"
