"""The test tiers (docs/testing.md): every test under tests/ carries exactly one of the markers
``unit``, ``sim`` and ``gameday``, and a ``unit`` test is held to its promise.

While a unit test runs (its fixtures included), the test's own thread may not open or bind an
internet socket or start a subprocess: either fails the test with a line naming the tier to use.
Sockets of other threads (a session-wide server a previous module left running) are not
watched, and neither are Unix sockets.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

TIERS = ("unit", "sim", "gameday")
INTERNET = (socket.AF_INET, socket.AF_INET6)


class UnitTierViolation(AssertionError):
    """A test marked ``unit`` reached for the network or a subprocess."""


def tier_of(item: pytest.Item) -> list[str]:
    return sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})


def check_tiers(items: list[pytest.Item], tests_root: Path) -> None:
    """Refuse, in one line per test, a test under ``tests_root`` with no tier or two."""
    wrong = [f"{item.nodeid}: {', '.join(tier_of(item)) or 'no tier'}" for item in items
             if tests_root in item.path.parents and len(tier_of(item)) != 1]
    if wrong:
        raise pytest.UsageError(
            "every test needs exactly one tier marker (unit, sim or gameday; docs/testing.md): "
            + "; ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""))


def _refusing(what: str, original: Callable[..., Any],
              applies: Callable[..., bool]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread() and applies(*args):
            raise UnitTierViolation(f"a unit test {what}: mark the module "
                                    "pytest.mark.sim (docs/testing.md)")
        return original(*args, **kwargs)
    return guarded


@contextmanager
def unit_guard() -> Iterator[None]:
    """No internet socket and no subprocess from the test's thread while the block runs."""
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.socket.bind,
             subprocess.Popen.__init__)
    is_internet: Callable[..., bool] = lambda sock, *_: sock.family in INTERNET  # noqa: E731
    socket.socket.connect = _refusing("opened a connection", saved[0], is_internet)  # type: ignore[method-assign]
    socket.socket.connect_ex = _refusing("opened a connection", saved[1], is_internet)  # type: ignore[method-assign]
    socket.socket.bind = _refusing("bound a socket", saved[2], is_internet)  # type: ignore[method-assign]
    subprocess.Popen.__init__ = _refusing("started a subprocess", saved[3],  # type: ignore[method-assign]
                                          lambda *_: True)
    try:
        yield
    finally:
        (socket.socket.connect, socket.socket.connect_ex, socket.socket.bind,  # type: ignore[method-assign]
         subprocess.Popen.__init__) = saved
