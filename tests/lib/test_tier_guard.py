"""The test tiers hold: a test without exactly one tier is refused naming it, and inside the
unit guard an internet socket or a subprocess fails naming the tier to use (a Unix socket and
other threads are left alone)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tier_guard import UnitTierViolation, check_tiers, unit_guard

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]


@dataclass
class FakeItem:
    nodeid: str
    path: Path
    marks: list[str] = field(default_factory=list)

    def iter_markers(self) -> list[pytest.Mark]:
        return [getattr(pytest.mark, name).mark for name in self.marks]


def test_a_test_without_one_tier_is_refused_naming_it() -> None:
    items = [FakeItem("tests/a.py::t", TESTS / "a.py", ["unit"]),
             FakeItem("tests/b.py::t", TESTS / "b.py", ["cli"]),
             FakeItem("tests/c.py::t", TESTS / "c.py", ["unit", "sim"]),
             FakeItem("steps/s.py::t", TESTS.parent / "steps" / "s.py")]
    with pytest.raises(pytest.UsageError) as refused:
        check_tiers(items, TESTS)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "tests/b.py::t: no tier" in message and "tests/c.py::t: sim, unit" in message
    assert "a.py" not in message and "steps" not in message  # steps/ is not under tests/


def test_the_unit_guard_refuses_a_subprocess_and_an_internet_socket() -> None:
    before = (socket.socket.bind, socket.socket.connect, subprocess.Popen.__init__)
    with unit_guard():
        with pytest.raises(UnitTierViolation, match=r"started a subprocess: mark the module "
                                                   r"pytest\.mark\.sim"):
            subprocess.run([sys.executable, "-c", "pass"], check=False)
        with socket.socket() as sock, pytest.raises(UnitTierViolation, match="bound a socket"):
            sock.bind(("127.0.0.1", 0))
        with socket.socket() as sock, pytest.raises(UnitTierViolation,
                                                    match="opened a connection"):
            sock.connect(("127.0.0.1", 9))
        left, right = socket.socketpair(socket.AF_UNIX)  # not watched
        left.close(), right.close()
    # Restored after the block (this test runs inside the suite's own unit guard).
    assert (socket.socket.bind, socket.socket.connect, subprocess.Popen.__init__) == before


def test_the_unit_guard_leaves_other_threads_alone() -> None:
    bound: list[int] = []

    def bind() -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            bound.append(sock.getsockname()[1])

    with unit_guard():
        thread = threading.Thread(target=bind)
        thread.start()
        thread.join(timeout=10)
    assert len(bound) == 1
