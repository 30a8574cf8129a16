"""Choosing the target at the edge: a config file's named target, or the embedded simulation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from maip_drlib.config import Config, Target, embedded_target


def load_cli_config(ctx: click.Context) -> Config:
    from maip_drlib.config_loader import load_config

    return load_config(ctx.find_root().obj.get("config_path"))


def load_target(ctx: click.Context) -> Target:
    """The target the options name; the embedded one when no config file is given."""
    config = load_cli_config(ctx)
    root = ctx.find_root().obj
    if root.get("config_path") is None and not root.get("target_name"):
        return embedded_target(config.topology)
    return config.target(root.get("target_name"))


def check_live_credentials(target: Target, config: Config) -> None:
    """Missing, expired or rejected AWS credentials of a live target: one line, exit 2,
    before pytest starts (call it after the safety guards: a refusal needs no credentials)."""
    if target.kind != "live":
        return
    from maip_drlib.permissions import check_credentials
    from maip_drlib.regions import build_region_handles

    handles = build_region_handles(target, config.topology)
    try:
        check_credentials(handles)
    finally:
        handles.close()


@contextlib.contextmanager
def running_target(ctx: click.Context) -> Iterator[tuple[Config, Target]]:
    """Yield the config and a reachable target, hosting the embedded simulation if asked."""
    config = load_cli_config(ctx)
    target = load_target(ctx)
    if target.kind != "embedded":
        yield config, target
        return
    from maip_drlib.cli.output import current_output
    from maip_drlib.sim.simulation import Simulation

    current_output(ctx).info("maip-dr: starting the embedded simulation (simulated platform "
                             "on 127.0.0.1)")
    simulation = Simulation(topology=config.topology,
                            **({"time_scale": target.time_scale} if target.time_scale else {}))
    simulation.start()
    try:
        yield config, simulation.target(target.name)
    finally:
        simulation.stop()
