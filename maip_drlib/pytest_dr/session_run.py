"""Run a command's one pytest session in this process, its output redacted on the way out.

``run_session`` calls ``pytest.main`` on the scenarios (the clone's top folder, or the copy a
wheel carries: ``maip_drlib.scenarios_home``) with a ``DrillSession`` plugin whose walk runs
the phases. Plugins a drill does without are not loaded (``FAST_START``): the cache (a drill is
not re-run by failures), Hypothesis's (no scenario uses it; its terminal summary imports the
whole library), the unraisable-exception one (two full garbage collections per run), and the
installed ones it never uses (the simulated Kafka broker's, xdist, platformdirs').

Everything pytest prints goes through ``RedactingStream`` (``sys.stdout`` and ``sys.stderr``
for the session): whole lines are redacted as they complete, and a partial line (a question
waiting for its answer, pytest's progress dots) when it is flushed. Under ``--json`` and
``--quiet`` the command has pointed file descriptors 1 and 2 elsewhere already
(``cli/output.py``); the streams follow them.

The session runs from the scenarios' folder (the working directory is changed for it and
restored after), as the pytest process of earlier versions did: every path the commands
pass is absolute. After the session, an interruption (Ctrl-C, SIGTERM) or an error the walk
raised is raised again here, so the command handles it as before, once pytest has torn down
and written.
Not supported: output a subprocess of a step writes to the inherited descriptors (it is not
redacted; the suite's own subprocesses capture theirs).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TextIO, TypeVar, cast

from maip_drlib.drill.drill_run import DrillRun
from maip_drlib.evidence.redact import Redactor

Walk = TypeVar("Walk")
FAST_START = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
              "-p", "no:unraisableexception",
              # Installed plugins a drill never uses: the simulated Kafka broker's test plugin
              # (0.1 s of imports), xdist (a drill is one session in order) and platformdirs'.
              "-p", "no:nafka", "-p", "no:xdist", "-p", "no:xdist.looponfail",
              "-p", "no:platformdirs")
SESSION_ARGS = ("--capture=tee-sys", "-q", "--no-header", "-rfEs")


class RedactingStream:
    """A text stream that redacts what it passes to ``sink`` (see the module docstring)."""

    def __init__(self, sink: TextIO, redactor: Redactor) -> None:
        self._sink = sink
        self._redactor = redactor
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, self._pending = self._pending.rsplit("\n", 1)
            self._sink.write(self._redactor.text(complete + "\n"))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            self._sink.write(self._redactor.text(self._pending))
            self._pending = ""
        self._sink.flush()

    def __getattr__(self, name: str) -> object:  # isatty, fileno, encoding, errors...
        return getattr(self._sink, name)


@contextlib.contextmanager
def redacted_streams(redactor: Redactor | None) -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` redacted for the block (unchanged without one)."""
    if redactor is None:
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, RedactingStream(saved[0], redactor))
    sys.stderr = cast(TextIO, RedactingStream(saved[1], redactor))
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = saved


@dataclass(frozen=True)
class SessionOutcome(Generic[Walk]):
    """pytest's exit code, and what the walk returned (None when it never ran: a bad option
    or config stopped the session at its start, or collection failed)."""

    exit_code: int
    walked: Walk | None
    started: bool


def run_session(walk: Callable[..., Walk], *, args: list[str], drill: DrillRun | None,
                phases: Iterable[str] | None = None,
                redactor: Redactor | None = None) -> SessionOutcome[Walk]:
    """One pytest session on the scenarios with ``args`` (the drill's options, then the
    operator's pass-through arguments), running ``walk`` as its test loop."""
    import pytest

    from maip_drlib.pytest_dr.session_phases import DrillSession
    from maip_drlib.scenarios_home import scenarios_home

    root = scenarios_home()
    plugin: DrillSession[Walk] = (DrillSession(walk, drill=drill) if phases is None
                                  else DrillSession(walk, drill=drill, phases=phases))
    command = [str(root / "steps"), "--rootdir", str(root), *FAST_START, *SESSION_ARGS, *args]
    # From the scenarios' folder, as a pytest process there: locations print relative to it.
    with redacted_streams(redactor), contextlib.chdir(root):
        code = int(pytest.main(command, plugins=[plugin]))
    if plugin.escaped is not None:
        raise plugin.escaped
    return SessionOutcome(exit_code=code, walked=plugin.outcome, started=plugin.started)
