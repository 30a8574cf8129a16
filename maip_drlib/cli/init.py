"""``maip-dr init [PATH]``: write a commented starter config (TOML).

The file holds an ``embedded`` rehearsal target (the default: it touches nothing real), a
``live`` production target with the runbook's profiles and kube contexts, and the whole
topology as comments showing the runbook's names (uncomment what differs). It loads with
``config_loader.load_config`` as written and passes ``maip-dr config check``.

An existing file is never overwritten without ``--force`` (one line, exit 2). A symbolic link
whose target does not exist is refused, even with ``--force`` (one line, exit 2): nothing is
created where it points. A new file is created with ``O_EXCL``, so nothing is written through
a link that appears meanwhile. Not supported:
writing a ``sim`` target (``maip-dr sim up --config-out FILE`` writes one with its live URLs),
interactive questions, other formats than TOML.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

import click

from maip_drlib.config import RegionTopology, ScalingConfig, Topology
from maip_drlib.errors import ConfigError

DEFAULT_PATH = Path("maip-dr.toml")

HEADER = """\
# maip-dr configuration: one topology and named targets.
#   check it:  maip-dr config check {name}
#   use it:    maip-dr --config {name} [--target NAME] readiness | plan | gameday | stage ...
# Every key is validated (unknown keys, types, regions, URLs); the full schema is in
# docs/configuration.md ("Targets and the config file") and in maip_drlib/config_loader.py.

# The target used when --target (or MAIP_DR_TARGET) is not given.
default_target = "rehearsal"
"""

TARGETS = """
# --- targets -------------------------------------------------------------------------------
# kind = "embedded": the simulation runs inside the command on 127.0.0.1; nothing real is
# touched, and every report says SIMULATED. A game day there implies --dr-execute.
[targets.rehearsal]
kind = "embedded"
time_scale = 1.0                      # real seconds per simulated minute (budgets stay in
                                      # business minutes; the evidence shows both)

# A running practice simulation writes its own target: maip-dr sim up --config-out sim.toml

# kind = "live": real AWS in both regions. Read-only commands (readiness, plan) are safe at
# any time. Mutating stages need --dr-execute --dr-confirm prod; a live game day also needs
# --dr-declare-outage "REASON" (unplanned) or --dr-planned. It never injects an outage.
[targets.prod]
kind = "live"
public_endpoint_url = "https://api.maip.example.com"
# ca_bundle = "corporate-ca.pem"      # extra CA for the public endpoint; relative to this file
# dns_nameservers = ["10.0.0.2:53"]   # ask these resolvers where clients land (default: the
                                      # system's); e.g. each of the zone's name servers

# Database access: the data-plane checks (writer or standby, real lag, a real write on the
# promoted database, RDS RPO canaries). Without it they report "not configured", never pass.
# [targets.prod.database]
# dbname = "maip"
# sslmode = "verify-full"
# [targets.prod.database.secret_ids]  # Secrets Manager secret per region (or iam_user = "...")
# us-east-1 = "maip/prod/db-credentials"
# us-west-2 = "maip/prod/db-credentials"

[targets.prod.regions.us-east-1]
profile = "maip-prod"                 # AWS profile; delete the line for the default chain
                                      # (IRSA, instance role, environment)
kube_context = "maip-prod"
# kubeconfig = "kubeconfig.yaml"      # default ~/.kube/config; relative to this file

[targets.prod.regions.us-west-2]
profile = "maip-prod-dr"
kube_context = "maip-prod-dr"
# kubeconfig = "kubeconfig.yaml"
"""


def _toml_value(value: object) -> str:
    if isinstance(value, ScalingConfig):
        return (f"{{ min_size = {value.min_size}, max_size = {value.max_size}, "
                f"desired_size = {value.desired_size} }}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(str(value))  # a TOML basic string for these plain names


def _region_lines(side: str, region: RegionTopology) -> list[str]:
    lines = [f"# [topology.{side}]                 # {region.region} (the region is fixed)"]
    for item in fields(RegionTopology):
        value = getattr(region, item.name)
        if item.name == "region":
            continue
        if value is None:  # no default: say so, never a value that reads "None"
            lines.append(f"# ({item.name}: not set by default; see docs/configuration.md)")
        else:
            lines.append(f"# {item.name} = {_toml_value(value)}")
    return lines


def starter_config(name: str = DEFAULT_PATH.name) -> str:
    """The starter file's text; its topology comments are the runbook's defaults."""
    topology = Topology()
    lines = ["", "# --- topology: the runbook's names (the defaults) ------------------------",
             "# Uncomment and edit only what differs in your accounts.", "# [topology]"]
    for item in fields(Topology):
        if item.name not in ("primary", "secondary"):
            lines.append(f"# {item.name} = {_toml_value(getattr(topology, item.name))}")
    lines.append("#")
    lines += _region_lines("primary", topology.primary)
    lines.append("#")
    lines += _region_lines("secondary", topology.secondary)
    return HEADER.format(name=name) + "\n".join(lines) + "\n" + TARGETS


@click.command("init")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path),
                default=DEFAULT_PATH, metavar="[PATH]")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def init_command(path: Path, force: bool) -> None:
    """Write a commented starter config to PATH (default maip-dr.toml).

    It defines an embedded rehearsal target (the default) and a live production target with
    the runbook's names, and lists the topology as comments. Then run
    'maip-dr config check PATH'. Safety: it writes only PATH, refuses to overwrite it
    without --force and never writes through a symbolic link whose target does not exist.
    Exit codes: 0 written; 2 PATH exists (without --force), is a dangling symbolic link, or
    cannot be written.
    """
    if path.is_dir():
        raise ConfigError("is a folder; give a file name", source=str(path), key="PATH")
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"is a symbolic link to {_link_target(path)!r}, which does not "
                          "exist (nothing written): give the real file name",
                          source=str(path), key="PATH")
    if path.exists() and not force:
        raise ConfigError("already exists (nothing written); pass --force to overwrite it",
                          source=str(path))
    _write(path, starter_config(path.name), overwrite=force)
    click.echo(f"wrote {path}; next: maip-dr config check {path}")


def _link_target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def _write(path: Path, text: str, *, overwrite: bool) -> None:
    """Create ``path`` (never through a symbolic link: ``O_EXCL``), or with ``overwrite``
    truncate the existing file it names (never creating one where a link points)."""
    flags = os.O_WRONLY | (os.O_TRUNC if overwrite and path.exists()
                           else os.O_CREAT | os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o644)
    except FileExistsError as error:
        raise ConfigError("appeared while writing, or is a symbolic link (nothing written)",
                          source=str(path), key="PATH") from error
    except OSError as error:
        raise ConfigError(f"cannot write: {error.strerror or error}", source=str(path),
                          key="PATH") from error
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise ConfigError(f"cannot write: {error.strerror or error}", source=str(path),
                          key="PATH") from error
