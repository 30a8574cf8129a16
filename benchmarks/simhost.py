"""A simulation process for the scale benchmark: ``maip-dr sim up`` with N deployments.

``python -m benchmarks.simhost --dir D --services N`` starts ``Simulation`` with N deployment
names (``svc-0001`` ...) and nodes in proportion (30 pods per node, room for two replicas of
each in DR), writes ``D/e.sh`` and ``D/c.toml`` like ``sim up``, prints ``ready`` and runs until
its standard input closes or it gets SIGTERM. Simulated, loopback only.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

PODS_PER_NODE = 30


def scaled_topology(services: int):
    from maip_drlib.config import ScalingConfig, Topology

    base = Topology()
    primary_nodes = max(base.primary.standby_scaling.desired_size,
                        math.ceil(services / PODS_PER_NODE) + 1)
    dr_nodes = max(base.secondary.standby_scaling.desired_size,
                   math.ceil(2 * services / PODS_PER_NODE) + 1)

    def scaling(nodes: int, current: ScalingConfig) -> ScalingConfig:
        return ScalingConfig(min_size=min(current.min_size, nodes),
                             max_size=max(current.max_size, nodes), desired_size=nodes)

    return replace(
        base,
        primary=replace(base.primary,
                        standby_scaling=scaling(primary_nodes, base.primary.standby_scaling)),
        secondary=replace(base.secondary,
                          standby_scaling=scaling(dr_nodes, base.secondary.standby_scaling)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simhost")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--services", type=int, required=True)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.services < 1:
        print("python -m benchmarks.simhost: --services must be >= 1", file=sys.stderr)
        return 2
    from maip_drlib.sim.simulation import SimSettings, Simulation

    names = tuple(f"svc-{index:04d}" for index in range(1, args.services + 1))
    # One replica per deployment in both regions (pods in proportion to deployments).
    settings = SimSettings(time_scale=args.time_scale, services=names, primary_replicas=1,
                           standby_replicas=1)
    args.dir = args.dir.resolve()
    (args.dir / "state").mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Simulation(scaled_topology(args.services), settings=settings,
                    state_dir=args.dir / "state") as simulation:
        simulation.write_env_file(args.dir / "e.sh")
        simulation.write_config(args.dir / "c.toml")
        print("ready", flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
