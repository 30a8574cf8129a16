"""Benchmark 3: start-up. Import and collection of the readiness scenarios (a fresh
``python -m pytest --collect-only -m readiness``, as ``maip-dr readiness`` runs it), the
interpreter floor beside it, the heaviest imports (``-X importtime``), and the embedded
simulation coming up (``startup_probe``), without and with its data plane (PostgreSQL writer
and standby, DNS server: what the game day starts by default), each in fresh processes,
alternating. The simulation restores its seeded snapshot (``sim/aws/seed_snapshot``: a cache
folder of the benchmark's own, filled by one start before the repeats), as every start but a
user's very first does; the start that seeds through HTTP (snapshots off) is measured beside it.

Python's bytecode cache is on, as in a user's environment (``procs.clean_env``); one
collection before the repeats fills it and is reported apart ("first run after a change of
the code"). Beside wall time, the CPU seconds of each collection (the child's user + system
time) and of the simulation's start are recorded: on a shared machine they move less than the
wall time.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.procs import REPO, Timed, clean_env
from benchmarks.stats import summary
from maip_drlib.sim.aws.snapshot_store import SNAPSHOTS_ENV

GOAL_COLLECT_S = 1.2
GOAL_SIM_READY_S = 2.0
GOAL_SIM_READY_DATA_PLANE_S = 2.5  # the same start with PostgreSQL and DNS (the game day's)


def _collect_command() -> list[str]:
    """What ``maip-dr readiness`` runs in its process (pytest_dr/session_run.py), collecting
    only, as a pytest process of its own."""
    results = Path(tempfile.gettempdir()) / "maip-bench-collect-results.json"
    from maip_drlib.pytest_dr.session_run import FAST_START

    return [sys.executable, "-m", "pytest", str(REPO / "steps"), "--rootdir", str(REPO),
            *FAST_START, "-m", "readiness", "--collect-only", "-q", "--no-header",
            "--dr-results", str(results)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict[str, str], cpu: list[float] | None = None) -> Timed:
    started, cpu_started = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300, check=False)
    if cpu is not None:
        cpu.append(_children_cpu() - cpu_started)
    return time.perf_counter() - started, done


def _probe(args: list[str], env: dict[str, str], failures: list[str]) -> dict[str, float]:
    """One simulation start in a fresh process; a start that fails under load is noted and
    retried once."""
    for _attempt in range(2):
        _, done = _timed([sys.executable, "-m", "benchmarks.startup_probe", *args], env)
        if done.returncode == 0:
            return json.loads(done.stdout.strip().splitlines()[-1])
        failures.append(done.stderr.strip().splitlines()[-1][:300]
                        if done.stderr.strip() else f"exit {done.returncode}")
    raise RuntimeError(f"simulation start failed twice: {failures[-2:]}")


def import_profile(env: dict[str, str], top: int = 12) -> list[dict[str, Any]]:
    """Import time of the collection run by top-level package: the sum of each module's own
    (self) time, so nothing is counted twice whoever imported it."""
    # -s: pytest's capture would swallow what -X importtime writes during collection
    done = subprocess.run([sys.executable, "-X", "importtime", *_collect_command()[1:], "-s"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
                          check=False)
    totals: dict[str, int] = defaultdict(int)
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if found:
            totals[found[2].split(".")[0]] += int(found[1])
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": name, "self_s": round(us / 1e6, 3)} for name, us in ranked]


def run(repeats: int, progress: Any) -> dict[str, Any]:
    cache = tempfile.TemporaryDirectory(prefix="maip-bench-cache-")
    env = {**clean_env(), "XDG_CACHE_HOME": cache.name}
    seeding_env = {**env, SNAPSHOTS_ENV: "off"}
    try:
        return _run(repeats, progress, env, seeding_env)
    finally:
        cache.cleanup()


def _run(repeats: int, progress: Any, env: dict[str, str],
         seeding_env: dict[str, str]) -> dict[str, Any]:
    floor: list[float] = []
    collect: list[float] = []
    collect_cpu: list[float] = []
    sim: list[dict[str, float]] = []
    sim_data_plane: list[dict[str, float]] = []
    sim_seeding: list[dict[str, float]] = []
    collected = None
    failures: list[str] = []
    first_run = _timed(_collect_command(), env)[0]  # fills the bytecode cache
    _probe([], env, failures)  # writes the seeded snapshot the other starts restore
    for index in range(repeats):
        sides = ["floor", "collect", "sim", "sim-data-plane", "sim-seeding"]
        if index % 2:
            sides.reverse()
        for side in sides:
            if side == "floor":
                floor.append(_timed([sys.executable, "-c", "import pytest"], env)[0])
            elif side == "collect":
                seconds, done = _timed(_collect_command(), env, collect_cpu)
                collect.append(seconds)
                found = re.search(r"(\d+)/\d+ tests collected|(\d+) tests? collected",
                                  done.stdout)
                collected = found.group(0) if found else done.stdout.strip()[-200:]
            elif side == "sim":
                sim.append(_probe([], env, failures))
            elif side == "sim-seeding":
                sim_seeding.append(_probe([], seeding_env, failures))
            else:
                sim_data_plane.append(_probe(["--data-plane"], env, failures))
        progress(f"  repeat {index + 1}/{repeats}: python+pytest import {floor[-1]:.2f}s, "
                 f"import and collect {collect[-1]:.2f}s, simulation ready "
                 f"{sim[-1]['ready_s']:.2f}s (restore {sim[-1]['seed_s']:.2f}s), with the "
                 f"data plane {sim_data_plane[-1]['ready_s']:.2f}s, seeding instead "
                 f"{sim_seeding[-1]['ready_s']:.2f}s (seed {sim_seeding[-1]['seed_s']:.2f}s)")
    result = {
        "python_and_pytest_import_s": summary(floor),
        "import_and_collect_s": summary(collect),
        "import_and_collect_cpu_s": summary(collect_cpu),
        "import_and_collect_first_run_s": first_run,
        "collected": collected,
        "sim": {key: summary([s[key] for s in sim]) for key in sim[0]},
        "sim_data_plane": {key: summary([s[key] for s in sim_data_plane])
                           for key in sim_data_plane[0]},
        "sim_seeding": {key: summary([s[key] for s in sim_seeding]) for key in sim_seeding[0]},
        "import_profile": import_profile(env),
        "sim_start_failures": failures,
    }
    result["postgres_adds_s"] = (result["sim_data_plane"]["ready_s"]["median"]
                                 - result["sim"]["ready_s"]["median"])
    result["verdicts"] = {
        "import_and_collect": "met" if result["import_and_collect_s"]["median"]
        <= GOAL_COLLECT_S else "not met",
        "sim_ready": "met" if result["sim"]["ready_s"]["median"] <= GOAL_SIM_READY_S
        else "not met",
        "sim_ready_data_plane": "met" if result["sim_data_plane"]["ready_s"]["median"]
        <= GOAL_SIM_READY_DATA_PLANE_S else "not met",
    }
    return result
