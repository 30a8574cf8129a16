"""Benchmark 4: waiting efficiency of one embedded game day, and detection latency of waits.

The game day (``maip-dr gameday``, default settings) runs once with a hook on PYTHONPATH that
logs every declared wait and soak (``gameday_hook/sitecustomize.py``). Overhead is the drill's
wall time not spent waiting for the simulation (waits and soaks: the scripted delays plus
detection); detection is bounded, per wait, by the gap between its last two observations.
A side benchmark flips a flag at a random time and measures when ``wait_for`` with the drill's
simulation poll policy notices it (observation cost included), repeated.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchmarks.procs import BIN_DIR, REPO, clean_env
from benchmarks.stats import summary

HOOK = Path(__file__).resolve().parent / "gameday_hook"
GOAL_OVERHEAD = 0.15
GOAL_OUTSIDE_STAGES_S = 8.0  # the embedded game day's wall time outside every stage
GOAL_DETECTION_S = 1.0


def _merged(intervals: list[tuple[float, float]]) -> float:
    """Total length of the union of intervals (concurrent waits are counted once)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def gameday(workdir: Path, progress: Any) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "waits.jsonl"
    log.unlink(missing_ok=True)
    env = clean_env()
    env["PYTHONPATH"] = f"{HOOK}:{env['PYTHONPATH']}"
    env["MAIP_BENCH_WAITS_LOG"] = str(log)
    progress("  running maip-dr gameday once (about 90 s) ...")
    started = time.time()
    done = subprocess.run([str(BIN_DIR / "maip-dr"), "gameday", "--reports",
                           str(workdir / "reports")], capture_output=True, text=True, env=env,
                          cwd=workdir, timeout=900, check=False)
    wall = time.time() - started
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    waits = [r for r in records if r["kind"] == "wait"]
    soaks = [r for r in records if r["kind"] == "soak"]
    waiting = _merged([(r["start"], r["start"] + r["seconds"]) for r in waits + soaks])
    gaps = []
    for record in waits:
        polls = record["polls"]
        if len(polls) >= 2 and record["outcome"] == "ok":
            gaps.append({"what": record["what"][:100], "polls": len(polls),
                         "seconds": round(record["seconds"], 3),
                         "last_gap_s": round(polls[-1] - polls[-2], 3)})
    journals = sorted((workdir / "reports").glob("*/attempt-*/journal.jsonl"))
    stages = []
    if journals:
        for line in journals[-1].read_text().splitlines():
            record = json.loads(line)
            if record.get("kind") == "stage.end":
                stages.append({"phase": record.get("phase"), "scenario": record.get("scenario"),
                               "seconds": record.get("duration_s")})
    in_stages = sum(s["seconds"] or 0 for s in stages)
    overhead = wall - waiting
    split = _phase_split(journals[-1], started, started + wall) if journals else {}
    result = {
        "exit_code": done.returncode, "wall_s": wall, "waiting_s": waiting,
        "waits": len(waits), "soaks": len(soaks),
        "soak_s": sum(r["seconds"] for r in soaks),
        "overhead_s": overhead, "overhead_fraction": overhead / wall if wall else None,
        "in_stages_s": in_stages, "outside_stages_s": wall - in_stages,
        "stages": stages, "wait_gaps": sorted(gaps, key=lambda g: -g["last_gap_s"])[:8],
        "max_last_gap_s": max((g["last_gap_s"] for g in gaps), default=None),
        "poll_settings": sorted({(r["poll_initial_s"], r["poll_max_s"]) for r in waits}),
        "tail": done.stdout[-600:] if done.returncode else "",
        "outside_split": split,
    }
    return result


