"""Command-line options of the drill and the safety rules they imply (DESIGN.md sections 3, 4).

Read once, at the edge, from pytest's config into a frozen ``DrRunOptions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from maip_drlib.drill.context import DrillOptions, OutageDeclaration

TAGS = ("readiness", "replication", "failover", "failback", "destructive", "rpo")
STAGE_TAGS = tuple(f"stage_{n}" for n in range(1, 6))


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
        )

    def drill_options(self) -> DrillOptions:
        declaration = (OutageDeclaration.now(self.declare_outage)
                       if self.declare_outage else None)
        return DrillOptions(execute=self.execute and not self.dry_run, planned=self.planned,
                            declared_outage=declaration, dry_run=self.dry_run)
