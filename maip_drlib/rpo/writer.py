"""A paced canary writer thread, whatever the store: what the primary acknowledged, and when
writing stopped.

Canaries are ACTIONS (they write into the primary): only game days start a writer; nothing in
readiness does (readiness is read-only, DESIGN.md section 5). A store subclasses
``PacedCanaryWriter`` and implements ``_write``; it classifies failures with ``_is_transient``.

The writer writes canary 1, 2, 3, ... at ``start + n * interval_s`` (a steady pace, no drift)
until ``stop()`` or the first write that fails for a non-transient reason (the outage): that
failure is recorded (error text, time, the sequence number that failed) and the thread ends.
Transient failures (throttling) skip that canary and go on. A canary counts only when the
primary ACKNOWLEDGED it (the call returned).

Not supported: restarting a stopped writer (make a new one), more than one writer per drill
id and store, catching up after a slow write (a late slot is written once, at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from maip_drlib.rpo.measure import Canary

STOPPED_BY_CALLER = "stopped"
STOPPED_BY_FAILURE = "write failed"
_JOIN_TIMEOUT_S = 10.0


class WriteRejected(Exception):
    """A store's write failed; ``transient`` ones (throttling) do not stop the writer."""

    def __init__(self, message: str, *, transient: bool = False):
        self.transient = transient
        super().__init__(message)


@dataclass(frozen=True)
class WriteFailure:
    """The write that stopped the writer: what the client said, and when (epoch seconds)."""

    seq: int
    error: str
    at: float


class PacedCanaryWriter:
    """Writes canaries on a thread; see the module docstring. ``start()`` then ``stop()``."""

    store = "unknown"

    def __init__(self, drill_id: str, *, interval_s: float, ttl_s: float,
                 clock: Callable[[], float] = time.time):
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if not ttl_s > 0:
            raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
        if not drill_id:
            raise ValueError("drill_id must not be empty")
        self.drill_id = drill_id
        self.interval_s = float(interval_s)
        self.ttl_s = float(ttl_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._acknowledged: list[Canary] = []
        self._skipped: list[int] = []
        self._failure: WriteFailure | None = None
        self._stopped_reason: str | None = None
        self._thread: threading.Thread | None = None

    # What a store implements ----------------------------------------------------------

    def _write(self, seq: int, written_at: float, expires_at: int) -> None:
        """Write one canary into the primary; raise ``WriteRejected`` when it fails."""
        raise NotImplementedError

    # Control --------------------------------------------------------------------------

    def start(self) -> PacedCanaryWriter:
        if self._thread is not None:
            raise RuntimeError("this canary writer was already started; make a new one")
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"canary-{self.store}-{self.drill_id}")
        self._thread.start()
        return self

    def stop(self, timeout_s: float = _JOIN_TIMEOUT_S) -> bool:
        """Stop writing; True if the thread ended within ``timeout_s``."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout=timeout_s)
        return not self._thread.is_alive()

    def wait_stopped(self, timeout_s: float) -> bool:
        """Wait (bounded) until the writer stopped, by ``stop()`` or by a failed write."""
        return self._done.wait(timeout_s)

    def __enter__(self) -> PacedCanaryWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # What happened --------------------------------------------------------------------

    @property
    def acknowledged(self) -> list[Canary]:
        """Canaries the primary acknowledged, in order (a copy)."""
        with self._lock:
            return list(self._acknowledged)

    @property
    def skipped(self) -> list[int]:
        """Sequence numbers of canaries refused transiently (throttled), never acknowledged."""
        with self._lock:
            return list(self._skipped)

    @property
    def failure(self) -> WriteFailure | None:
        with self._lock:
            return self._failure

    @property
    def stopped_reason(self) -> str | None:
        """None while running; ``"stopped"``, or ``"write failed: <error>"``."""
        with self._lock:
            return self._stopped_reason

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    # The thread -----------------------------------------------------------------------

    def _run(self) -> None:
        started = time.monotonic()
        seq = 0
        try:
            while not self._stop.is_set():
                seq += 1
                written_at = round(self._clock(), 3)
                try:
                    self._write(seq, written_at, int(written_at + self.ttl_s))
                except WriteRejected as error:
                    if not error.transient:
                        self._fail(seq, str(error))
                        return
                    with self._lock:
                        self._skipped.append(seq)
                else:
                    with self._lock:
                        self._acknowledged.append(Canary(seq=seq, written_at=written_at))
                next_at = started + seq * self.interval_s
                self._stop.wait(max(0.0, next_at - time.monotonic()))
            with self._lock:
                self._stopped_reason = STOPPED_BY_CALLER
        finally:
            self._done.set()

    def _fail(self, seq: int, error: str) -> None:
        with self._lock:
            self._failure = WriteFailure(seq=seq, error=error, at=round(self._clock(), 3))
            self._stopped_reason = f"{STOPPED_BY_FAILURE}: {error}"
