"""Where the plugin keeps the loaded config, target and options in pytest's stash."""

from __future__ import annotations

import pytest

from maip_drlib.config import Config, Target
from maip_drlib.pytest_dr.options import DrRunOptions
from maip_drlib.write_gate import WriteGate

CONFIG_KEY = pytest.StashKey[Config]()
TARGET_KEY = pytest.StashKey[Target]()
OPTIONS_KEY = pytest.StashKey[DrRunOptions]()
# The write gate of the session's handles: opened only for destructive scenarios with consent.
GATE_KEY = pytest.StashKey[WriteGate]()
