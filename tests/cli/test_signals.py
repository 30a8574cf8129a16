"""SIGTERM (a CI cancel, a Job deadline) stops a game day cleanly: its pytest session ends, the
embedded simulation's process is stopped and waited for, the journal says where the drill
stopped, the lease is released, exit 143."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from maip_cli_helpers import BIN_DIR, maip_dr_env, wait_until

pytestmark = [pytest.mark.sim, pytest.mark.cli]


def _journal(reports: Path) -> list[dict]:
    records: list[dict] = []
    for path in reports.glob("*/attempt-1/journal.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in found.read_text().split()] if found.exists() else []


def test_sigterm_stops_the_drill_and_its_simulation_journals_and_exits_143(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    reports = tmp_path / "reports"
    output = (tmp_path / "stdout.txt").open("w")  # a pipe nobody reads would block the drill
    process = subprocess.Popen([str(BIN_DIR / "maip-dr"), "gameday", "--no-data-plane",
                                "--reports", str(reports)], cwd=tmp_path,
                               env=maip_dr_env(home), stdout=output,
                               stderr=subprocess.PIPE, text=True)
    try:
        def stage_2_started() -> bool:
            if process.poll() is not None:
                raise AssertionError("the game day ended before failover stage 2")
            return any(r["kind"] == "stage.start" and r.get("phase") == "failover"
                       and r.get("stage") == 2 for r in _journal(reports))

        wait_until("failover stage 2 to start", stage_2_started, timeout_s=240)
        children = _children(process.pid)
        assert children, "the embedded simulation runs in a child process"
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        output.close()
    assert process.returncode == 143, err[-2000:]
    assert "maip-dr: terminated (SIGTERM)" in err
    for child in children:  # the simulation was stopped and waited for, not left running
        assert not Path(f"/proc/{child}").exists() or \
            "zombie" in Path(f"/proc/{child}/status").read_text().lower()
    records = _journal(reports)
    interrupted = [r for r in records if r["kind"] == "drill.interrupted"]
    assert interrupted and interrupted[-1]["signal"] == "SIGTERM"
    assert interrupted[-1]["at_phase"] == "failover"
    state = [r for r in records if r["kind"] == "drill.state"][-1]
    assert "failover 1" in state["completed_stages"]
    assert state["stopped_stage"] in ("failover 2", "failover 3")
    assert "embedded simulation ends with this process" in err
    released = [r for r in records if r["kind"] == "lease.acquired"]
    assert released, "the game day held the lease"
    assert "could not release the drill lease" not in err
