"""Binds every feature file in ``features/`` to pytest (pytest-bdd), and a team's own feature
folders (``--dr-features DIR``, the config's ``[features] paths``: docs/own-checks.md).

Run from the project root: ``pytest -m readiness`` (the embedded simulation by default), or
``pytest steps -m "failover and stage_3" --dr-config c.toml --dr-target sim --dr-execute
--dr-confirm sim`` for one stage against a running simulation, or ``pytest -m readiness
--dr-features checks/`` with a team's checks.
"""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import scenarios

from maip_drlib.pytest_dr.feature_paths import extra_folders

scenarios(str(Path(__file__).resolve().parent.parent / "features"), *extra_folders())
