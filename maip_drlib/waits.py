"""The one declared wait of the library (DESIGN.md section 10, rule 7), built on tenacity.

A wait is data: what it waits for, a deadline, a poll policy, a success predicate and a
terminal-failure predicate. ``wait_for`` polls ``observe`` until success (returns a
``WaitOutcome``), a terminal failure (raises ``WaitFailed`` at once), or the deadline (raises
``WaitTimeout`` naming what it waited for, the deadline and the last observation). Transient
observation errors are polled through until the wait's own deadline, not only through
botocore's attempts (``is_transient``): ``Unreachable`` (which ``aws_api`` raises for
connection failures, throttles and 5xx answers), botocore connection errors
(``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``,
``ConnectionClosedError``, ...) and a ``ClientError`` that is a throttle (``THROTTLING_CODES``,
HTTP 429), a server error (HTTP >= 500) or a timeout (``TRANSIENT_CODES``). Each is recorded as
the last seen state (the display shows it); at the deadline the ``WaitTimeout`` names the last
transient error and how many there were. Any other error (AccessDenied, validation, not found)
fails the wait at once.

Progress: while a wait lasts, a display says what is awaited and the time elapsed against the
deadline (``Progress``: a line refreshed in place on a terminal, or a plain line after 5 s and
every 15 s, and one closing line, when not). It is off unless the CLI turns it on, with
``set_progress`` in its own process (where the command's pytest session runs too) or, for a
process started from it, the environment variable ``MAIP_DR_PROGRESS`` (``tty:COLUMNS``,
``plain`` or ``off``) that it inherits: the one variable this module reads, because such a
process cannot see the terminal. Sleeps are cut
into steps of at most one second while a display is on, so it refreshes during long polls.

Not supported: the deadline cannot interrupt an ``observe`` call that hangs; every observation
must carry its own client timeouts (region handles and probes set them). Waits are synchronous;
there is no asyncio variant. The display of waits running in several threads at once.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TextIO, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

from maip_drlib.errors import Unreachable, WaitFailed, WaitTimeout

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "PriorRequestNotComplete",
        "SlowDown",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
        "TransactionInProgressException",
    }
)
# Server-side errors and timeouts that a later poll may not meet (botocore retries them too);
# a real answer also carries an HTTP status >= 500, which is enough by itself.
TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


@dataclass(frozen=True)
class WaitSpec:
    """What a wait waits for, its deadline and its poll policy (all durations in seconds)."""

    description: str
    deadline_s: float
    poll_initial_s: float = 0.2
    poll_max_s: float = 5.0
    jitter_s: float = 0.1

    def __post_init__(self) -> None:
        if self.deadline_s <= 0 or self.poll_initial_s <= 0 or self.poll_max_s <= 0:
            raise ValueError(f"wait {self.description!r}: deadline and poll intervals must be > 0")
        if self.jitter_s < 0:
            raise ValueError(f"wait {self.description!r}: jitter must be >= 0")


@dataclass(frozen=True)
class WaitOutcome(Generic[T]):
    """A successful wait: the observation that satisfied it, time taken and polls made."""

    value: T
    elapsed_s: float
    polls: int  # observations that returned (transient errors are counted apart)
    transient_errors: int = 0


def transient_answer(error: ClientError) -> bool:
    """Whether an AWS error answer is a throttle, a server error or a timeout."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code in THROTTLING_CODES or code in TRANSIENT_CODES or status == 429 or status >= 500


