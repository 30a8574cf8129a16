"""``maip-dr verify`` on the evidence of a real game day (the session's shared one, signed with
the HMAC key in its environment): intact with that key (every journal record of the drill's
processes keyed, the drill index signed), or without it against the final digest the game day
printed; "unverified" (exit 1) with neither; "tampered" once one byte of a sealed file changes
(in a copy; the shared evidence is never modified)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from maip_cli_helpers import BIN_DIR, maip_dr_env
from shared_gameday import DRILL_ID, SECRETS, SharedGameDay

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


def _verify(reports: Path, home: Path, key: str | None,
            *extra: str) -> subprocess.CompletedProcess[str]:
    env = maip_dr_env(home)
    if key is not None:
        env["MAIP_DR_HMAC_KEY"] = key
    return subprocess.run([str(BIN_DIR / "maip-dr"), "verify", "--reports", str(reports),
                           DRILL_ID, *extra], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def _verdict(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1]


def test_a_real_game_days_evidence_verifies_with_its_key_and_not_once_changed(
        embedded_gameday: SharedGameDay, tmp_path: Path) -> None:
    assert embedded_gameday.returncode == 0, embedded_gameday.output
    home = tmp_path / "home"
    home.mkdir()
    key = SECRETS["MAIP_DR_HMAC_KEY"]
    reports = tmp_path / "reports"
    shutil.copytree(embedded_gameday.workdir / "reports", reports)
    intact = _verify(reports, home, key)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "verified by: hmac key" in intact.stdout.splitlines()
    journal = reports / DRILL_ID / "attempt-1" / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {"stage.start", "step.end", "drill.end"} <= {r["kind"] for r in records}
    assert all("mac" in r for r in records)  # the pytest session's records too
    assert (reports / DRILL_ID / "index.json").is_file()
    unkeyed = _verify(reports, home, None)
    assert unkeyed.returncode == 1, unkeyed.stdout + unkeyed.stderr
    assert _verdict(unkeyed).startswith("verdict: unverified"), unkeyed.stdout
    (printed,) = re.findall(r"final digest: (sha256:[0-9a-f]{64})", embedded_gameday.stdout)
    anchored = _verify(reports, home, None, "--expect-digest", printed)
    assert anchored.returncode == 0, anchored.stdout + anchored.stderr
    wrong = _verify(reports, home, "another-key-of-the-same-length-000000")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert _verdict(wrong).startswith("verdict: tampered"), wrong.stdout
    summary = reports / DRILL_ID / "attempt-1" / "summary.json"
    data = bytearray(summary.read_bytes())
    data[len(data) // 2] ^= 0x01
    summary.write_bytes(bytes(data))
    os.utime(summary)
    changed = _verify(reports, home, key)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert _verdict(changed).startswith("verdict: tampered"), changed.stdout
    assert "summary.json" in changed.stdout + changed.stderr
