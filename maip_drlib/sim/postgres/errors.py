"""The one error the simulated PostgreSQL raises, and the bounded wait it uses.

Every wait here has a deadline; past it a ``PostgresSimError`` names what was awaited and what
was last seen. Not supported: interrupting a single observation that hangs (each observation
carries its own short timeout instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from maip_drlib.errors import DRError

T = TypeVar("T")


class PostgresSimError(DRError):
    """The simulated PostgreSQL could not do what was asked (an environment error, exit 4)."""

    exit_code = 4


def wait_until(
    description: str,
    observe: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.05,
) -> T:
    """Call ``observe`` until it returns a truthy value, which is returned; bounded.

    ``observe`` may raise ``OSError`` or return a falsy value to mean "not yet"; anything else
    it raises propagates. Past ``timeout_s`` a ``PostgresSimError`` names the last observation.
    """
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        try:
            value = observe()
        except OSError as error:
            value, last = None, error
        else:
            last = value
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PostgresSimError(
                f"{description}: not within {timeout_s:g}s (last seen: {last!r})"
            )
        time.sleep(min(interval_s, remaining))
