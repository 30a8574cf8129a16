"""The embedded simulation of a game day in a process of its own (``sim/hosted.py``): the
target it hands back reaches it over loopback, the process ends with the block, a start that
does not come in time or fails is one error and leaves no process behind, and Ctrl-C sent to the
process group does not take the simulation down under the drill."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import requests

from maip_drlib.config import Topology
from maip_drlib.errors import Unreachable
from maip_drlib.sim import hosted
from maip_drlib.sim_client import SimulationClient

pytestmark = pytest.mark.sim


def _children() -> list[int]:
    """This process's children running the hosted simulation."""
    found = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    pids = [int(pid) for pid in found.read_text().split()] if found.exists() else []
    return [pid for pid in pids if b"maip_drlib.sim.hosted" in
            Path(f"/proc/{pid}/cmdline").read_bytes()]


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def test_the_hosted_simulation_answers_on_loopback_and_ends_with_the_block() -> None:
    with hosted.hosted_simulation(Topology(), time_scale=0.5, settings=None,
                                  name="embedded-sim") as (target, config_text):
        assert target.kind == "sim" and target.name == "embedded-sim"
        assert target.control_url.startswith("http://127.0.0.1:")
        assert 'default_target = "embedded-sim"' in config_text
        [child] = _children()
        assert "faults" in SimulationClient(target.control_url).status()
        # A terminal's Ctrl-C reaches the whole group: the child ignores it (the drill stops
        # the simulation, not the signal).
        ignored = next(line for line in Path(f"/proc/{child}/status").read_text().splitlines()
                       if line.startswith("SigIgn:"))
        assert int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1))
        assert _running(child)
    assert not _running(child) and not _children()
    with pytest.raises(requests.RequestException):
        requests.get(target.control_url, timeout=2)


def test_a_start_past_its_deadline_is_one_error_and_no_process_is_left(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hosted, "READY_TIMEOUT_S", 0.001)
    with pytest.raises(Unreachable, match=r"did not start within 0\.001 s"), \
            hosted.hosted_simulation(Topology(), time_scale=0.5, settings=None,
                                     name="embedded-sim"):
        pytest.fail("the block must not run")
    assert not _children()


def test_a_simulation_that_fails_to_start_is_one_error_naming_why() -> None:
    # A time scale the simulation's clock refuses: the child fails before it serves anything.
    with pytest.raises(Unreachable, match=r"^the embedded simulation did not start: "
                                          r"ValueError: time_scale must be > 0") as raised, \
            hosted.hosted_simulation(Topology(), time_scale=-1.0, settings=None,
                                     name="embedded-sim"):
        pytest.fail("the block must not run")
    assert "\n" not in str(raised.value)
    assert not _children()
