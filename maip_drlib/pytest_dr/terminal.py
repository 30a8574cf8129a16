"""Lines the drill's pytest hooks print to the operator while pytest captures output, and the
stop of a session with a line and an exit code.

Not supported: colour, progress bars (the command line's output is the place for those).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import pytest


def say(config: pytest.Config, line: str) -> None:
    """One line on the real standard error, also while pytest captures a test's output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(line, file=sys.stderr, flush=True)
        return
    with capture.global_and_fixture_disabled():
        print(line, file=sys.stderr, flush=True)


def fail(config: pytest.Config, message: str, code: int) -> NoReturn:
    """Say ``message`` and stop the session with ``code``."""
    say(config, f"maip-dr: {message}")
    pytest.exit(message, returncode=code)
