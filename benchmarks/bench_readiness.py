"""Benchmarks 1 and 2: the runbook by hand versus ``maip-dr readiness`` (whole process and
in-process), and the in-process checks versus the sum of their API round trips.

One ``maip-dr sim up`` process serves every side. Each repeat runs the sides one after the
other, alternating their order, so each ratio compares runs made side by side. A fifth side is
the floor of any Python tool built on the same libraries: a bare ``python -c "import boto3,
kubernetes.client, pytest, pytest_bdd"``; the goal holds the whole ``maip-dr readiness``
process within ``GOAL_OVER_IMPORT`` times it.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks.awscli import find_or_make_aws_cli
from benchmarks.procs import SimProcess, Worker, clean_env
from benchmarks.stats import ratios, summary

SCRIPT = Path(__file__).resolve().parent / "runbook_by_hand.sh"
GOAL_WHOLE = 5.0
GOAL_IN_PROCESS = 30.0
GOAL_LIMIT = 2.0
GOAL_OVER_IMPORT = 1.6  # maip-dr readiness, whole process, over the bare import below
BARE_IMPORT = "import boto3, kubernetes.client, pytest, pytest_bdd"


def run(workdir: Path, repeats: int, progress: Any) -> dict[str, Any]:
    aws, aws_source = find_or_make_aws_cli(progress)
    kubectl = shutil.which("kubectl")
    notes: list[str] = []
    extra_path = [aws.parent] if aws else []
    env = clean_env(extra_path)
    if kubectl is None:
        env["MAIP_BENCH_NO_KUBECTL"] = "1"
        notes.append("kubectl not on PATH: the by-hand side leaves its kubectl commands out")
    if aws is None:
        notes.append(f"no AWS CLI ({aws_source}): the by-hand side is not measured")
    progress("  starting maip-dr sim up ...")
    result: dict[str, Any] = {"aws_cli": aws_source, "kubectl": bool(kubectl), "notes": notes}
    with SimProcess.sim_up(workdir / "sim", env) as sim:
        result["sim_up_ready_s"] = sim.ready_s
        with Worker(sim.config, env, sim.workdir) as worker:
            worker.ask("readiness")  # warm: clients built, connections open
            by_hand: list[float] = []
            whole: list[float] = []
            in_process: list[float] = []
            replay: list[float] = []
            bare_import: list[float] = []
            script = SCRIPT.read_text()
            last: dict[str, Any] = {}
            for index in range(repeats):
                sides = ["hand", "cli", "inproc", "replay", "import"]
                if index % 2:
                    sides.reverse()
                for side in sides:
                    if side == "hand" and aws is not None:
                        seconds, done = sim.bash(script)
                        found = re.search(r"commands=(\d+) failed=(\d+)", done.stdout)
                        last["by_hand"] = {"commands": int(found[1]) if found else None,
                                           "failed": int(found[2]) if found else None,
                                           "stderr": done.stderr[-800:]}
                        by_hand.append(seconds)
                    elif side == "cli":
                        seconds, done = sim.maip_dr(["readiness"])
                        last["cli_exit"] = done.returncode
                        if done.returncode != 0:
                            notes.append(f"maip-dr readiness exited {done.returncode}: "
                                         f"{done.stdout[-400:]}")
                        whole.append(seconds)
                    elif side == "inproc":
                        answer = worker.ask("readiness")
                        last["in_process"] = answer
                        in_process.append(answer["elapsed_s"])
                    elif side == "import":
                        seconds, done = sim.bash(f"{sys.executable} -c '{BARE_IMPORT}'")
                        bare_import.append(seconds)
                    elif side == "replay":
                        answer = worker.ask("replay")
                        last["replay"] = answer
                        replay.append(answer["sum_s"])
                progress(f"  repeat {index + 1}/{repeats}: by hand "
                         f"{by_hand[-1] if by_hand else float('nan'):.2f}s, maip-dr readiness "
                         f"{whole[-1]:.2f}s, in-process {in_process[-1]:.3f}s, round-trip sum "
                         f"{replay[-1]:.3f}s")
            memory = worker.ask("memory")
    result.update({
        "by_hand_s": summary(by_hand), "whole_process_s": summary(whole),
        "in_process_s": summary(in_process), "round_trip_sum_s": summary(replay),
        "ratio_whole": ratios(by_hand, whole), "ratio_in_process": ratios(by_hand, in_process),
        "ratio_limit": ratios(in_process, replay), "last": last, "memory": memory,
        "bare_import_s": summary(bare_import), "ratio_over_import": ratios(whole, bare_import),
    })
    result["verdicts"] = {
        "preflight_whole_process": _verdict(result["ratio_whole"], GOAL_WHOLE, at_least=True),
        "preflight_in_process": _verdict(result["ratio_in_process"], GOAL_IN_PROCESS,
                                         at_least=True),
        "limit": _verdict(result["ratio_limit"], GOAL_LIMIT, at_least=False),
        "over_import": _verdict(result["ratio_over_import"], GOAL_OVER_IMPORT, at_least=False),
    }
    return result


def _verdict(stats: dict[str, Any], goal: float, *, at_least: bool) -> str:
    if not stats.get("n"):
        return "not measured"
    met = stats["median"] >= goal if at_least else stats["median"] <= goal
    return "met" if met else "not met"
