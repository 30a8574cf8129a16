"""``maip-dr sim``: run the simulation in the foreground and drive its faults.

``sim up`` is here; the ``fault`` commands are ``cli.sim_faults`` (added to this group).
"""

from __future__ import annotations

import math
import os
import re
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from maip_drlib.cli.sim_faults import fault_group
from maip_drlib.errors import ConfigError

if TYPE_CHECKING:
    from maip_drlib.sim.planned_listeners import PlannedListeners
    from maip_drlib.sim.simulation import Simulation

# What a config file accepts as a target name (it is typed in --target and --dr-confirm).
_TARGET_NAME = re.compile(r"^[A-Za-z0-9_-]+\Z")


def _time_scale(_ctx: click.Context, _param: click.Parameter,
                value: str | None) -> float | None:
    """A finite number > 0 (click's FloatRange lets nan and inf through), else exit 2."""
    if value is None:
        return None
    try:
        scale = float(value)
    except ValueError:
        scale = math.nan
    if not (scale > 0 and math.isfinite(scale)):
        raise ConfigError(f"expected a finite number of seconds > 0, got {value!r}",
                          key="--time-scale")
    return scale


def _target_name(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _TARGET_NAME.match(value):
        raise ConfigError(f"a target name is letters, digits, '_' and '-', got {value!r}",
                          key=f"--{(param.name or '').replace('_', '-')}")
    return value


@click.group("sim", help="The embedded MAIP simulation (loopback only, simulated).")
def sim_group() -> None:
    pass


@sim_group.command("up")
@click.option("--env-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a bash file that, when sourced, points aws, kubectl and curl at "
                   "this simulation so the runbook's snippets work verbatim.")
@click.option("--config-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a config file with a 'sim' target for this process.")
@click.option("--target-name", default="sim", show_default=True, callback=_target_name,
              help="Name of the target written by --config-out.")
@click.option("--live-config-out", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Also write a config file with a 'live'-kind target aimed at this "
                   "simulation, to rehearse the production path: no control URL and no AWS "
                   "endpoint URL (export AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
                   "AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION, e.g. by sourcing "
                   "--env-file), the simulation's kubeconfig, CA and DNS server, and database "
                   "access with sslmode verify-full against the simulation's CA (only when "
                   "the simulated PostgreSQL serves TLS: binaries built with OpenSSL, such as "
                   "Debian's postgresql). Needs --data-plane; docs/live-rehearsal.md.")
@click.option("--live-target-name", default="live", show_default=True, callback=_target_name,
              help="Name of the target written by --live-config-out.")
@click.option("--time-scale", type=str, default=None, callback=_time_scale,
              metavar="SECONDS",
              help="Real seconds a simulated minute takes, a finite number > 0 (default: the "
                   "simulation's).")
@click.option("--after", "after", default=None, metavar="PHASE:STAGE",
              help="Start in the state a drill has after that stage (failover:1..5 or "
                   "failback:1..4), reached by running the suite's own stages; after a "
                   "failover stage the primary region is still out.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the kubeconfig and CA (default: a temporary folder, removed "
                   "at exit).")
@click.option("--data-plane", is_flag=True, default=False,
              help="Also run real PostgreSQL servers behind the simulated RDS instances "
                   "(credentials in the simulated Secrets Manager) and a loopback DNS server "
                   "for the hosted zone.")
def sim_up(env_file: Path | None, config_out: Path | None, target_name: str,
           live_config_out: Path | None, live_target_name: str, time_scale: float | None,
           after: str | None, state_dir: Path | None, data_plane: bool) -> None:
    """Run the simulation until Ctrl-C or SIGTERM; print a line with "ready" when it is."""
    from maip_drlib.drill.rehearse import advance, parse_after
    from maip_drlib.sim.simulation import Simulation

    advance_to = parse_after(after) if after else None
    _check_outputs({"--env-file": env_file, "--config-out": config_out,
                    "--live-config-out": live_config_out})
    if live_config_out is not None and not data_plane:
        raise ConfigError("needs --data-plane (a live-kind target finds the API name through "
                          "the simulation's DNS server)", key="--live-config-out")
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    kwargs: dict[str, Any] = {}
    if time_scale is not None:
        kwargs["time_scale"] = time_scale
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        kwargs["state_dir"] = state_dir
    if data_plane:
        from maip_drlib.sim.simulation import SimSettings

        kwargs["settings"] = SimSettings(data_plane=True)
    from maip_drlib.config import simulation_topology

    simulation = Simulation(simulation_topology(), **kwargs)  # the embedded run's topology
    click.echo("maip-dr sim: starting the simulated MAIP platform on 127.0.0.1 ...", err=True)
    simulation.start()
    listeners: PlannedListeners | None = None
    try:
        if advance_to is not None:
            click.echo(f"maip-dr sim: running the drill up to {after} ...", err=True)
            advance(simulation, *advance_to,
                    progress=lambda message: click.echo(f"maip-dr sim:   {message}", err=True))
        if env_file is not None:
            simulation.write_env_file(env_file)
        if config_out is not None:
            simulation.write_config(config_out, target_name)
        if live_config_out is not None:
            listeners = _write_live_config(simulation, live_config_out, live_target_name)
        status = simulation.status()
        click.echo(f"maip-dr sim: aws endpoint {status['aws_endpoint_url']}", err=True)
        click.echo(f"maip-dr sim: control {status['control_url']}", err=True)
        click.echo(f"maip-dr sim: kubeconfig {status['kubeconfig']}", err=True)
        if "data_plane" in status:
            plane = status["data_plane"]
            for name, server in sorted(plane["postgres"].items()):
                click.echo(f"maip-dr sim: postgres {name} ({server['region']}, "
                           f"{server['role']}) 127.0.0.1:{server['port']}", err=True)
            click.echo(f"maip-dr sim: dns {plane['dns_nameserver']}", err=True)
        if env_file is not None:
            click.echo(f"maip-dr sim: source {env_file} to use aws, kubectl and curl", err=True)
        click.echo(f"maip-dr sim: ready (pid {os.getpid()}; Ctrl-C or SIGTERM stops it)",
                   err=False)
        while not stop.wait(0.5):
            pass
    finally:
        click.echo("maip-dr sim: stopping ...", err=True)
        if listeners is not None:
            listeners.stop()
        simulation.stop()
        click.echo("maip-dr sim: stopped", err=True)


def _check_outputs(outputs: dict[str, Path | None]) -> None:
    """Every output file's folder exists, and no two options name the same file."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        if not path.parent.is_dir():
            raise ConfigError(f"folder {str(path.parent)!r} does not exist", key=option)
        resolved = path.resolve()
        if resolved in seen:
            raise ConfigError(f"{str(path)!r} is also the file of {seen[resolved]}", key=option)
        seen[resolved] = option


def _write_live_config(simulation: Simulation, path: Path, name: str) -> PlannedListeners:
    """Listen on the DNS plan's addresses (a live target connects where DNS answers) and
    write the live-kind target; returns the listeners, to stop with the simulation."""
    from maip_drlib.sim.config_out import render_live_config
    from maip_drlib.sim.planned_listeners import PlannedListeners

    plane = simulation.data_plane
    plan = plane.dns_plan_document() if plane is not None else None
    if plan is None:
        raise ConfigError("the simulation's DNS server is not running", key="--live-config-out")
    listeners = PlannedListeners({address: int(entry["port"])
                                  for address, entry in plan["addresses"].items()
                                  if entry.get("port")})
    port = listeners.start()
    host = simulation.topology.record_name
    url = f"https://{host}" if port == 443 else f"https://{host}:{port}"
    fleet = getattr(plane, "fleet", None)
    database = (plane.database_access()  # only over TLS: a live target needs verify-full
                if fleet is not None and getattr(fleet, "tls_enabled", False) else None)
    path.write_text(render_live_config(name, simulation.target(name, "sim"),
                                       public_endpoint_url=url,
                                       aws_endpoint_url=simulation.aws_endpoint_url,
                                       database=database, topology=simulation.topology,
                                       kafka=getattr(plane, "kafka", None) is not None))
    click.echo(f"maip-dr sim: live target {name!r} in {path} ({url}; the API name's DNS "
               f"answers {', '.join(sorted(plan['addresses']))} are served on port {port}); "
               "export AWS_ENDPOINT_URL and the dummy keys first (the env file does)", err=True)
    return listeners


sim_group.add_command(fault_group)
