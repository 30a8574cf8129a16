"""Fault matrix, SIGKILL rows: the runner killed in each failover and failback stage in turn.

One ``maip-dr sim up`` process (a ``sim`` target) serves the whole chain of one drill: attempt
1 is a game day killed (SIGKILL to its process group) when the When step of failover 1 starts;
attempt k resumes with ``--resume-from`` the stage attempt k-1 was killed in, must pass that
stage (its row's verdict; time measured from the relaunch) and is killed in the next stage;
the last attempt resumes at failback 4 and must finish the drill with verdict PASS. Every
resumed attempt's journal says where the previous one was interrupted, and across all attempts
the DR replica is promoted once (a second ``promote_read_replica`` would be refused by RDS and
is never made). At the end, the evidence across all attempts: one hash chain, each lease
takeover journalled, the killed attempts sealed late, ``maip-dr verify`` passing until one byte
changes. A resume takes over the killed attempt's drill lease with ``--dr-break-lease``,
as an operator would, once the killed holder's heartbeat is stale (a break is refused while it
is fresh; the lease TTL is at its 15 s minimum, so that takes at most 10 s). Not covered: a
kill between a mutating call and its journal record is recognised by the next attempt's Given
steps, not by the journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fault_rows import Recorder
from maip_cli_helpers import BIN_DIR, SimUpProcess, sim_up_in, wait_until_lease_heartbeat_stale

from maip_drlib.evidence.journal import scan_journal, verify_chain

pytestmark = [pytest.mark.gameday, pytest.mark.cli]

FLAGS = ["--dr-execute", "--dr-confirm", "sim", "--dr-lease-ttl", "15"]
DRILL = "fault-matrix-kill"
STAGES = [("failover", n) for n in range(1, 6)] + [("failback", n) for n in range(1, 5)]
STEP_DEADLINE_S = 180.0
# The killed attempt still holds the drill lease: once its heartbeat is stale the operator
# takes it over, saying why (or takes it free, if it expired meanwhile).
BREAK_LEASE = ["--dr-break-lease", "previous attempt killed with SIGKILL (fault matrix)"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    with sim_up_in(tmp_path_factory.mktemp("kill-sim"), 0.2) as running:
        yield running


def _journal(sim: SimUpProcess, attempt: int) -> Path:
    return sim.workdir / "reports" / DRILL / f"attempt-{attempt}" / "journal.jsonl"


def _records(path: Path) -> list[dict]:
    return scan_journal(path).records if path.exists() else []


def _launch(sim: SimUpProcess, resume: tuple[str, int] | None) -> subprocess.Popen[bytes]:
    args = [str(BIN_DIR / "maip-dr"), "--config", str(sim.config), "gameday", *FLAGS,
            "--drill-id", DRILL]
    if resume is not None:
        args += ["--resume-from", f"{resume[0]}:{resume[1]}", *BREAK_LEASE]
    log = (sim.workdir / f"gameday-{len(list(sim.workdir.glob('gameday-*.log')))}.log").open("wb")
    with log:
        return subprocess.Popen(args, cwd=sim.workdir, env=sim.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


class _JournalTail:
    """The journal's records as they are written: a poll parses only the whole lines added
    since the last one (polled every 10 ms, parsing the whole journal cost a core)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0
        self.records: list[dict] = []

    def poll(self) -> list[dict]:
        try:
            with self.path.open("rb") as journal:
                journal.seek(self.offset)
                added = journal.read()
        except FileNotFoundError:
            return self.records
        end = added.rfind(b"\n")  # a line being written is read on a later poll
        if end >= 0:
            self.records += [json.loads(line) for line in added[:end].split(b"\n") if line]
            self.offset += end + 1
        return self.records


