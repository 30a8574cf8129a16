"""Command-line options of the drill and the safety rules they imply (DESIGN.md sections 3, 4).

Read once, at the edge, from pytest's config into a frozen ``DrRunOptions``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from maip_drlib.drill.context import (
    MAX_SOAK_STEP_S,
    MIN_SOAK_STEP_S,
    DrillOptions,
    OutageDeclaration,
)

TAGS = ("readiness", "replication", "failover", "failback", "destructive", "rpo")
STAGE_TAGS = tuple(f"stage_{n}" for n in range(1, 6))


def soak_step_seconds(value: str) -> float:
    """``--dr-soak-step``: finite seconds within the bounds (argparse says which option)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not MIN_SOAK_STEP_S <= seconds <= MAX_SOAK_STEP_S:  # false for nan
        raise argparse.ArgumentTypeError(
            f"expected {MIN_SOAK_STEP_S:g} to {MAX_SOAK_STEP_S:g} seconds, got {value!r}")
    return seconds


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("maip-dr", "MAIP DR drill")
    group.addoption("--dr-config", type=Path, default=None,
                    help="TOML config with targets (default: the embedded simulation).")
    group.addoption("--dr-target", default=None, help="Target name in --dr-config.")
    group.addoption("--dr-execute", action="store_true", default=False,
                    help="Allow @destructive (mutating) scenarios to run.")
    group.addoption("--dr-confirm", default=None, metavar="TARGET",
                    help="Repeat the target's name: required with --dr-execute on sim and "
                         "live targets.")
    group.addoption("--dr-declare-outage", default=None, metavar="REASON",
                    help="Declare the primary region down (recorded with who and when).")
    group.addoption("--dr-planned", action="store_true", default=False,
                    help="Planned failover: fence the primary at the application first.")
    group.addoption("--dr-pause-between-stages", action="store_true", default=False,
                    help="Wait for the operator's approval before each mutating stage.")
    group.addoption("--dr-dry-run", action="store_true", default=False,
                    help="Plan only: list the mutating calls, run no destructive scenario.")
    group.addoption("--dr-results", type=Path, default=None,
                    help="Write the stage results (JSON) here.")
    group.addoption("--dr-soak-step", type=soak_step_seconds, default=None, metavar="SECONDS",
                    help=f"Soak each weighted failback step this many real seconds instead of "
                         f"the feature's minutes ({MIN_SOAK_STEP_S:g} to {MAX_SOAK_STEP_S:g}); "
                         "journalled as an override. Default: the feature's 2 minutes.")
    group.addoption("--dr-data-plane", choices=("auto", "on", "off"), default="auto",
                    help="Embedded target only: run the simulation with its data plane (real "
                         "PostgreSQL behind RDS, a DNS server). auto (default): when "
                         "PostgreSQL binaries are found.")


@dataclass(frozen=True)
class DrRunOptions:
    config_path: Path | None
    target_name: str | None
    execute: bool
    confirm: str | None
    declare_outage: str | None
    planned: bool
    pause_between_stages: bool
    dry_run: bool
    results_path: Path | None
    data_plane: bool | None = None  # --dr-data-plane: None is "auto"
    soak_step_s: float | None = None  # --dr-soak-step

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> DrRunOptions:
        get = config.getoption
        return cls(
            config_path=get("--dr-config"), target_name=get("--dr-target"),
            execute=bool(get("--dr-execute")), confirm=get("--dr-confirm"),
            declare_outage=get("--dr-declare-outage"), planned=bool(get("--dr-planned")),
            pause_between_stages=bool(get("--dr-pause-between-stages")),
            dry_run=bool(get("--dr-dry-run")), results_path=get("--dr-results"),
            data_plane={"on": True, "off": False}.get(get("--dr-data-plane")),
            soak_step_s=get("--dr-soak-step"),
        )

    def drill_options(self) -> DrillOptions:
        declaration = (OutageDeclaration.now(self.declare_outage)
                       if self.declare_outage else None)
        return DrillOptions(execute=self.execute and not self.dry_run, planned=self.planned,
                            declared_outage=declaration, dry_run=self.dry_run,
                            soak_step_s=self.soak_step_s)
