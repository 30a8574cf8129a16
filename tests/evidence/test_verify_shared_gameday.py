"""``maip-dr verify`` on the evidence of a real game day (the session's shared one, signed with
the HMAC key in its environment): intact with that key, and a problem once one byte of a
sealed file changes (in a copy; the shared evidence is never modified)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from maip_cli_helpers import BIN_DIR, maip_dr_env
from shared_gameday import DRILL_ID, SECRETS, SharedGameDay

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


def _verify(reports: Path, home: Path, key: str | None) -> subprocess.CompletedProcess[str]:
    env = maip_dr_env(home)
    if key is not None:
        env["MAIP_DR_HMAC_KEY"] = key
    return subprocess.run([str(BIN_DIR / "maip-dr"), "verify", "--reports", str(reports),
                           DRILL_ID], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


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
    wrong = _verify(reports, home, "another-key-of-the-same-length-000000")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    summary = reports / DRILL_ID / "attempt-1" / "summary.json"
    data = bytearray(summary.read_bytes())
    data[len(data) // 2] ^= 0x01
    summary.write_bytes(bytes(data))
    os.utime(summary)
    changed = _verify(reports, home, key)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "summary.json" in changed.stdout + changed.stderr
