"""``maip-dr sim``: run the simulation in the foreground and drive its faults."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from maip_drlib.config import PRIMARY_REGION, SECONDARY_REGION
from maip_drlib.errors import ConfigError
from maip_drlib.sim_client import SimulationClient

if TYPE_CHECKING:
    from maip_drlib.sim.planned_listeners import PlannedListeners
    from maip_drlib.sim.simulation import Simulation

REGIONS = click.Choice([PRIMARY_REGION, SECONDARY_REGION])
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


@sim_group.group("fault", help="Inject or clear a fault in a running simulation.")
@click.option("--control-url", envvar="MAIP_SIM_CONTROL_URL", show_envvar=True, default=None,
              help="Control URL of the running simulation (the env file exports it).")
@click.pass_context
def fault_group(ctx: click.Context, control_url: str | None) -> None:
    ctx.obj["control_url"] = control_url


def _client(ctx: click.Context) -> SimulationClient:
    url = ctx.obj.get("control_url")
    if not url:
        from maip_drlib.cli.targets import load_target

        target = load_target(ctx)
        url = target.control_url
        if target.kind != "sim" or not url:
            raise ConfigError("needs a running simulation: pass --control-url, source the env "
                              "file of 'maip-dr sim up', or choose a 'sim' target",
                              key="--control-url")
    return SimulationClient(url)


def _show(result: dict[str, Any]) -> None:
    click.echo(json.dumps(result.get("faults", result), indent=2, sort_keys=True))


@fault_group.command("outage", help="Take a region down: its AWS APIs (but Route 53, IAM and "
                     "STS), Kubernetes API and endpoint refuse connections, or hang.")
@click.option("--region", type=REGIONS, required=True)
@click.option("--mode", type=click.Choice(["refuse", "hang"]), default="refuse",
              show_default=True)
@click.pass_context
def fault_outage(ctx: click.Context, region: str, mode: str) -> None:
    _show(_client(ctx).outage(region, mode))


@fault_group.command("restore", help="Bring a region back and clear its endpoint and pod "
                     "faults.")
@click.option("--region", type=REGIONS, required=True)
@click.pass_context
def fault_restore(ctx: click.Context, region: str) -> None:
    _show(_client(ctx).restore(region))


@fault_group.command("lag", help="Set the replication lag a store reports, in seconds.")
@click.option("--store", type=click.Choice(["rds", "dynamodb", "msk"]), required=True)
@click.option("--seconds", type=click.FloatRange(min=0), required=True)
@click.pass_context
def fault_lag(ctx: click.Context, store: str, seconds: float) -> None:
    _show(_client(ctx).fault("lag", store=store, seconds=seconds))


@fault_group.command("replicator", help="Set the MSK replicator's state.")
@click.option("--state", type=click.Choice(["RUNNING", "FAILED", "CREATING", "UPDATING",
                                            "DELETING"]), required=True)
@click.pass_context
def fault_replicator(ctx: click.Context, state: str) -> None:
    _show(_client(ctx).fault("replicator", state=state))


@fault_group.command("promotion", help="How the next RDS promotion behaves.")
@click.option("--mode", type=click.Choice(["normal", "stuck", "fail"]), required=True)
@click.pass_context
def fault_promotion(ctx: click.Context, mode: str) -> None:
    _show(_client(ctx).fault("promotion", mode=mode))


@fault_group.command("endpoint", help="Make a region's endpoint answer an HTTP status, or "
                     "report components DOWN.")
@click.option("--region", type=REGIONS, required=True)
@click.option("--http-status", type=click.IntRange(100, 599), default=200, show_default=True)
@click.option("--down", "down_components", multiple=True,
              help="Component reported DOWN (repeatable), e.g. db.")
@click.pass_context
def fault_endpoint(ctx: click.Context, region: str, http_status: int,
                   down_components: tuple[str, ...]) -> None:
    _show(_client(ctx).fault("endpoint", region=region, http_status=http_status,
                             down_components=list(down_components)))


@fault_group.command("pods", help="Make a region's pods never become ready (or clear it).")
@click.option("--region", type=REGIONS, required=True)
@click.option("--reason", default=None,
              help="Waiting reason, e.g. CrashLoopBackOff or ImagePullBackOff; omit to clear.")
@click.pass_context
def fault_pods(ctx: click.Context, region: str, reason: str | None) -> None:
    _show(_client(ctx).fault("pods", region=region, reason=reason))


@fault_group.command("alb", help="Degrade a region's ALB metrics (HTTPCode_ELB_5XX_Count per "
                     "minute, TargetResponseTime); without --5xx-count and --latency-s the "
                     "fault is cleared. The endpoint and its health check are unchanged.")
@click.option("--region", type=REGIONS, required=True)
@click.option("--5xx-count", "http_5xx_count", type=click.FloatRange(min=0), default=None,
              help="HTTP 5XX count the ALB reports per minute.")
@click.option("--latency-s", "latency_s", type=click.FloatRange(min=0), default=None,
              help="Target response time the ALB reports, in seconds.")
@click.pass_context
def fault_alb(ctx: click.Context, region: str, http_5xx_count: float | None,
              latency_s: float | None) -> None:
    _show(_client(ctx).fault("alb", region=region, http_5xx_count=http_5xx_count,
                             target_response_time_s=latency_s))


@fault_group.command("route53-control-plane", help="Impair (or heal) Route 53's control "
                     "plane: its API answers 503; DNS answers and health checks go on.")
@click.option("--impaired/--healthy", default=True, show_default=True)
@click.pass_context
def fault_route53(ctx: click.Context, impaired: bool) -> None:
    _show(_client(ctx).fault("route53-control-plane", impaired=impaired))


@fault_group.command("status", help="Print the simulation's endpoints and current faults.")
@click.pass_context
def fault_status(ctx: click.Context) -> None:
    click.echo(json.dumps(_client(ctx).status(), indent=2, sort_keys=True))


@fault_group.command("api", help="Make AWS API calls fail: refuse (connection dropped), hang "
                     "(no answer), 5xx (HTTP 503 ServiceUnavailable) or throttle (the service's "
                     "own throttling error: Throttling, ThrottlingException, or "
                     "TooManyRequestsException with HTTP 429), for one service and region, for "
                     "a burst of --count calls or until 'api-clear'. botocore retries 5xx and "
                     "throttles as it would against AWS.")
@click.option("--kind", type=click.Choice(["refuse", "hang", "5xx", "throttle"]), required=True)
@click.option("--service", default="*", show_default=True,
              help="SigV4 signing name (rds, eks, route53, kafka, dynamodb, monitoring, "
                   "elasticloadbalancing, ...) or * (Route 53, IAM and STS only by name).")
@click.option("--region", default="*", show_default=True,
              type=click.Choice([PRIMARY_REGION, SECONDARY_REGION, "*"]))
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Hit only the next N matching calls (a burst); default: every call.")
@click.option("--status", type=click.IntRange(400, 599), default=None,
              help="HTTP status instead of the service's usual one.")
@click.option("--code", default=None, help="Error code instead of the service's usual one.")
@click.pass_context
def fault_api(ctx: click.Context, kind: str, service: str, region: str, count: int | None,
              status: int | None, code: str | None) -> None:
    if kind == "hang" and count is not None:
        raise ConfigError("a hang fault is persistent; drop --count", key="--count")
    _show(_client(ctx).fault("api", kind=kind, service=service, region=region, count=count,
                             status=status, code=code))


@fault_group.command("api-clear", help="Remove AWS API faults (all, or those set for exactly "
                     "this --service and/or --region).")
@click.option("--service", default=None)
@click.option("--region", default=None)
@click.pass_context
def fault_api_clear(ctx: click.Context, service: str | None, region: str | None) -> None:
    _show(_client(ctx).fault("api-clear", service=service, region=region))


@fault_group.command("kube-api", help="Make only a region's Kubernetes API refuse connections "
                     "or hang (AWS APIs and endpoint unaffected); --mode none clears it.")
@click.option("--region", type=REGIONS, required=True)
@click.option("--mode", type=click.Choice(["refuse", "hang", "none"]), required=True)
@click.pass_context
def fault_kube_api(ctx: click.Context, region: str, mode: str) -> None:
    _show(_client(ctx).fault("kube-api", region=region,
                             mode=None if mode == "none" else mode))


@fault_group.command("nodes", help="Make every node of a region report NotReady while its "
                     "Kubernetes API answers (--ready clears it).")
@click.option("--region", type=REGIONS, required=True)
@click.option("--not-ready/--ready", default=True, show_default=True)
@click.pass_context
def fault_nodes(ctx: click.Context, region: str, not_ready: bool) -> None:
    _show(_client(ctx).fault("nodes", region=region, not_ready=not_ready))


@fault_group.command("nodegroup-update", help="EKS node group updates end Failed "
                     "(AsgInstanceLaunchFailures) and leave the scaling as it was; --succeed "
                     "clears it.")
@click.option("--fail/--succeed", "fails", default=True, show_default=True)
@click.pass_context
def fault_nodegroup_update(ctx: click.Context, fails: bool) -> None:
    _show(_client(ctx).fault("nodegroup-update", fails=fails))


@fault_group.command("route53-change", help="Route 53 changes stay PENDING (never INSYNC); "
                     "--insync clears it.")
@click.option("--stuck/--insync", default=True, show_default=True)
@click.pass_context
def fault_route53_change(ctx: click.Context, stuck: bool) -> None:
    _show(_client(ctx).fault("route53-change", stuck=stuck))


@fault_group.command("synthetic", help="Make a region's application paths (/api/...) answer an "
                     "HTTP status while its health endpoint stays UP; omit --http-status to "
                     "clear.")
@click.option("--region", type=REGIONS, required=True)
@click.option("--http-status", type=click.IntRange(100, 599), default=None)
@click.pass_context
def fault_synthetic(ctx: click.Context, region: str, http_status: int | None) -> None:
    _show(_client(ctx).fault("synthetic", region=region, http_status=http_status))


@fault_group.command("replication-cut", help="Cut the replication link into every simulated "
                     "PostgreSQL standby (writes the writer acknowledges stop reaching it: real "
                     "data loss at the next outage); --off restores it. Needs 'sim up "
                     "--data-plane'.")
@click.option("--on/--off", "cut", default=True, show_default=True)
@click.pass_context
def fault_replication_cut(ctx: click.Context, cut: bool) -> None:
    _show(_client(ctx).replication_cut(cut))
