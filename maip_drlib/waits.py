"""The one declared wait of the library (DESIGN.md section 10, rule 7), built on tenacity.

A wait is data: what it waits for, a deadline, a poll policy, a success predicate and a
terminal-failure predicate. ``wait_for`` polls ``observe`` until success (returns a
``WaitOutcome``), a terminal failure (raises ``WaitFailed`` at once), or the deadline (raises
``WaitTimeout`` naming what it waited for, the deadline and the last observation). Transient
observation errors (``Unreachable``, throttling, connection errors) are retried until the
deadline and reported as the last observation.

Not supported: the deadline cannot interrupt an ``observe`` call that hangs; every observation
must carry its own client timeouts (region handles and probes set them). Waits are synchronous;
there is no asyncio variant.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

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
    polls: int


def is_transient(error: BaseException) -> bool:
    """Whether an observation error is worth polling through until the deadline."""
    if isinstance(error, Unreachable | BotoConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in THROTTLING_CODES
    return False


class _NotYet(Exception):
    """Internal: the observation is neither success nor terminal failure."""

    def __init__(self, observed: object):
        super().__init__("not yet")
        self.observed = observed


def _never_failed(_observed: object) -> str | None:
    return None


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
        nonlocal polls
        observed = observe()
        polls += 1
        if on_poll is not None:
            on_poll(observed, elapsed())
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
        sleep=sleep,
        reraise=True,
    )
    try:
        value = retrying(attempt)
    except _NotYet as not_yet:
        raise _timeout(spec, not_yet.observed, elapsed()) from None
    except WaitFailed:
        raise
    except (Unreachable, BotoConnectionError, HTTPClientError, ClientError) as error:
        if is_transient(error):
            raise _timeout(spec, f"error: {error}", elapsed()) from error
        raise
    return WaitOutcome(value=value, elapsed_s=elapsed(), polls=polls)


def _timeout(spec: WaitSpec, last_observed: object, elapsed_s: float) -> WaitTimeout:
    return WaitTimeout(
        f"timed out waiting for {spec.description} (deadline {spec.deadline_s:g}s, "
        f"{elapsed_s:.1f}s elapsed); last observed: {last_observed}",
        last_observed=last_observed,
        elapsed_s=elapsed_s,
    )