def is_transient(error: BaseException) -> bool:
    """Whether an observation error is worth polling through until the deadline."""
    if isinstance(error, Unreachable | BotoConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        return transient_answer(error)
    return False


class _NotYet(Exception):
    """Internal: the observation is neither success nor terminal failure."""

    def __init__(self, observed: object):
        super().__init__("not yet")
        self.observed = observed


def _never_failed(_observed: object) -> str | None:
    return None


PROGRESS_ENV = "MAIP_DR_PROGRESS"
_UP_AND_CLEAR = "\x1b[1A\x1b[2K"  # cursor up one line, erase it (no carriage return: the
# CLI reads its subprocesses' output in universal-newline mode, which turns one into a newline)


def _short(observed: object, limit: int = 80) -> str:
    text = " ".join(str(observed).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class WaitDisplay:
    """The display of one wait: ``update`` while it polls or sleeps, ``end`` once."""

    def __init__(self, progress: Progress, description: str, deadline_s: float):
        self.progress = progress
        self.description = description
        self.deadline_s = deadline_s
        self.last_seen = ""
        self.shown = False
        self.next_at = progress.first_after_s

    def _head(self, elapsed_s: float) -> str:
        return f"  .. waiting for {self.description}: {elapsed_s:.0f}s of {self.deadline_s:g}s"

    def update(self, elapsed_s: float, observed: object | None) -> None:
        if observed is not None:
            self.last_seen = _short(observed)
        if elapsed_s < self.next_at:
            return
        self.next_at = elapsed_s + self.progress.every_s
        seen = f"; last seen: {self.last_seen}" if self.last_seen else ""
        if self.progress.columns is None:
            self.progress.write(f"{self._head(elapsed_s)} deadline{seen}\n")
        else:  # the figures first: a narrow terminal cuts the description, not the time
            share = min(1.0, elapsed_s / self.deadline_s)
            bar = "#" * round(share * 20)
            line = (f"  .. [{bar:<20}] {elapsed_s:.0f}s of {self.deadline_s:g}s: waiting for "
                    f"{self.description}{seen}")
            line = line[:max(20, self.progress.columns - 1)]
            self.progress.write(f"{_UP_AND_CLEAR if self.shown else ''}{line}\n")
        self.shown = True

    def end(self, elapsed_s: float, outcome: str) -> None:
        if self.shown:
            line = (f"  .. {self.description}: {outcome} after {elapsed_s:.1f}s (deadline "
                    f"{self.deadline_s:g}s)")
            if self.progress.columns is not None:
                line = (f"  .. {outcome} after {elapsed_s:.1f}s (deadline {self.deadline_s:g}s):"
                        f" {self.description}")
                line = _UP_AND_CLEAR + line[:max(20, self.progress.columns - 1)]
            self.progress.write(f"{line}\n")
        self.progress.release(self)


class _Silent(WaitDisplay):
    def update(self, elapsed_s: float, observed: object | None) -> None:
        return None

    def end(self, elapsed_s: float, outcome: str) -> None:
        return None


class Progress:
    """Where wait displays go: ``columns`` None for plain lines (first after
    ``first_after_s``, then every ``every_s``), else one line refreshed in place on a terminal
    that wide. One wait is shown at a time; a wait started meanwhile (another thread) is not."""

    def __init__(self, stream: TextIO | None = None, *, columns: int | None = None,
                 first_after_s: float | None = None, every_s: float | None = None):
        self.stream = stream
        self.columns = columns
        tty = columns is not None
        self.first_after_s = first_after_s if first_after_s is not None else (1.0 if tty
                                                                              else 5.0)
        self.every_s = every_s if every_s is not None else (0.25 if tty else 15.0)
        self._lock = threading.Lock()
        self._active: WaitDisplay | None = None

    def begin(self, description: str, deadline_s: float) -> WaitDisplay:
        with self._lock:
            if self._active is not None:
                return _Silent(self, description, deadline_s)
            self._active = WaitDisplay(self, description, deadline_s)
            return self._active

    def release(self, display: WaitDisplay) -> None:
        with self._lock:
            if self._active is display:
                self._active = None

    def write(self, text: str) -> None:
        stream = self.stream or sys.__stderr__ or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed terminal never fails a wait
            pass


def progress_from_setting(setting: str, stream: TextIO | None = None) -> Progress | None:
    """``off`` (or anything unknown): None; ``plain``; ``tty:COLUMNS``."""
    if setting == "plain":
        return Progress(stream)
    if setting.startswith("tty:"):
        try:
            columns = int(setting[4:])
        except ValueError:
            columns = 100
        return Progress(stream, columns=max(40, columns))
    return None


_UNSET = object()
_progress: object = _UNSET


def set_progress(progress: Progress | None) -> None:
    """Turn the wait display of this process on (a ``Progress``) or off (None)."""
    global _progress
    _progress = progress


def reset_progress() -> None:
    """Back to the default: the setting inherited through ``MAIP_DR_PROGRESS`` (read lazily)."""
    global _progress
    _progress = _UNSET


def _current_progress() -> Progress | None:
    global _progress
    if _progress is _UNSET:  # a subprocess of the CLI: the setting it inherited
        _progress = progress_from_setting(os.environ.get(PROGRESS_ENV, "off"))
    return _progress  # type: ignore[return-value]


def wait_for(
    spec: WaitSpec,
    observe: Callable[[], T],
    *,
    success: Callable[[T], bool],
    failure: Callable[[T], str | None] = _never_failed,
    on_poll: Callable[[T, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[float], float] | None = None,
) -> WaitOutcome[T]:
    """Poll ``observe`` until ``success``; see the module docstring for the outcomes.

    ``jitter(max_s)`` returns the random extra delay (default uniform in [0, max_s]).
    """
    draw_jitter = jitter or (lambda upper: random.uniform(0.0, upper))
    started = clock()
    polls = 0
    errors = 0
    last_error: BaseException | None = None
    progress = _current_progress()
    display = progress.begin(spec.description, spec.deadline_s) if progress else None
    backoff = wait_exponential(multiplier=spec.poll_initial_s, max=spec.poll_max_s)

    def elapsed() -> float:
        return clock() - started

    def next_delay(retry_state: RetryCallState) -> float:
        remaining = spec.deadline_s - elapsed()
        delay = backoff(retry_state) + (draw_jitter(spec.jitter_s) if spec.jitter_s else 0.0)
        return max(0.0, min(delay, remaining))

    def deadline_reached(_retry_state: RetryCallState) -> bool:
        return elapsed() >= spec.deadline_s

    def attempt() -> T:
        nonlocal polls, last_error, errors
        try:
            observed = observe()
        except (Unreachable, BotoConnectionError, HTTPClientError, ClientError) as error:
            if not is_transient(error):
                raise
            last_error, errors = error, errors + 1  # the last seen state, polled through
            if display is not None:
                display.update(elapsed(), f"error: {error}")
            raise
        polls += 1
        if on_poll is not None:
            on_poll(observed, elapsed())
        if display is not None:
            display.update(elapsed(), observed)
        reason = failure(observed)
        if reason:
            raise WaitFailed(
                f"{spec.description}: failed after {elapsed():.1f}s: {reason}; "
                f"last observed: {observed}",
                last_observed=observed,
                elapsed_s=elapsed(),
            )
        if success(observed):
            return observed
        raise _NotYet(observed)

    retrying = Retrying(
        stop=deadline_reached,
        wait=next_delay,
        retry=retry_if_exception(lambda error: isinstance(error, _NotYet) or is_transient(error)),
        sleep=sleep if display is None else _stepped(sleep, display, elapsed),
        reraise=True,
    )
    outcome = "failed"
    try:
        value = retrying(attempt)
        outcome = "done"
    except _NotYet as not_yet:
        outcome = "timed out"
        raise _timeout(spec, not_yet.observed, elapsed(), last_error, errors) from last_error
    except WaitFailed:
        raise
    except (Unreachable, BotoConnectionError, HTTPClientError, ClientError) as error:
        if error is last_error:  # transient until the deadline
            outcome = "timed out"
            raise _timeout(spec, f"error: {error}", elapsed(), None, errors) from error
        raise
    finally:
        if display is not None:
            display.end(elapsed(), outcome)
    return WaitOutcome(value=value, elapsed_s=elapsed(), polls=polls, transient_errors=errors)


def _stepped(sleep: Callable[[float], None], display: WaitDisplay,
             elapsed: Callable[[], float]) -> Callable[[float], None]:
    """``sleep`` in steps of at most one second, refreshing the display between steps."""
    def stepped(seconds: float) -> None:
        left = seconds
        while left > 0:
            step = min(1.0, left)
            sleep(step)
            left -= step
            display.update(elapsed(), None)
    return stepped


def _timeout(spec: WaitSpec, last_observed: object, elapsed_s: float,
             last_error: BaseException | None, errors: int) -> WaitTimeout:
    """``last_error``: a transient error met before the last observation (else None)."""
    transient = ""
    if last_error is not None:
        transient = f"; last transient error ({errors} in all): {last_error}"
    elif errors > 1:
        transient = f" ({errors} transient errors in all)"
    return WaitTimeout(
        f"timed out waiting for {spec.description} (deadline {spec.deadline_s:g}s, "
        f"{elapsed_s:.1f}s elapsed); last observed: {last_observed}{transient}",
        last_observed=last_observed,
        elapsed_s=elapsed_s,
    )
