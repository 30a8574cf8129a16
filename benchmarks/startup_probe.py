"""Run in a fresh process by the start-up benchmark: times the embedded simulation coming up.

Prints one JSON line: import of the simulation module, moto up plus first calls (everything
before seeding), seeding, the rest (Kubernetes servers, endpoints, metrics, control), total;
and the CPU seconds of the import, the seeding and the whole start (all threads).
With ``--data-plane`` the simulation also starts its PostgreSQL writer and standby (in a
thread, beside moto) and its DNS server: the line adds how long the start waited for the
servers (their cost on the critical path) and the servers' own timings (initdb, base backup,
start). Not supported: settings other than the default and the data plane.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    started = time.perf_counter()
    cpu_started = time.process_time()
    from maip_drlib.sim import simulation

    imported = time.perf_counter()
    marks: dict[str, float] = {}
    seed = simulation.seeded_topology

    def timed_seed(*args, **kwargs):  # type: ignore[no-untyped-def]
        marks["seed_start"] = time.perf_counter()
        marks["seed_cpu_start"] = time.process_time()
        try:
            return seed(*args, **kwargs)
        finally:
            marks["seed_end"] = time.perf_counter()
            marks["seed_cpu_end"] = time.process_time()

    simulation.seeded_topology = timed_seed  # type: ignore[assignment]
    data_plane = "--data-plane" in sys.argv[1:]
    if data_plane:
        from maip_drlib.sim.data_plane import DataPlane

        wait = DataPlane.wait_servers

        def timed_wait(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            begun = time.perf_counter()
            try:
                return wait(self, *args, **kwargs)
            finally:
                marks["postgres_wait_s"] = time.perf_counter() - begun

        DataPlane.wait_servers = timed_wait  # type: ignore[method-assign]
    sim = simulation.Simulation(settings=simulation.SimSettings(data_plane=data_plane))
    begin, cpu_begin = time.perf_counter(), time.process_time()
    sim.start()
    ready, cpu_ready = time.perf_counter(), time.process_time()
    servers = _server_timings(sim) if data_plane else {}
    sim.stop()
    print(json.dumps({**servers,
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
        **({"postgres_wait_s": marks.get("postgres_wait_s", 0.0)} if data_plane else {}),
    }))
    return 0


def _server_timings(sim: object) -> dict[str, float]:
    """How long the start waited for PostgreSQL, and the servers' own steps (seconds)."""
    plane = getattr(sim, "data_plane", None)
    fleet = getattr(plane, "fleet", None)
    timings: dict[str, float] = dict(getattr(fleet, "timings", {}) or {})
    steps = {"postgres_binaries_s": timings.get("binaries", 0.0)}
    for step in ("initdb", "base backup", "start"):
        steps[f"postgres_{step.replace(' ', '_')}_s"] = sum(
            seconds for name, seconds in timings.items() if name.endswith(f" {step}"))
    return steps


if __name__ == "__main__":
    raise SystemExit(main())
