"""The embedded simulation in a process of its own, for a game day (``maip-dr gameday`` with
no config).

A game day's pytest session runs in the ``maip-dr`` process. Its simulation runs beside it, in
one child process started here (``python -m maip_drlib.sim.hosted``), as a ``sim up`` process
would: the drill reaches it over loopback HTTP only, as it reaches production. So the
simulated platform never shares the drill's interpreter lock (its answers, timers and
replication keep their own pace while a stage works, and the stages' timings are not the
simulation's), and options of the drill's session (``--log-level``, pytest's log capture)
never reach the simulation's own loggers.

The parent sends the topology and settings (pickled) on the child's standard input; the child
answers on its standard output with the target that reaches it and its config text (``sim up
--config-out``'s), then waits for its standard input to close: the parent closes it to stop
the simulation, and a parent that died closes it too. The child ignores Ctrl-C (a terminal
sends it to the whole process group): the drill stops first and records where, then stops the
child. Anything else the child prints goes to standard error. Waits are bounded:
``READY_TIMEOUT_S`` for the start, ``STOP_TIMEOUT_S`` for the stop (then SIGTERM, SIGKILL).

Not supported: a hosted simulation shared by two commands (each command starts its own);
Windows (the start's deadline waits on the child's pipe with ``select``, which is POSIX only).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from maip_drlib.config import Target, Topology
from maip_drlib.errors import Unreachable

if TYPE_CHECKING:
    from maip_drlib.sim.simulation import SimSettings

READY_TIMEOUT_S = 180.0  # a first start seeds through HTTP and may run initdb on a slow disk
STOP_TIMEOUT_S = 30.0


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child: start the simulation, answer (``ready``, target, config text), and keep it
    up until ``requests`` closes."""
    from maip_drlib.sim.config_out import render_sim_config
    from maip_drlib.sim.simulation import Simulation

    topology, time_scale, settings, name, kind = pickle.load(requests)
    try:
        with Simulation(topology, time_scale=time_scale, settings=settings) as simulation:
            hosted = simulation.target(name, kind)
            pickle.dump(("ready", hosted, render_sim_config(hosted, topology)), answers)
            answers.flush()
            requests.read()  # until the parent closes it
    except Exception as error:  # the parent says it in one line
        with contextlib.suppress(OSError):
            pickle.dump(("failed", f"{type(error).__name__}: {error}"), answers)
            answers.flush()
        raise SystemExit(1) from None


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the drill stops the simulation, not Ctrl-C
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to standard error, never into the answer
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, answers)  # a failed start or stop exits through the interpreter,
    # whose exit runs the finalizers of whatever was left (PostgreSQL's folders, say).
    # Here the simulation has stopped cleanly: its servers, PostgreSQL and folders are gone.
    # What the interpreter's own teardown would add is freeing moto's state object by object
    # (about half a second the drill waits for at its end); the process ends without it.
    sys.stderr.flush()
    os._exit(0)


@contextlib.contextmanager
def hosted_simulation(topology: Topology, *, time_scale: float | None,
                      settings: SimSettings | None, name: str,
                      kind: str = "sim") -> Iterator[tuple[Target, str]]:
    """The simulation in a child process: the target that reaches it and its config text,
    for the block; the child is stopped at its end."""
    process = subprocess.Popen([sys.executable, "-m", "maip_drlib.sim.hosted"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        pickle.dump((topology, time_scale, settings, name, kind), process.stdin)
        process.stdin.flush()
        message = _answer(process)
        if message[0] != "ready":
            raise Unreachable(f"the embedded simulation did not start: {message[1]}")
        yield message[1], message[2]
    finally:
        _stop(process)


def _answer(process: subprocess.Popen[bytes]) -> tuple:
    """The child's answer, within ``READY_TIMEOUT_S``."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], READY_TIMEOUT_S)
    if not ready:
        raise Unreachable(f"the embedded simulation did not start within "
                          f"{READY_TIMEOUT_S:g} s")
    try:
        return tuple(pickle.load(process.stdout))
    except (EOFError, pickle.UnpicklingError):
        process.wait(STOP_TIMEOUT_S)
        return ("failed", f"its process ended (exit {process.returncode})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


if __name__ == "__main__":
    main()
