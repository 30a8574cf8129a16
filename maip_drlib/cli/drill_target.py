"""The drill's target as a config file the pytest session loads; hosts the embedded simulation.

For a 'sim' or 'live' target it is the operator's own config file; for the embedded target
it starts the simulation in a child process (``sim/hosted.py``: with its data plane when
asked or when PostgreSQL is found), as ``sim up`` would, and writes a temporary 'sim' target
pointing at it. Not supported: a data-plane choice
for 'sim' or 'live' targets (refused: 'sim up --data-plane' is the way there).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from maip_drlib.cli.output import current_output
from maip_drlib.cli.targets import load_cli_config, load_target
from maip_drlib.config import Config, Target
from maip_drlib.drill.feature_values import check_feature_values
from maip_drlib.drill.pytest_runner import scenarios_root
from maip_drlib.sim.data_plane_choice import embedded_data_plane, refuse_unless_embedded


@contextlib.contextmanager
def drill_target(ctx: click.Context, *, data_plane: bool | None = None
                  ) -> Iterator[tuple[Config, Target, Path, bool]]:
    """The target as a config file pytest can load; hosts the embedded simulation.

    ``data_plane`` (embedded only): True starts the simulation with its data plane (real
    PostgreSQL behind RDS, a loopback DNS server), None starts it when PostgreSQL binaries
    are found (else the simulation runs without it, saying so), False never. Given (True or
    False) for a 'sim' or 'live' target it is refused (exit 2): a 'sim up --data-plane'
    process is the way there. The feature files' values are checked first: a bad threshold
    stops the drill before any simulation, lease or API call."""
    check_feature_values(scenarios_root() / "features")
    config = load_cli_config(ctx)
    target = load_target(ctx)
    refuse_unless_embedded(target, data_plane)
    if target.kind != "embedded":
        path = ctx.find_root().obj["config_path"]
        yield config, target, Path(path).resolve(), False
        return
    from maip_drlib.sim.hosted import hosted_simulation
    from maip_drlib.sim.simulation import SimSettings

    output = current_output(ctx)
    with_plane = embedded_data_plane(data_plane, output.error)
    output.info("maip-dr: starting the embedded simulation (simulated platform on 127.0.0.1"
                + (", with its data plane: PostgreSQL and DNS" if with_plane else "")
                + ", in a process of its own)")
    settings = SimSettings(data_plane=True) if with_plane else None
    with hosted_simulation(config.topology, time_scale=target.time_scale or None,
                           settings=settings, name="embedded-sim") as (hosted, text), \
            tempfile.TemporaryDirectory(prefix="maip-drill-") as folder:
        path = Path(folder) / "target.toml"
        path.write_text(text)
        yield config, hosted, path, True
