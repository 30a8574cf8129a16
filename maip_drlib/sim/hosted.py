"""The embedded simulation in a process of its own, for a game day (``maip-dr gameday`` with
no config).

A game day's pytest session runs in the ``maip-dr`` process. Its simulation runs beside it, in
a child process started here (``multiprocessing``, spawn), as a ``sim up`` process would: the
drill reaches it over loopback HTTP only, as it reaches production. So the simulated platform
never shares the drill's interpreter lock (its answers, timers and replication keep their own
pace while a stage works, and the stages' timings are not the simulation's), and options of
the drill's session (``--log-level``, pytest's log capture) never reach the simulation's own
loggers.

The child ignores Ctrl-C (a terminal sends it to the whole process group): the drill stops
first and records where, then ends the child by closing the pipe (or by ``stop``); a child
whose parent died sees the pipe close and stops too. Waits are bounded: ``READY_TIMEOUT_S`` for
the start, ``STOP_TIMEOUT_S`` for the stop (then SIGTERM, then SIGKILL).

Not supported: a hosted simulation shared by two commands (each command starts its own);
platforms without the ``spawn`` start method's pickling of the topology (all CPython ones
have it).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from maip_drlib.config import Target, Topology
from maip_drlib.errors import Unreachable

if TYPE_CHECKING:
    from maip_drlib.sim.simulation import SimSettings

READY_TIMEOUT_S = 180.0  # a first start seeds through HTTP and may run initdb on a slow disk
STOP_TIMEOUT_S = 30.0


def serve(topology: Topology, time_scale: float | None, settings: SimSettings | None,
          name: str, kind: str, connection: Connection) -> None:
    """The child: start the simulation, send (``ready``, target, config text), and keep it up
    until the parent says ``stop`` or goes away."""
    from maip_drlib.sim.config_out import render_sim_config
    from maip_drlib.sim.simulation import Simulation

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with Simulation(topology, time_scale=time_scale, settings=settings) as simulation:
            hosted = simulation.target(name, kind)
            connection.send(("ready", hosted, render_sim_config(hosted, topology)))
            with contextlib.suppress(EOFError, OSError):
                connection.recv()
    except Exception as error:  # the parent says it in one line
        with contextlib.suppress(OSError):
            connection.send(("failed", f"{type(error).__name__}: {error}"))
        raise SystemExit(1) from None


@contextlib.contextmanager
def hosted_simulation(topology: Topology, *, time_scale: float | None,
                      settings: SimSettings | None, name: str,
                      kind: str = "sim") -> Iterator[tuple[Target, str]]:
    """The simulation in a child process: the target that reaches it and its config text
    (``sim up --config-out``'s), for the block; the child is stopped at its end."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve, name="maip-dr-simulation", daemon=True,
                              args=(topology, time_scale, settings, name, kind, theirs))
    process.start()
    theirs.close()
    try:
        if not ours.poll(READY_TIMEOUT_S):
            raise Unreachable(f"the embedded simulation did not start within "
                              f"{READY_TIMEOUT_S:g} s")
        try:
            message = ours.recv()
        except EOFError:
            message = ("failed", f"its process ended (exit {process.exitcode})")
        if message[0] != "ready":
            raise Unreachable(f"the embedded simulation did not start: {message[1]}",
                              resource="simulation")
        yield message[1], message[2]
    finally:
        _stop(process, ours)


def _stop(process: multiprocessing.process.BaseProcess, connection: Connection) -> None:
    with contextlib.suppress(OSError, ValueError):
        connection.send("stop")
    connection.close()
    process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)
