"""``maip-dr sim fault ...``: inject or clear a fault in a running simulation (its control URL).

Each command posts one fault switch to the simulation's control server (``SimulationClient``)
and prints the faults now set as JSON. The control URL comes from ``--control-url``,
``MAIP_SIM_CONTROL_URL`` (the env file of ``sim up`` exports it) or a 'sim' target. Safety:
these commands mutate only the simulation, never AWS (a simulation is loopback only). Exit
codes: 0 done; 2 bad input or no running simulation named; 4 the simulation did not answer;
130 interrupted. Not supported: faults of a live target (outages there are injected from
outside the suite).
"""

from __future__ import annotations

import json
from typing import Any

import click

from maip_drlib.config import PRIMARY_REGION, SECONDARY_REGION
from maip_drlib.errors import ConfigError
from maip_drlib.sim_client import SimulationClient

REGIONS = click.Choice([PRIMARY_REGION, SECONDARY_REGION])


@click.group("fault", help="Inject or clear a fault in a running simulation.")
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
