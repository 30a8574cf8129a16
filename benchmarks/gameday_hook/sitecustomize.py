"""Benchmark hook (only on PYTHONPATH of a benchmarked game day): logs every declared wait.

When ``MAIP_BENCH_WAITS_LOG`` names a file, ``maip_drlib.waits.wait_for`` and
``maip_drlib.drill.traffic.soak`` are wrapped before anything imports them; each call appends
one JSON line: what it waited for, start, seconds, and the start time of every observation (the
gap between the last two bounds the detection latency). Each process that loads the hook (the
``maip-dr`` process and one pytest process per phase) also logs when it started and ended, so
the time outside the stages can be split into start-ups and ends. Nothing else changes.
"""

from __future__ import annotations

import os

_LOG = os.environ.get("MAIP_BENCH_WAITS_LOG")


def _install(path: str) -> None:
    import json
    import threading
    import time

    from maip_drlib import waits

    lock = threading.Lock()

    def write(record: dict) -> None:
        with lock, open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")

    original = waits.wait_for

    def wait_for(spec, observe, **kwargs):  # type: ignore[no-untyped-def]
        polls: list[float] = []

        def observed():  # type: ignore[no-untyped-def]
            polls.append(time.time())
            return observe()

        started = time.time()
        outcome = "ok"
        try:
            return original(spec, observed, **kwargs)
        except BaseException as error:
            outcome = type(error).__name__
            raise
        finally:
            write({"kind": "wait", "what": spec.description, "start": started,
                   "seconds": time.time() - started, "polls": polls, "outcome": outcome,
                   "poll_initial_s": spec.poll_initial_s, "poll_max_s": spec.poll_max_s,
                   "pid": os.getpid()})

    waits.wait_for = wait_for

    from maip_drlib.drill import traffic

    soak = traffic.soak

    def timed_soak(ctx, albs, limits, soak_s, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.time()
        try:
            return soak(ctx, albs, limits, soak_s, *args, **kwargs)
        finally:
            write({"kind": "soak", "what": f"soak {soak_s:g}s", "start": started,
                   "seconds": time.time() - started, "soak_s": soak_s, "pid": os.getpid()})

    traffic.soak = timed_soak


def _log_process(path: str) -> None:
    import atexit
    import json
    import sys
    import time

    def write(kind: str) -> None:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"kind": kind, "pid": os.getpid(), "at": time.time(),
                                  "argv": sys.argv[:3]}) + "\n")

    write("process.start")
    atexit.register(write, "process.end")


if _LOG:
    _log_process(_LOG)
    _install(_LOG)