def _phase_split(journal: Path, started: float, ended: float) -> dict[str, Any]:
    """Where the time outside the stages goes, from the journal of the game day's one pytest
    session: before its first phase (CLI start, the embedded simulation's start, the
    session's start and collection), each phase's start (``phase.start`` to its first
    ``stage.start``: fixtures, the phase's Given steps) and end (its last ``stage.end`` to
    ``phase.end``: teardown, results, Allure files), between phases (go / no-go, canaries,
    the outage, the hold, the restore) and after the last phase (the session's end, summary,
    timeline, manifest, the simulation stopping)."""
    from datetime import datetime

    records = [json.loads(line) for line in journal.read_text().splitlines()]

    def at(record: dict[str, Any]) -> float:
        return datetime.fromisoformat(str(record["at"]).replace("Z", "+00:00")).timestamp()

    phases: list[dict[str, Any]] = []
    for record in records:
        kind = record.get("kind")
        if kind == "phase.start":
            phases.append({"name": record.get("phase"), "start": at(record), "stages": []})
        elif kind in ("stage.start", "stage.end") and phases:
            phases[-1]["stages"].append((kind, at(record)))
        elif kind == "phase.end" and phases:
            phases[-1]["end"] = at(record)
    phases = [p for p in phases if "end" in p]
    if not phases:
        return {}
    started_canaries = [at(r) for r in records
                        if r.get("kind") == "canary" and r.get("event") == "started"]
    stopped_canaries = [at(r) for r in records
                        if r.get("kind") == "canary" and r.get("event") == "stopped"]
    outages = [at(r) for r in records if r.get("kind") == "fault" and r.get("action") == "outage"]
    canaries: dict[str, float] = {}
    if started_canaries and outages:  # the window before the outage, by design
        canaries["canary_window_s"] = round(outages[0] - min(started_canaries), 3)
    if stopped_canaries and outages:  # the writers noticing the outage (their write timeout)
        canaries["canaries_stop_s"] = round(max(stopped_canaries) - outages[0], 3)
    startups, ends, gaps = [], [], []
    for index, phase in enumerate(phases):
        starts = [t for kind, t in phase["stages"] if kind == "stage.start"]
        finishes = [t for kind, t in phase["stages"] if kind == "stage.end"]
        if starts and finishes:
            startups.append(min(starts) - phase["start"])
            ends.append(phase["end"] - max(finishes))
        if index:
            gaps.append(phase["start"] - phases[index - 1]["end"])
    return {"phases": [p["name"] for p in phases],
            "before_first_phase_s": round(phases[0]["start"] - started, 3),
            "phase_startups_s": [round(x, 3) for x in startups],
            "phase_ends_s": [round(x, 3) for x in ends],
            "between_phases_s": [round(x, 3) for x in gaps],
            "after_last_phase_s": round(ended - phases[-1]["end"], 3), **canaries}


def detection(trials: int, progress: Any, observe_s: float = 0.02) -> dict[str, Any]:
    """``wait_for`` with the drill's simulation poll policy against a flag set at random."""
    from maip_drlib.drill.context import PollPolicy
    from maip_drlib.waits import WaitSpec, wait_for

    # The drill's own choice for a simulated and for a live target.
    sim_policy = PollPolicy.for_target(SimpleNamespace(simulated=True))  # type: ignore[arg-type]
    live = PollPolicy.for_target(SimpleNamespace(simulated=False))  # type: ignore[arg-type]
    rng = random.Random(7)
    latencies = []
    for _ in range(trials):
        flag = threading.Event()
        flipped: list[float] = []
        delay = rng.uniform(0.3, 2.5)

        def flip(delay: float = delay, flag: threading.Event = flag,
                 flipped: list[float] = flipped) -> None:
            time.sleep(delay)
            flipped.append(time.monotonic())
            flag.set()

        def observe(flag: threading.Event = flag) -> bool:
            time.sleep(observe_s)  # a simulated round trip
            return flag.is_set()

        thread = threading.Thread(target=flip, daemon=True)
        thread.start()
        spec = WaitSpec("flag set", deadline_s=30, poll_initial_s=sim_policy.initial_s,
                        poll_max_s=sim_policy.max_s)
        wait_for(spec, observe, success=bool)
        noticed = time.monotonic()
        thread.join(5)
        latencies.append(noticed - flipped[0])
    progress(f"  detection: median {sorted(latencies)[len(latencies) // 2]:.3f}s, "
             f"max {max(latencies):.3f}s over {trials} flips")
    return {"trials": trials, "observe_s": observe_s,
            "sim_policy": {"initial_s": sim_policy.initial_s, "max_s": sim_policy.max_s},
            "live_policy": {"initial_s": live.initial_s, "max_s": live.max_s},
            "latency_s": summary(latencies)}


def run(workdir: Path, repeats: int, progress: Any, *, with_gameday: bool) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    result: dict[str, Any] = {"detection": detection(max(5, 4 * repeats), progress)}
    if with_gameday:
        result["gameday"] = gameday(workdir / "gameday", progress)
    verdicts = {"detection": "met" if result["detection"]["latency_s"]["max"]
                <= GOAL_DETECTION_S else "not met"}
    if with_gameday:
        game = result["gameday"]
        verdicts["overhead"] = ("met" if game["overhead_fraction"] is not None
                                and game["overhead_fraction"] < GOAL_OVERHEAD else "not met")
        verdicts["outside_stages"] = ("met" if game["outside_stages_s"]
                                      <= GOAL_OUTSIDE_STAGES_S else "not met")
        if game["max_last_gap_s"] is not None:
            verdicts["gameday_detection"] = ("met" if game["max_last_gap_s"]
                                             <= GOAL_DETECTION_S else "not met")
    result["verdicts"] = verdicts
    return result
