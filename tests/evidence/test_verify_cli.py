"""``maip-dr verify``: exit 0 intact (with the key, or the expected digest), 1 tampered with one
line per problem, 1 unverified (no key, no expected digest), 2 for bad input."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maip_drlib.cli import main
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.manifest import seal
from maip_drlib.evidence.redact import Redactor

pytestmark = pytest.mark.sim

KEY = "dummy-hmac-key-0123456789abcdef"
MAIP_DR = Path(sys.executable).parent / "maip-dr"


def make_drill(reports: Path, drill_id: str, attempts: int = 2) -> Path:
    drill = reports / drill_id
    for number in range(1, attempts + 1):
        path = drill / f"attempt-{number}"
        path.mkdir(parents=True)
        with Journal.open(path, drill_id=drill_id, attempt=number,
                          redactor=Redactor(), key=KEY.encode()) as journal:
            journal.record("drill.start")
            journal.record("drill.end", verdict="pass")
        (path / "results-readiness.json").write_text("{}\n")
        seal(path, key=KEY.encode())
    return drill


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAIP_DR_HMAC_KEY", raising=False)


def test_intact_drill_exits_0_with_the_final_digest(tmp_path: Path, capsys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1")
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out, err = run(["verify", str(drill)], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[1].startswith("  attempt-1: ok: sealed ")
    assert lines[2].startswith("  attempt-2: ok: sealed ")
    assert "signature ok" in lines[2]
    digest = (drill / "attempt-2" / "manifest.json").read_bytes()
    assert f"final digest: {hashlib.sha256(digest).hexdigest()}" in lines
    assert lines[-1] == "verdict: evidence intact (exit 0)"
    assert err == ""


def test_without_a_key_it_is_unverified_exit_1(tmp_path: Path, capsys) -> None:
    make_drill(tmp_path / "reports", "gameday-1")
    code, out, _ = run(["verify", "gameday-1", "--reports", str(tmp_path / "reports")], capsys)
    assert code == 1
    assert "note: signatures not checked" in out
    assert "PROBLEM" not in out
    assert out.splitlines()[-1] == (
        "verdict: unverified: no problem found, but nothing outside the folder vouches for it "
        "(give the HMAC key or --expect-digest) (exit 1)")


def test_the_expected_digest_vouches_without_a_key(tmp_path: Path, capsys) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1")
    final = hashlib.sha256((drill / "attempt-2" / "manifest.json").read_bytes()).hexdigest()
    code, out, _ = run(["verify", str(drill), "--expect-digest", f"sha256:{final}"], capsys)
    assert code == 0, out
    assert "verified by: expected digest" in out.splitlines()
    assert out.splitlines()[-1] == "verdict: evidence intact (exit 0)"
    code, out, _ = run(["verify", str(drill), "--expect-digest", final.upper()], capsys)
    assert code == 0, out  # the bare hex, as verify prints it
    other = hashlib.sha256((drill / "attempt-1" / "manifest.json").read_bytes()).hexdigest()
    code, out, _ = run(["verify", str(drill), "--expect-digest", f"sha256:{other}"], capsys)
    assert code == 1
    assert f"PROBLEM final digest {final[:12]} is not the expected sha256:{other[:12]}" in out
    assert out.splitlines()[-1] == "verdict: tampered: 1 problem(s) (exit 1)"


def test_a_malformed_expected_digest_exits_2(tmp_path: Path, capsys) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1", attempts=1)
    code, out, err = run(["verify", str(drill), "--expect-digest", "md5:abc"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("maip-dr: --expect-digest: expected sha256:<64 hex digits>"), err


def test_problems_exit_1_one_line_each(tmp_path: Path, capsys) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1")
    (drill / "attempt-1" / "results-readiness.json").write_text('{"edited": true}\n')
    (drill / "attempt-2" / "extra.txt").write_text("x")
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    code, out, _ = run(["verify", str(drill), "--hmac-key-file", str(key_file)], capsys)
    assert code == 1
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM ")]
    assert len(problems) == 2
    assert problems[0].startswith("PROBLEM attempt-1/results-readiness.json: edited after "
                                  "sealing: sha256 expected ")
    assert problems[1] == ("PROBLEM attempt-2/extra.txt: added after sealing (not in the "
                           "manifest)")
    assert out.splitlines()[-1] == "verdict: tampered: 2 problem(s) (exit 1)"


def test_wrong_key_exits_1(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1", attempts=1)
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", "another-dummy-key-0123456789")
    code, out, _ = run(["verify", str(drill)], capsys)
    assert code == 1
    assert "PROBLEM attempt-1/manifest.sig: signature does not match" in out


def test_newest_drill_by_default(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = tmp_path / "reports"
    old = make_drill(reports, "gameday-old", attempts=1)
    make_drill(reports, "gameday-new", attempts=1)
    os.utime(old / "attempt-1", (1_000, 1_000))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", KEY)
    code, out, _ = run(["verify"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "drill gameday-new (reports/gameday-new)"


@pytest.mark.parametrize(("args", "message"), [
    (["verify", "no-such-drill"], "maip-dr: DRILL: no drill folder no-such-drill"),
    (["verify", "--reports", "nowhere"], "maip-dr: nowhere: --reports: no reports folder"),
    (["verify", "gameday-1", "--hmac-key-file", "missing.key"],
     "maip-dr: missing.key: --hmac-key-file: cannot read the key file"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys,
                                         monkeypatch: pytest.MonkeyPatch, args: list[str],
                                         message: str) -> None:
    make_drill(tmp_path / "reports", "gameday-1", attempts=1)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err


def test_short_key_in_env_exits_2(tmp_path: Path, capsys,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1", attempts=1)
    monkeypatch.setenv("MAIP_DR_HMAC_KEY", "short")
    code, _, err = run(["verify", str(drill)], capsys)
    assert code == 2
    assert err.strip() == "maip-dr: MAIP_DR_HMAC_KEY: the HMAC key must be at least 16 bytes, got 5"


@pytest.mark.cli
def test_subprocess_exit_codes(tmp_path: Path) -> None:
    drill = make_drill(tmp_path / "reports", "gameday-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIP_")}
    env["MAIP_DR_HMAC_KEY"] = KEY

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(MAIP_DR), "verify", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60, check=False)

    assert verify(str(drill)).returncode == 0
    (drill / "attempt-2" / "journal.jsonl").write_bytes(b"")
    failed = verify(str(drill))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    missing = verify(str(tmp_path / "absent"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.stderr
