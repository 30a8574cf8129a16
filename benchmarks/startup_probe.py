"""Run in a fresh process by the start-up benchmark: times the embedded simulation coming up.

Prints one JSON line: import of the simulation module, moto up plus first calls (everything
before seeding), seeding, the rest (Kubernetes servers, endpoints, metrics, control), total;
and the CPU seconds of the import, the seeding and the whole start (all threads).
Not supported: anything but the default settings.
"""

from __future__ import annotations

import json
import time


def main() -> int:
    started = time.perf_counter()
    cpu_started = time.process_time()
    from maip_drlib.sim import simulation

    imported = time.perf_counter()
    marks: dict[str, float] = {}
    seed = simulation.seed_topology

    def timed_seed(*args, **kwargs):  # type: ignore[no-untyped-def]
        marks["seed_start"] = time.perf_counter()
        marks["seed_cpu_start"] = time.process_time()
        try:
            return seed(*args, **kwargs)
        finally:
            marks["seed_end"] = time.perf_counter()
            marks["seed_cpu_end"] = time.process_time()

    simulation.seed_topology = timed_seed  # type: ignore[assignment]
    sim = simulation.Simulation()
    begin, cpu_begin = time.perf_counter(), time.process_time()
    sim.start()
    ready, cpu_ready = time.perf_counter(), time.process_time()
    sim.stop()
    print(json.dumps({
        "import_s": imported - started,
        "before_seed_s": marks["seed_start"] - begin,
        "seed_s": marks["seed_end"] - marks["seed_start"],
        "after_seed_s": ready - marks["seed_end"],
        "ready_s": ready - begin,
        "ready_excluding_seed_s": (ready - begin) - (marks["seed_end"] - marks["seed_start"]),
        # CPU seconds of this process (all threads): less sensitive to other work on the host
        "import_cpu_s": cpu_begin - cpu_started,
        "seed_cpu_s": marks["seed_cpu_end"] - marks["seed_cpu_start"],
        "ready_cpu_s": cpu_ready - cpu_begin,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