def _wait(path: Path, process: subprocess.Popen[bytes],
          found: Callable[[list[dict]], dict | None]) -> dict:
    """Poll the journal until ``found(records)`` names a record; ``found`` sees the whole
    journal once a poll (a kill must land soon after the record is written)."""
    deadline = time.monotonic() + STEP_DEADLINE_S
    tail = _JournalTail(path)
    while time.monotonic() < deadline:
        hit = found(tail.poll())
        if hit is not None:
            return hit
        if process.poll() is not None:
            logs = sorted(path.parents[3].glob("gameday-*.log"))
            tail = logs[-1].read_text(errors="replace")[-1500:] if logs else ""
            raise AssertionError(f"the game day ended (exit {process.returncode}) first: "
                                 f"{[r.get('kind') for r in _records(path)][-5:]}; {tail}")
        time.sleep(0.01)
    raise AssertionError(f"not seen within {STEP_DEADLINE_S:g}s in {path}")


def _is_stage(record: dict, kind: str, stage: tuple[str, int]) -> bool:
    return (record.get("kind") == kind and record.get("phase") == stage[0]
            and record.get("stage") == stage[1])


def _stage_end(stage: tuple[str, int]) -> Callable[[list[dict]], dict | None]:
    """The record ending ``stage``'s When/Then part (its ``call`` phase), if written."""
    return lambda records: next((r for r in records if _is_stage(r, "stage.end", stage)
                                 and r.get("when") == "call"), None)


def _when_step_of(stage: tuple[str, int]) -> Callable[[list[dict]], dict | None]:
    """The first When step started after ``stage`` started, if written."""
    def found(records: list[dict]) -> dict | None:
        started = False
        for record in records:
            if _is_stage(record, "stage.start", stage):
                started = True
            elif started and record.get("kind") == "step.start" and str(
                    record.get("step", "")).startswith("When"):
                return record
        return None
    return found


def _stage_in_progress(records: list[dict]) -> str | None:
    """The last stage started and not ended, as the journal names it ("failover stage 3")."""
    open_stages = [r for r in records if r.get("kind") == "stage.start"]
    ended = {(r.get("phase"), r.get("stage")) for r in records if r.get("kind") == "stage.end"}
    left = [r for r in open_stages if (r.get("phase"), r.get("stage")) not in ended]
    return f"{left[-1]['phase']} stage {left[-1]['stage']}" if left else None


_state: dict[str, object] = {"attempt": 0, "killed_in": None}


@pytest.mark.parametrize("stage", STAGES, ids=[f"{p}-{n}" for p, n in STAGES])
def test_kill_in_stage_then_resume(stage: tuple[str, int], sim: SimUpProcess,
                                   record: Recorder) -> None:
    previous = _state["killed_in"]
    if STAGES.index(stage) and previous is None:
        pytest.skip("the previous kill row did not run")
    attempt = int(_state["attempt"]) + 1  # type: ignore[arg-type]
    journal = _journal(sim, attempt)
    if previous is not None:
        wait_until_lease_heartbeat_stale(sim.config, DRILL)
    record.start()
    process = _launch(sim, previous)  # type: ignore[arg-type]
    try:
        if previous is not None:
            ended = _wait(journal, process, _stage_end(previous))
            record.done(f"kill-{previous[0]}-{previous[1]}", f"resumed: {ended['outcome']}")
            assert ended["outcome"] == "passed", ended
        _wait(journal, process, _when_step_of(stage))
    finally:
        with contextlib.suppress(ProcessLookupError):  # ended first: its error is the news
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    records = _records(journal)
    assert records and records[-1]["kind"] != "drill.end"
    # What a kill leaves: a valid hash chain, no manifest (sealed late by the next attempt).
    assert not verify_chain(scan_journal(journal).records, "0" * 64 if attempt == 1 else
                            _records(_journal(sim, attempt - 1))[-1]["hash"])
    assert not (journal.parent / "manifest.json").exists()
    # The harness, not the runner, would be at fault here: the kill landed after the stage.
    assert _stage_in_progress(records) == f"{stage[0]} stage {stage[1]}", (
        "the SIGKILL landed outside the stage it was aimed at")
    _state.update(attempt=attempt, killed_in=stage)
    if previous is not None:
        resumed = next(r for r in records if r["kind"] == "drill.resumed")
        assert resumed["interrupted_in"] == f"{previous[0]} stage {previous[1]}"


