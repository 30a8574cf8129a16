"""Binds every feature file in ``features/`` to pytest (pytest-bdd).

Run from the project root: ``pytest -m readiness`` (the embedded simulation by default), or
``pytest steps -m "failover and stage_3" --dr-config c.toml --dr-target sim --dr-execute
--dr-confirm sim`` for one stage against a running simulation.
"""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import scenarios

scenarios(str(Path(__file__).resolve().parent.parent / "features"))
