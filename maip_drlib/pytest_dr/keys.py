"""Where the plugin keeps the loaded config, target and options in pytest's stash."""

from __future__ import annotations

import pytest

from maip_drlib.config import Config, Target
from maip_drlib.pytest_dr.options import DrRunOptions

CONFIG_KEY = pytest.StashKey[Config]()
TARGET_KEY = pytest.StashKey[Target]()
OPTIONS_KEY = pytest.StashKey[DrRunOptions]()