def test_last_resume_finishes_the_drill(sim: SimUpProcess, record: Recorder) -> None:
    previous = _state["killed_in"]
    if previous != STAGES[-1]:
        pytest.skip("the kill rows did not all run")
    attempt = int(_state["attempt"]) + 1  # type: ignore[arg-type]
    wait_until_lease_heartbeat_stale(sim.config, DRILL)
    record.start()
    done = sim.maip_dr(["gameday", *FLAGS, "--drill-id", DRILL, "--resume-from",
                        "failback:4", *BREAK_LEASE], timeout=300)
    drill = sim.workdir / "reports" / DRILL
    summary_path = drill / f"attempt-{attempt}" / "summary.json"
    assert summary_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    stages = [s for s in summary["stages"] if s.get("phase") in ("failover", "failback")]
    functional = [r for r in summary["reasons"] if "RTO" not in r]
    record.done("kill-failback-4", "resumed: passed" if not functional else "failed")
    # The drill completes: every stage passed in some attempt, no check failed. Its verdict
    # may still be FAIL on RTO alone: kills, relaunches and time_scale 0.2 on a loaded machine
    # overrun the budgets (the budgets are judged, never relaxed).
    assert {(s["phase"], s["stage"]) for s in stages} == set(STAGES)
    assert all(s["outcome"] == "passed" for s in stages), stages
    assert not summary["failed_checks"] and not functional, summary["reasons"]
    assert done.returncode in (0, 1) and (done.returncode == 0) == (summary["verdict"] == "PASS")
    records = _records(_journal(sim, attempt))
    assert next(r for r in records if r["kind"] == "drill.resumed")["interrupted_in"] == (
        "failback stage 4")
    actions = [r["action"] for n in range(1, attempt + 1)
               for r in _records(_journal(sim, n)) if r.get("kind") == "action"]
    assert sum("promote_read_replica" in a for a in actions) <= 1, actions
    assert sum("StopDBInstance" in a for a in actions) <= 1, actions
    _evidence_across_attempts(sim, drill, attempt)


def _takeover_journalled(records: list[dict], killed: list[dict]) -> bool:
    """Whether an attempt's journal says how it took the killed attempt's lease: broken with
    the operator's reason, or (when the lease expired before the relaunch got to it, as on a
    loaded machine) acquired with the killed attempt's holder named as the expired one."""
    broken = [r for r in records if r["kind"] == "lease.broken"]
    if broken:
        return BREAK_LEASE[1] in json.dumps(broken)
    killed_holder = next(r["holder_id"] for r in killed if r["kind"] == "lease.acquired")
    acquired = next(r for r in records if r["kind"] == "lease.acquired")
    return (acquired.get("expired_holder") or {}).get("holder_id") == killed_holder


def _evidence_across_attempts(sim: SimUpProcess, drill: Path, attempts: int) -> None:
    """The drill's evidence as an auditor receives it: one hash chain across the attempts,
    every lease takeover journalled (broken with its reason, or taken once expired), the
    killed attempts sealed late, and ``maip-dr verify`` finding nothing wrong (unverified: no
    key here) until one byte of a journal changes (tampered)."""
    for number in range(2, attempts + 1):
        records = _records(_journal(sim, number))
        assert records[0]["prev"] == _records(_journal(sim, number - 1))[-1]["hash"], number
        assert _takeover_journalled(records, _records(_journal(sim, number - 1))), number
    assert all((drill / f"attempt-{n}" / "manifest.json").is_file()
               for n in range(1, attempts + 1))
    assert "late" in json.dumps(json.loads((drill / "attempt-1" / "manifest.json").read_text()))
    verify = sim.maip_dr(["verify", str(drill)])
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert verify.stdout.splitlines()[-1].startswith("verdict: unverified"), verify.stdout
    evidence = _journal(sim, 1)
    original = evidence.read_bytes()
    evidence.write_bytes(original[:-2] + bytes([original[-2] ^ 1]) + original[-1:])
    try:
        tampered = sim.maip_dr(["verify", str(drill)])
        assert tampered.returncode == 1
        assert "journal.jsonl" in tampered.stdout and "verdict: tampered" in tampered.stdout
    finally:
        evidence.write_bytes(original)
