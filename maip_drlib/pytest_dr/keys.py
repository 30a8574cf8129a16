"""Where the plugin keeps the loaded config, target, options and drill run in pytest's stash,
and the accessors that prefer the drill run to the command-line options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maip_drlib.config import Config, Target
from maip_drlib.drill.drill_run import DrillRun
from maip_drlib.pytest_dr.options import DrRunOptions
from maip_drlib.write_gate import WriteGate

CONFIG_KEY = pytest.StashKey[Config]()
TARGET_KEY = pytest.StashKey[Target]()
OPTIONS_KEY = pytest.StashKey[DrRunOptions]()
# The write gate of the session's handles: opened only for destructive scenarios with consent.
GATE_KEY = pytest.StashKey[WriteGate]()
# The drill run a command handed to the session (drill/drill_run.py).
DRILL_RUN_KEY = pytest.StashKey[DrillRun]()


def drill_run_of(config: pytest.Config) -> DrillRun | None:
    """The drill run the command handed to this session (``maip-dr gameday``), or None."""
    return config.stash.get(DRILL_RUN_KEY, None)


def attempt_dir_of(config: pytest.Config) -> Path | None:
    """The attempt folder of this session: the drill run's, else ``--dr-attempt-dir``."""
    drill = drill_run_of(config)
    if drill is not None:
        return drill.attempt_dir
    return config.getoption("--dr-attempt-dir", default=None)


def drill_id_of(config: pytest.Config) -> str | None:
    """The drill id: the drill run's, else ``--dr-drill-id``, ``$MAIP_DR_DRILL_ID`` or the
    attempt folder's parent; None when nothing names one."""
    drill = drill_run_of(config)
    if drill is not None:
        return drill.drill_id
    given = config.getoption("--dr-drill-id", default=None) or os.environ.get("MAIP_DR_DRILL_ID")
    if given:
        return str(given)
    attempt_dir = config.getoption("--dr-attempt-dir", default=None)
    return str(attempt_dir.parent.name) if attempt_dir is not None else None
