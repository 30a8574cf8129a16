"""``maip-dr config``: validate a config file and show what it resolves to."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("config", help="Check configuration files.")
def config_group() -> None:
    pass


@config_group.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def config_check(path: Path) -> None:
    """Validate PATH and print the resolved targets and topology (exit 2 when invalid)."""
    from maip_drlib.config_loader import describe_config, load_config

    click.echo(describe_config(load_config(path)))
