"""The live display of declared waits (``maip_drlib.waits``): what is awaited, elapsed against
the deadline; plain bounded lines when not on a terminal, one refreshed line on a terminal."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator

import pytest

from maip_drlib import waits
from maip_drlib.errors import WaitTimeout
from maip_drlib.waits import Progress, WaitSpec, progress_from_setting, wait_for

pytestmark = pytest.mark.sim


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeTime]:
    yield FakeTime()
    waits.set_progress(None)


def run_wait(fake: FakeTime, progress: Progress | None, ready_at: float,
             deadline: float = 60.0) -> None:
    waits.set_progress(progress)
    wait_for(WaitSpec("the DR replica to become a writer", deadline_s=deadline,
                      poll_initial_s=1.0, poll_max_s=4.0, jitter_s=0),
             lambda: "writer" if fake.now >= ready_at else "replica (lag 0.5s)",
             success=lambda seen: seen == "writer", clock=fake.clock, sleep=fake.sleep)


def test_plain_lines_are_few_and_name_the_wait_and_deadline(fake: FakeTime) -> None:
    stream = io.StringIO()
    run_wait(fake, Progress(stream), ready_at=40.0)
    lines = stream.getvalue().splitlines()
    # first after 5 s, then every 15 s, and one closing line: bounded, whatever the polls
    assert 2 <= len(lines) <= 5, lines
    assert lines[0].startswith("  .. waiting for the DR replica to become a writer: ")
    assert "of 60s deadline; last seen: replica (lag 0.5s)" in lines[0]
    assert lines[-1].startswith("  .. the DR replica to become a writer: done after 4")
    assert "\x1b" not in stream.getvalue()


def test_short_waits_print_nothing(fake: FakeTime) -> None:
    stream = io.StringIO()
    run_wait(fake, Progress(stream), ready_at=2.0)
    assert stream.getvalue() == ""


def test_tty_refreshes_one_line_in_place_and_reports_a_timeout(fake: FakeTime) -> None:
    stream = io.StringIO()
    with pytest.raises(WaitTimeout):
        run_wait(fake, Progress(stream, columns=60), ready_at=1e9, deadline=10.0)
    text = stream.getvalue()
    assert "\r" not in text  # the CLI reads children in universal-newline mode
    assert text.count("\x1b[1A\x1b[2K") == text.count("\n") - 1  # every line but the first
    assert all(len(line.replace("\x1b[1A\x1b[2K", "")) <= 59 for line in text.splitlines())
    last = text.rstrip("\n").rsplit("\x1b[2K", 1)[-1]
    assert last.startswith("  .. timed out after 10.0s (deadline 10s): the DR replica")
    assert "  .. [##########          ] 5s of 10s: waiting for the DR r" in text


def test_off_by_default_and_settings_parse(fake: FakeTime) -> None:
    assert progress_from_setting("off") is None
    assert progress_from_setting("nonsense") is None
    assert progress_from_setting("plain") is not None
    tty = progress_from_setting("tty:132")
    assert tty is not None and tty.columns == 132
    run_wait(fake, None, ready_at=30.0)  # no display: nothing to check but no error


def test_a_subprocess_follows_the_setting_it_inherits() -> None:
    """How a process started by the CLI gets the display: MAIP_DR_PROGRESS in its environment."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "from maip_drlib.waits import WaitSpec, wait_for\n"
        "start = time.monotonic()\n"
        "wait_for(WaitSpec('the simulated thing', deadline_s=30, poll_initial_s=0.5,"
        " poll_max_s=0.5, jitter_s=0), lambda: time.monotonic() - start,"
        " success=lambda waited: waited > 5.5)\n")
    env = {**os.environ, "MAIP_DR_PROGRESS": "plain"}
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, timeout=60, check=True)
    lines = shown.stderr.splitlines()
    assert len(lines) == 2, shown.stderr
    assert re.match(r"  \.\. waiting for the simulated thing: [5-9]s of 30s deadline", lines[0])
    assert re.match(r"  \.\. the simulated thing: done after \d+\.\ds", lines[1])
    env.pop("MAIP_DR_PROGRESS")
    silent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=60, check=True)
    assert silent.stderr == ""
