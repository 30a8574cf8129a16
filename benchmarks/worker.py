"""A measuring process: the library in-process against a running simulation, driven by stdin.

``python -m benchmarks.worker --config c.toml [--target sim]`` builds the region handles once,
installs the call recorder, prints ``ready`` and then answers one JSON line per command line:

- ``readiness``: ``run_readiness`` once (warm); wall time, outcomes and API calls.
- ``replay``: every distinct request of the last readiness run once, one after the other.
- ``memory``: one readiness run under tracemalloc (peak bytes) plus the process's max RSS.
- ``scale REPLICAS``: the suite's stage 4 scaling calls (list, concurrent scale PATCHes) on the
  DR region, without the wait; ``scale-wait REPLICAS`` the same and the wait until ready. The
  handles' write gate has consent (the benchmark's own simulation) and is open only here.
- ``quit``.

Not supported: targets other than a simulation (it is a benchmark, never pointed at production).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.recorder import Recorder, counts, replay_distinct


def _results_summary(results: list[Any]) -> dict[str, Any]:
    return {"checks": len(results), "passed": sum(r.passed and r.checked for r in results),
            "not_checked": sum(not r.checked for r in results),
            "failed": [f"{r.name} ({r.region}): {r.detail}"[:300] for r in results
                       if not r.passed]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--target", default=None)
    args = parser.parse_args(argv)

    recorder = Recorder()
    recorder.install()
    from maip_drlib.actions.kube import scale_all_deployments, scale_deployments
    from maip_drlib.config_loader import load_config
    from maip_drlib.readiness import ReadinessInputs, Thresholds, run_readiness
    from maip_drlib.regions import build_region_handles
    from maip_drlib.resolvers import SimulationResolver
    from maip_drlib.write_gate import WriteGate

    config = load_config(args.config)
    target = config.target(args.target)
    if not target.simulated:
        print(json.dumps({"error": "the benchmark worker only runs against a simulation"}))
        return 2
    topology = config.topology
    # Consent for the benchmark's own simulation, open only while a scale command runs:
    # readiness never writes.
    gate = WriteGate.consented(target=target.name)
    gate.enter("readiness", may_write=False, because="readiness never writes")
    handles = build_region_handles(target, topology, writes=gate)
    inputs = ReadinessInputs(handles, topology, target,
                             SimulationResolver(target.control_url or ""),
                             Thresholds.from_gherkin())
    last_calls: list[Any] = []
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        command, rest = words[0], words[1:]
        answer: dict[str, Any]
        if command == "quit":
            break
        if command == "readiness":
            recorder.reset()
            started = time.perf_counter()
            results = run_readiness(inputs)
            elapsed = time.perf_counter() - started
            last_calls = recorder.reset()
            answer = {"elapsed_s": elapsed, "results": _results_summary(results),
                      "calls": counts(last_calls),
                      "slowest_checks": sorted(((r.elapsed_s, f"{r.name} ({r.region})")
                                                for r in results), reverse=True)[:5]}
        elif command == "replay":
            recorder.enabled = False
            total, per = replay_distinct(last_calls)
            recorder.enabled = True
            answer = {"sum_s": total, "requests": len(per), "per_request_s": per}
        elif command == "memory":
            recorder.enabled = False
            tracemalloc.start()
            started = time.perf_counter()
            results = run_readiness(inputs)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            recorder.enabled = True
            answer = {"elapsed_s": elapsed, "tracemalloc_peak_bytes": peak,
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "results": _results_summary(results)}
        elif command in ("scale", "scale-wait"):
            replicas = int(rest[0])
            handle, namespace = handles.secondary, topology.namespace
            recorder.reset()
            gate.enter(command, may_write=True)
            tracemalloc.start()
            started = time.perf_counter()
            if command == "scale":
                scaled = scale_deployments(handle, namespace, replicas)
                waited = None
            else:
                outcome = scale_all_deployments(handle, namespace, replicas, poll_max_s=0.5)
                scaled = len(outcome.value.deployments)
                waited = {"elapsed_s": outcome.elapsed_s, "polls": outcome.polls}
            elapsed = time.perf_counter() - started
            gate.enter("readiness", may_write=False, because="readiness never writes")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            answer = {"elapsed_s": elapsed, "deployments": scaled, "wait": waited,
                      "calls": counts(recorder.reset()), "tracemalloc_peak_bytes": peak}
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    handles.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
