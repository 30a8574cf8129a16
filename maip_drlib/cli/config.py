"""``maip-dr config check [FILE]``: validate a config file and show what it resolves to.

FILE defaults to the global ``--config`` (or ``MAIP_DR_CONFIG``). It prints the resolved
topology and every target (kind, endpoints, per-region profile, kube context and kubeconfig)
and which target runs when ``--target`` is not given; ``--json`` prints the same as one JSON
document. Nothing is contacted: credentials and reachability are checked by ``readiness``.
Everything ``config_loader`` refuses is refused here (bounds, NaN, nesting, a sim target
reaching beyond loopback), as one line with exit 2.

Not supported: checking several files at once; secrets are never part of a config file, so
nothing is redacted here.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from maip_drlib.cli.output import output_options, start_output, supports_output
from maip_drlib.config import Config, Target
from maip_drlib.errors import ConfigError


@click.group("config", help="Check configuration files (read-only; exit 0 valid, 2 invalid).")
def config_group() -> None:
    pass


def _selected(config: Config, target_name: str | None) -> str | None:
    """The target that runs without --target (or the named one); None when ambiguous."""
    try:
        return config.target(target_name).name if config.targets else None
    except ConfigError:
        if target_name:
            raise
        return None


def _target_document(target: Target) -> dict[str, Any]:
    document = asdict(target)
    document["simulated"] = target.simulated
    for side in ("primary", "secondary"):
        document[side] = {k: (str(v) if isinstance(v, Path) else v)
                          for k, v in document[side].items()}
        if target.kind == "embedded":
            document[side]["note"] = "endpoints of the embedded simulation, at run time"
    if document.get("ca_bundle") is not None:
        document["ca_bundle"] = str(document["ca_bundle"])
    return document


def config_document(config: Config, selected: str | None) -> dict[str, Any]:
    """The resolved configuration as plain JSON values."""
    return {
        "source": config.source,
        "valid": True,
        "default_target": config.default_target,
        "selected_target": selected,
        "topology": asdict(config.topology),
        "targets": {name: _target_document(t) for name, t in sorted(config.targets.items())},
    }


@supports_output
@config_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path), metavar="[FILE]")
@output_options
@click.pass_context
def config_check(ctx: click.Context, path: Path | None, as_json: bool, quiet: bool) -> None:
    """Validate FILE (default: --config) and print the resolved targets and topology.

    Read-only: it reads FILE (and the kubeconfig files it names) and contacts nothing. A sim
    target must reach loopback only: its kubeconfig (required) has loopback cluster servers
    and no exec plugin. Exit codes: 0 valid; 2 invalid, with one line naming the file and
    key at fault.
    """
    from maip_drlib.config_loader import describe_config, load_config

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    root = ctx.find_root().obj
    path = path or root.get("config_path")
    if path is None:
        raise ConfigError("give the config file to check (or --config / MAIP_DR_CONFIG)",
                          key="FILE")
    config = load_config(path)
    selected = _selected(config, root.get("target_name"))
    output.document(config_document(config, selected))
    output.result(describe_config(config))
    runs = (f"target {selected!r} runs when --target is not given" if selected
            else "no target is chosen without --target" if config.targets
            else "the embedded simulation runs (no target defined)")
    output.verdict(f"{output.style('config OK', ok=True)}: {path} ({runs})")
