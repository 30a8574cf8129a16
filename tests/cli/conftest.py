"""Fixtures to run ``maip-dr`` as a user does: a subprocess with its own environment."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from maip_cli_helpers import run_maip_dr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


MaipDr = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def maip_dr(home: Path) -> MaipDr:
    """Run ``maip-dr ARGS`` in a subprocess with a clean environment and a private HOME."""
    def run(args: list[str], timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_maip_dr(args, home, timeout=timeout, cwd=cwd)
    return run
