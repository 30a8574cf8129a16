"""``maip-dr gameday``, ``stage`` and ``plan``: the drill from the command line.

``gameday`` on the embedded target hosts the simulation in this process and runs pytest
against it; against a ``sim`` target it injects and restores the outage through the control
URL; against ``live`` it never injects anything and needs ``--dr-declare-outage`` or
``--dr-planned``. Extra arguments after ``--`` go to pytest (``-k``, ``-x``, markers).

``gameday`` and a mutating ``stage`` hold the drill lease (docs/lease.md) for their whole run:
a second one against the same platform refuses (exit 3) naming the holder;
``--dr-break-lease REASON`` takes over a dead holder's lease; ``--dr-lease-ttl`` overrides
the topology's TTL. ``plan`` and readiness are read-only and take no lease.

Output (``maip_drlib.cli_output``): ``gameday``, ``stage``, ``plan`` and ``lease show`` take
``--json`` (one document on stdout: the summary, results, evidence folder and digest; the
calls; the holder) and ``--quiet`` (errors and the verdict line only). Not supported:
``--quiet`` with ``--dr-pause-between-stages`` (refused: it would hide the question).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import click
from botocore.exceptions import ClientError

from maip_drlib.cli_consent import consent_options, require_write_consent
from maip_drlib.cli_output import (
    Output,
    check_quiet_with_pause,
    current_output,
    output_options,
    start_output,
    supports_output,
)
from maip_drlib.cli_passthrough import check_passthrough
from maip_drlib.cli_targets import check_live_credentials, load_cli_config, load_target
from maip_drlib.config import Config, Target
from maip_drlib.drill import summary
from maip_drlib.drill.evidence_dirs import AttemptDir, new_drill_id, next_attempt
from maip_drlib.drill.feature_values import check_feature_values
from maip_drlib.drill.gameday import GamedayPlan, all_results, run_gameday
from maip_drlib.drill.lease import DrillLease, Holder, LeaseGrant, lease_key
from maip_drlib.drill.operations import Operations
from maip_drlib.drill.pytest_runner import PytestRun, run_scenarios, scenarios_root
from maip_drlib.drill.where_it_stands import StageRun, record_interruption, say_where_it_stands
from maip_drlib.errors import ConfigError, DRError, GuardRefused
from maip_drlib.evidence.edge_secrets import redactor_from_environment
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.manifest import Seal, load_key, seal
from maip_drlib.evidence.redact import Redactor
from maip_drlib.sim.data_plane_choice import embedded_data_plane, refuse_unless_embedded
from maip_drlib.sim_client import SimulationClient
from maip_drlib.write_gate import WriteGate

PASSTHROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}
MIN_REASON_CHARS = 10
OUTAGE_REASON = "game day: injected simulated outage of the primary region"


def _positive_seconds(_ctx: click.Context, param: click.Parameter,
                      value: str | None) -> float | None:
    """A finite number of seconds > 0, or one ConfigError line naming the option."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"expected a finite number of seconds > 0, got {value!r}",
                          key=f"--{(param.name or '').replace('_', '-')}")
    return seconds


def _reason(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An operator's reason: at least 10 printable characters, no control characters."""
    if value is None:
        return None
    option = param.opts[0] if param.opts else f"--{param.name}"
    return check_reason(value, option)


def check_reason(value: str, option: str) -> str:
    """``value`` stripped, or one ConfigError line naming ``option``."""
    if any(not character.isprintable() for character in value):
        raise ConfigError("the reason contains control characters", key=option)
    stripped = value.strip()
    if len(stripped) < MIN_REASON_CHARS:
        raise ConfigError(f"give a reason of at least {MIN_REASON_CHARS} printable characters "
                          f"(it is recorded in the evidence), got {value!r}", key=option)
    return stripped


def _lease_ttl(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from maip_drlib.drill.lease import LEASE_TTL_MAX_S, LEASE_TTL_MIN_S

    seconds = _positive_seconds(ctx, param, value)
    if seconds is not None and not LEASE_TTL_MIN_S <= seconds <= LEASE_TTL_MAX_S:
        raise ConfigError(f"expected {LEASE_TTL_MIN_S:g} to {LEASE_TTL_MAX_S:g} seconds, got "
                          f"{value}", key="--dr-lease-ttl")
    return seconds


def _canary_window(ctx: click.Context, param: click.Parameter, value: str | None
                   ) -> float | None:
    seconds = _positive_seconds(ctx, param, value)
    if seconds is not None and not 0.5 <= seconds <= 3600:
        raise ConfigError(f"expected 0.5 to 3600 seconds, got {value}", key="--canary-window")
    return seconds


def _safety_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.option("--dr-execute", is_flag=True, help="Allow mutating stages (implied by "
                     "gameday on the embedded target)."),
        click.option("--dr-confirm", default=None, metavar="TARGET",
                     help="Repeat the target's name; required with --dr-execute on sim and "
                          "live targets."),
        click.option("--dr-declare-outage", default=None, metavar="REASON", callback=_reason,
                     help="Declare the primary region down (recorded with who and when; "
                          "at least 10 printable characters)."),
        click.option("--dr-planned", is_flag=True, help="Planned failover: fence the primary "
                     "at the application and wait for replica lag zero first."),
        click.option("--dr-pause-between-stages", is_flag=True,
                     help="Wait for the operator's approval before each mutating stage."),
        click.option("--reports", "reports_dir", type=click.Path(path_type=Path),
                     default=Path("reports"), show_default=True,
                     help="Folder for evidence: <reports>/<drill id>/attempt-<n>/."),
        click.option("--drill-id", default=None,
                     help="Add an attempt to this drill (resume) instead of a new one."),
        click.option("--dr-break-lease", "dr_break_lease", default=None, metavar="REASON",
                     callback=_reason,
                     help="Take over the drill lease another (dead) drill holds; the reason "
                          "and the previous holder are recorded."),
        click.option("--dr-lease-ttl", "dr_lease_ttl", default=None, metavar="SECONDS",
                     callback=_lease_ttl,
                     help="Lease expiry after the last heartbeat, 15 to 3600 (default: the "
                          "topology's lease_ttl_s, 60)."),
    ]):
        func = option(func)
    return func


def _dr_args(target: Target, config_path: Path, opts: dict,
             lease_holder: Holder | None = None) -> list[str]:
    args = ["--dr-config", str(config_path), "--dr-target", target.name]
    if lease_holder is not None:
        args += ["--dr-lease-holder", lease_holder.holder_id]
    if opts.get("dr_execute"):
        args.append("--dr-execute")
    if opts.get("dr_confirm"):
        args += ["--dr-confirm", opts["dr_confirm"]]
    if opts.get("dr_declare_outage"):
        args += ["--dr-declare-outage", opts["dr_declare_outage"]]
    if opts.get("dr_planned"):
        args.append("--dr-planned")
    if opts.get("dr_pause_between_stages"):
        args.append("--dr-pause-between-stages")
    return args


@contextlib.contextmanager
def _drill_target(ctx: click.Context, *, data_plane: bool | None = None
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
    from maip_drlib.sim.config_out import render_sim_config
    from maip_drlib.sim.simulation import SimSettings, Simulation

    output = current_output(ctx)
    with_plane = embedded_data_plane(data_plane, output.error)
    output.info("maip-dr: starting the embedded simulation (simulated platform on 127.0.0.1"
                + (", with its data plane: PostgreSQL and DNS" if with_plane else "") + ")")
    settings = SimSettings(data_plane=True) if with_plane else None
    with Simulation(config.topology, time_scale=target.time_scale or None,
                    settings=settings) as simulation, \
            tempfile.TemporaryDirectory(prefix="maip-drill-") as folder:
        hosted = simulation.target("embedded-sim", "sim")
        path = Path(folder) / "target.toml"
        path.write_text(render_sim_config(hosted, config.topology))
        yield config, hosted, path, True


def _print_summary(output: Output, runs: list[PytestRun], target: Target,
                   attempt: AttemptDir, started: float, results: list[dict] | None = None,
                   sealed: Seal | None = None) -> int:
    """The table, evidence folder, digest and verdict (or the --json document); the code."""
    results = results if results is not None else [r for run in runs for r in run.results]
    elapsed = time.monotonic() - started
    banner = " (SIMULATED)" if target.simulated else ""
    code = summary.exit_code(results, [run.exit_code for run in runs])
    output.result(f"\nDrill {attempt.drill_id} attempt {attempt.number} against "
                  f"{target.name!r} [{target.kind}]{banner} in {elapsed:.1f}s")
    output.result(summary.colour_outcomes(
        summary.table(results, target.time_scale if target.simulated else None), output.style))
    written = _summary_json(attempt.path)
    if written.get("rpo"):
        from maip_drlib.evidence.summary import rpo_line

        output.result(rpo_line(written["rpo"]))
    output.result(f"evidence: {attempt.path}")
    _print_seal(output, sealed)
    if output.quiet:
        for failed in summary.failures(results):
            output.error(f"maip-dr: {failed}")
    output.document(summary.document(
        results, exit_code=code, elapsed_s=elapsed, drill_id=attempt.drill_id,
        rto_end_to_end=written.get("rto_end_to_end"), rpo=written.get("rpo"),
        attempt=attempt.number, evidence=str(attempt.path),
        target={"name": target.name, "kind": target.kind, "simulated": target.simulated,
                "time_scale": target.time_scale if target.simulated else None},
        digest=sealed.digest if sealed else None,
        signature=sealed.signature if sealed else None))
    word = output.style("PASS" if code == 0 else "FAIL", ok=code == 0)
    output.verdict(f"verdict: {word} (exit {code})")
    return code


def _summary_json(attempt_dir: Path) -> dict:
    """The game day's summary.json (RTO end to end, RPO), or nothing for a single stage."""
    import json

    try:
        loaded = json.loads((attempt_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _check_drill_id(drill_id: str | None) -> None:
    from maip_drlib.drill.evidence_dirs import DRILL_ID

    if drill_id is not None and not DRILL_ID.match(drill_id):
        raise ConfigError(f"drill id {drill_id!r} must be letters, digits, '.', '_' or '-'",
                          key="--drill-id")


@contextlib.contextmanager
def _drill_lease(config: Config, target: Target, drill_id: str, opts: dict,
                 output: Output) -> Iterator[tuple[DrillLease, LeaseGrant]]:
    """Hold the drill lease (heartbeat running) for the block; released at its end."""
    from maip_drlib.regions import build_region_handles

    _check_drill_id(drill_id)  # before the lease records it
    info = output.info

    topology = config.topology
    ttl = opts.get("dr_lease_ttl") or topology.lease_ttl_s
    handles = build_region_handles(target, topology,  # consent checked before
                                   writes=WriteGate.consented(target=target.name))
    try:
        lease = DrillLease(client=handles.secondary.client("dynamodb"),
                           table=topology.lease_table, region=handles.secondary.region,
                           key=lease_key(topology.record_name), ttl_s=float(ttl),  # type: ignore[arg-type]
                           holder=Holder.this_process(drill_id),
                           ttl_key="--dr-lease-ttl" if opts.get("dr_lease_ttl")
                           else "topology.lease_ttl_s")
        grant = lease.acquire(opts.get("dr_break_lease"))  # type: ignore[arg-type]
        taken = " (taken over from a previous holder)" if grant.broken else ""
        info(f"maip-dr: drill lease acquired{taken}: {grant.key} in {grant.table} "
             f"({grant.region}), ttl {grant.ttl_s:g}s, holder {grant.holder.who}")
        lease.start_heartbeat()
        try:
            yield lease, grant
        finally:
            try:
                if not lease.release():
                    output.error("maip-dr: the drill lease was no longer ours at the end "
                                 "(broken by another drill)")
            except (DRError, ClientError) as error:
                output.error(f"maip-dr: could not release the drill lease ({error}); it "
                             f"expires by itself after {grant.ttl_s:g}s")
    finally:
        handles.close()


def _check_confirm(target: Target, opts: dict) -> None:
    """--dr-execute on sim and live targets needs --dr-confirm with the target's name."""
    if target.kind in ("sim", "live") and opts.get("dr_execute") and \
            opts.get("dr_confirm") != target.name:
        given = f"got {opts.get('dr_confirm')!r}" if opts.get("dr_confirm") else "it is missing"
        raise GuardRefused(f"--dr-confirm must repeat the target's name {target.name!r} to run "
                           f"mutating stages on a {target.kind} target ({given}); nothing was "
                           "called")


def _operations_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.option("--metrics-namespace", envvar="MAIP_DR_METRICS_NAMESPACE",
                     show_envvar=True, default=None,
                     help="Publish the results as CloudWatch metrics in this namespace "
                          "(e.g. MAIP/DR), from the region that is up."),
        click.option("--s3-bucket", envvar="MAIP_DR_S3_BUCKET", show_envvar=True,
                     default=None, help="Copy the sealed evidence to this S3 bucket."),
        click.option("--s3-prefix", envvar="MAIP_DR_S3_PREFIX", show_envvar=True,
                     default="maip-dr", show_default=True, help="Key prefix in the bucket."),
    ]):
        func = option(func)
    return func


def operations_from_cli(ctx: click.Context, metrics_namespace: str | None,
                        s3_bucket: str | None, s3_prefix: str) -> Operations | None:
    """The operations settings, checked before anything runs (exit 2 on a bad value); the
    webhook URL only from MAIP_DR_WEBHOOK_URL (a secret: never an option)."""
    from maip_drlib.metrics_publish import check_namespace
    from maip_drlib.notify import WEBHOOK_URL_ENV, WebhookSettings
    from maip_drlib.report_upload import check_settings

    try:
        if metrics_namespace:
            check_namespace(metrics_namespace)
        if s3_bucket:
            check_settings(s3_bucket)
    except ValueError as error:
        raise ConfigError(str(error), key="--metrics-namespace" if "namespace" in str(error)
                          else "--s3-bucket") from error
    url = os.environ.get(WEBHOOK_URL_ENV, "").strip()
    webhook = WebhookSettings(url) if url else None
    if not (webhook or metrics_namespace or s3_bucket):
        return None
    return Operations(webhook=webhook, metrics_namespace=metrics_namespace or None,
                      s3_bucket=s3_bucket or None, s3_prefix=s3_prefix)


@supports_output
@click.command("gameday", context_settings=PASSTHROUGH)
@_safety_options
@click.option("--resume-from", default=None, metavar="PHASE:STAGE",
              help="Resume an interrupted drill (with --drill-id) at failover:N or failback:N; "
                   "a new attempt of the same drill.")
@click.option("--dr-accept-readiness-failures", "accept_readiness", default=None,
              metavar="REASON", callback=_reason,
              help="Go on when the readiness phase fails (a no-go otherwise: exit 1 before "
                   "the first mutating stage); the reason, the failed checks and the operator "
                   "are journalled.")
@click.option("--hmac-key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sign the evidence digest with this key (or MAIP_DR_HMAC_KEY); never "
                   "written anywhere.")
@click.option("--data-plane/--no-data-plane", default=None,
              help="Embedded target only: run the simulation with (default, when PostgreSQL "
                   "binaries are found) or without its data plane (real PostgreSQL behind "
                   "RDS, a DNS server); with it the stages check the databases and RDS RPO "
                   "is measured. Refused (exit 2) for sim and live targets.")
@click.option("--canary-window", "canary_window_s", default=None, metavar="SECONDS",
              callback=_canary_window,
              help="Seconds the canaries are written before the outage (0.5 to 3600). "
                   "Default: 2 s on a simulation, 20 s live, longer when the replication lag "
                   "is high; the measured RPO is at most about this window.")
@_operations_options
@output_options
@click.pass_context
def gameday_command(ctx: click.Context, reports_dir: Path, drill_id: str | None,
                    resume_from: str | None, accept_readiness: str | None,
                    hmac_key_file: Path | None, data_plane: bool | None,
                    canary_window_s: float | None,
                    metrics_namespace: str | None, s3_bucket: str | None, s3_prefix: str,
                    as_json: bool, quiet: bool, **opts: object) -> None:
    """Readiness, outage, failover stages 1-5, restore, failback stages 1-4, readiness.

    MUTATES the target. On the embedded target (no config) the simulation runs in this
    process and --dr-execute and --dr-confirm are implied; on 'sim' and 'live' targets
    nothing at all is written (lease, canaries, metrics, uploads, stages) without
    --dr-execute --dr-confirm NAME (exit 3 before the first call); on a 'sim' target the
    outage is injected through its control URL; on a live target also --dr-declare-outage
    REASON or --dr-planned (nothing is injected). Go / no-go: a failed readiness phase stops
    the drill before its first mutating stage (exit 1) unless
    --dr-accept-readiness-failures REASON; under a declared outage the primary region's own
    checks are expected to fail and only recorded. It holds the drill lease; evidence goes to
    <reports>/<drill id>/attempt-<n>/. Exit codes: 0 every stage passed within its RTO budget;
    1 a stage failed, ran over budget, a mutating stage was skipped, or no-go; 2 bad input;
    3 refused by a guard (consent, lease, promotion guard, a stage's precondition); 4
    environment error; 130 interrupted (SIGINT); 143 terminated (SIGTERM).
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    check_quiet_with_pause(output, bool(opts.get("dr_pause_between_stages")))
    extra = check_passthrough(ctx.args)
    _check_drill_id(drill_id)
    if resume_from and not drill_id:
        raise ConfigError("--resume-from needs --drill-id (the drill to continue)",
                          key="--resume-from")
    resume = parse_resume(resume_from) if resume_from else None
    check_reports_folder(reports_dir, drill_id if resume_from else None)
    key = load_key(os.environ.get("MAIP_DR_HMAC_KEY"), hmac_key_file)
    output.redact = redactor_for(key).text
    operations = operations_from_cli(ctx, metrics_namespace, s3_bucket, s3_prefix)
    pre_target = load_target(ctx)
    if pre_target.kind != "embedded":  # every refusal before a simulation or a call
        _check_gameday_consent(pre_target, opts, resuming=resume is not None)
    elif resume is not None:
        raise ConfigError("resuming needs the persistent target the drill ran against "
                          "(a 'sim up' process or live), not a fresh embedded simulation",
                          key="--resume-from")
    with _drill_target(ctx, data_plane=data_plane) as (config, target, config_path, hosted):
        if hosted:
            opts.update(dr_execute=True, dr_confirm=target.name)
        check_live_credentials(target, config)
        drill = drill_id or new_drill_id("gameday")
        with _drill_lease(config, target, drill, opts, output) as (lease, grant):
            attempt = next_attempt(reports_dir, drill)
            output.info(f"maip-dr: drill {attempt.drill_id}, attempt {attempt.number}: "
                        f"evidence in {attempt.path}")
            control = SimulationClient(target.control_url) if target.kind == "sim" else None
            injected = control is not None and not (opts.get("dr_declare_outage")
                                                    or opts.get("dr_planned"))
            if injected:
                opts["dr_declare_outage"] = OUTAGE_REASON
            plan = GamedayPlan(
                target=target, topology=config.topology, attempt=attempt,
                dr_args=_dr_args(target, config_path, opts, lease_holder=grant.holder),
                extra_args=extra, control=control, resume_from=resume, hmac_key=key,
                redactor=redactor_for(key), echo=output.info, lease=lease, lease_grant=grant,
                operations=operations, canary_window_s=canary_window_s,
                accept_readiness_failures=accept_readiness,
                outage_injected=injected,
                resume_command="" if hosted else _resume_command(ctx, target,
                                                                 attempt.drill_id, opts))
            started = time.monotonic()
            result = run_gameday(plan)
            code = _print_summary(output, result.runs, target, attempt, started,
                                  results=all_results(attempt.path.parent),
                                  sealed=result.seal)
            if result.no_go:
                code = max(code, 1) if code != 0 else 1
        ctx.exit(code)


def _check_gameday_consent(target: Target, opts: dict, *, resuming: bool) -> None:
    """Consent (DESIGN.md 4a): on sim and live targets a game day writes nothing without
    --dr-execute and --dr-confirm NAME; a live one also needs a declaration."""
    require_write_consent(target, execute=bool(opts.get("dr_execute")),
                          confirm=opts.get("dr_confirm"),  # type: ignore[arg-type]
                          what="a game day (lease, canaries, stages)")
    if target.kind == "live" and not (opts.get("dr_declare_outage") or opts.get("dr_planned")):
        raise GuardRefused("a live game day needs --dr-declare-outage REASON or --dr-planned;"
                           " it never injects an outage; nothing was called")
    del resuming  # the same consent holds for a resumed attempt


def check_reports_folder(reports_dir: Path, resumed_drill: str | None) -> None:
    """The evidence folder must be writable (checked before the lease), and a resumed drill
    must exist in it."""
    probe = reports_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{reports_dir} is not a writable folder (checked at {probe})",
                          key="--reports")
    if resumed_drill is not None and not (reports_dir / resumed_drill).is_dir():
        raise ConfigError(f"no drill {resumed_drill!r} in {reports_dir} to resume",
                          key="--drill-id")


@contextlib.contextmanager
def _attempt_journal(attempt: AttemptDir) -> Iterator[Journal]:
    """The attempt's journal, opened in this process (the pytest child appends to it too)."""
    journal = Journal.open(attempt.path, drill_id=attempt.drill_id, attempt=attempt.number,
                           redactor=redactor_for(None))
    try:
        yield journal
    finally:
        journal.close()


def _stage_command(ctx: click.Context, target: Target, phase: str, drill_id: str,
                   opts: dict) -> str:
    """The command that runs the stopped stage again as a new attempt of the same drill."""
    root = ctx.find_root().obj
    parts = ["maip-dr"]
    if root.get("config_path"):
        parts += ["--config", str(root["config_path"])]
    parts += ["--target", target.name, "stage", "{phase}", "{stage}", "--drill-id", drill_id]
    if opts.get("dr_execute"):
        parts += ["--dr-execute", "--dr-confirm", target.name]
    if opts.get("dr_planned"):
        parts.append("--dr-planned")
    elif opts.get("dr_declare_outage"):
        parts += ["--dr-declare-outage", "'REASON'"]
    del phase  # filled in from where the run stopped
    return " ".join(parts)


def _resume_command(ctx: click.Context, target: Target, drill_id: str, opts: dict) -> str:
    """The command that resumes this drill (the stage is filled in by the game day)."""
    root = ctx.find_root().obj
    parts = ["maip-dr"]
    if root.get("config_path"):
        parts += ["--config", str(root["config_path"])]
    parts += ["--target", target.name, "gameday", "--drill-id", drill_id,
              "--resume-from", "{phase}:{stage}", "--dr-execute", "--dr-confirm", target.name]
    if opts.get("dr_planned"):
        parts.append("--dr-planned")
    elif target.kind == "live":
        parts += ["--dr-declare-outage", "'REASON'"]
    return " ".join(parts)


def _print_seal(output: Output, sealed: Seal | None) -> None:
    if sealed is None:
        return
    output.result(f"final digest: sha256:{sealed.digest}")
    if sealed.signature:
        output.result(f"signature: hmac-sha256:{sealed.signature}")
    else:
        output.result("signature: none (no HMAC key given: MAIP_DR_HMAC_KEY or "
                      "--hmac-key-file)")


def redactor_for(key: bytes | None) -> Redactor:
    """Patterns, plus every secret this process was given (environment, HMAC key)."""
    return redactor_from_environment(
        os.environ, extra=(key.decode("utf-8", "replace"),) if key else ())


def parse_resume(text: str) -> tuple[str, int]:
    from maip_drlib.drill.rehearse import parse_after

    try:
        return parse_after(text)
    except ConfigError as error:
        raise ConfigError(str(error).split(": ", 1)[-1], key="--resume-from") from error


@supports_output
@click.command("stage", context_settings=PASSTHROUGH)
@click.argument("phase", type=click.Choice(["failover", "failback"]))
@click.argument("number", type=click.IntRange(1, 5))
@_safety_options
@output_options
@click.pass_context
def stage_command(ctx: click.Context, phase: str, number: int, reports_dir: Path,
                  drill_id: str | None, as_json: bool, quiet: bool, **opts: object) -> None:
    """Run one stage alone against a persistent target (a 'sim up' process or live).

    Its Given steps check the real state, so it also resumes an interrupted drill. Safety:
    without --dr-execute its mutating steps are skipped (naming the flag); with it, sim and
    live targets need --dr-confirm NAME, and the drill lease is held. The embedded target
    is refused (exit 2): it needs a persistent one. Exit codes: 0 passed; 1 failed, over its
    RTO budget or skipped; 2 bad input; 3 refused by a guard; 4 environment error; 130
    interrupted.
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    check_quiet_with_pause(output, bool(opts.get("dr_pause_between_stages")))
    if phase == "failback" and number > 4:
        raise ConfigError("failback has stages 1 to 4", key="NUMBER")
    extra = check_passthrough(ctx.args)
    _check_drill_id(drill_id)
    check_reports_folder(reports_dir, None)
    pre_target = load_target(ctx)
    if pre_target.kind == "embedded":  # refused before any simulation starts
        raise ConfigError("a single stage needs a persistent target: start 'maip-dr sim "
                          "up --config-out c.toml' and pass --config c.toml", key="--config")
    _check_confirm(pre_target, opts)
    if pre_target.kind == "live" and opts.get("dr_execute") and not (
            opts.get("dr_declare_outage") or opts.get("dr_planned")):
        raise GuardRefused("a mutating stage on a live target needs --dr-declare-outage REASON "
                           "or --dr-planned, as a game day does; nothing was called")
    with _drill_target(ctx) as (config, target, config_path, _hosted):
        drill = drill_id or new_drill_id(f"{phase}-{number}")
        held = (_drill_lease(config, target, drill, opts, output) if opts.get("dr_execute")
                else contextlib.nullcontext())
        with held as lease_and_grant:
            grant = lease_and_grant[1] if lease_and_grant else None
            _run_stage(ctx, output, phase, number, reports_dir, drill, target, config_path,
                       opts, extra, grant)


def _run_stage(ctx: click.Context, output: Output, phase: str, number: int,
               reports_dir: Path, drill: str, target: Target, config_path: Path,
               opts: dict, extra: list[str], grant: LeaseGrant | None) -> None:
    """One stage as its own attempt; exits with its code."""
    attempt = next_attempt(reports_dir, drill)
    holder = grant.holder if grant is not None else None
    if grant is not None:  # the pytest child appends to the same journal after this
        from maip_drlib.drill.gameday import journal_lease_grant

        with _attempt_journal(attempt) as journal:
            journal_lease_grant(journal, grant)
    started = time.monotonic()
    stopped = StageRun(attempt, _stage_command(ctx, target, phase, drill, opts), output.info)
    try:
        run = run_scenarios(f"{phase}-{number}", f"{phase} and stage_{number}",
                            results_path=attempt.results_file(f"{phase}-{number}"),
                            dr_args=[*_dr_args(target, config_path, opts, lease_holder=holder),
                                     "--dr-attempt-dir", str(attempt.path)],
                            extra_args=extra, allure_dir=attempt.allure_results,
                            redactor=redactor_for(None))
    except KeyboardInterrupt as interruption:
        with _attempt_journal(attempt) as journal:
            record_interruption(stopped, journal, interruption)
        raise
    failed = [r for r in run.results if r.get("outcome") == "failed"]
    if failed and not all(r.get("error_kind") == "guard" for r in failed):  # a refusal says
        with _attempt_journal(attempt) as journal:  # what to run first; nothing was changed
            say_where_it_stands(stopped, journal, f"{phase} stage {number} failed", phase)
    sealed = seal(attempt.path, key=load_key(os.environ.get("MAIP_DR_HMAC_KEY"), None))
    code = _print_summary(output, [run], target, attempt, started, sealed=sealed)
    ctx.exit(code)


@supports_output
@click.command("plan")
@click.option("--phase", "phases", multiple=True, type=click.Choice(["failover", "failback"]),
              help="Plan only this phase (repeatable; default both).")
@output_options
@click.pass_context
def plan_command(ctx: click.Context, phases: tuple[str, ...], as_json: bool,
                 quiet: bool) -> None:
    """Dry run: every mutating call the drill would make from the current state; none made.

    Read-only: it needs no safety flag and takes no lease. Exit codes: 0 planned; 2 bad
    input; 4 target unreachable; 130 interrupted.
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    from maip_drlib.cli_targets import running_target
    from maip_drlib.drill.context import DrillContext, PollPolicy
    from maip_drlib.drill.planner import plan_drill
    from maip_drlib.regions import build_region_handles
    from maip_drlib.resolvers import resolver_for

    with running_target(ctx) as (config, target):
        resolver = resolver_for(target)
        handles = build_region_handles(target, config.topology)
        try:
            context = DrillContext(handles=handles, topology=config.topology, target=target,
                                   resolver=resolver, poll=PollPolicy.for_target(target))
            calls = plan_drill(context, phases=phases or ("failover", "failback"))
        finally:
            handles.close()
    banner = " (SIMULATED)" if target.simulated else ""
    output.document({"target": {"name": target.name, "kind": target.kind,
                                "simulated": target.simulated},
                     "calls": [{"stage": c.stage, "service": c.service, "operation": c.operation,
                                "region": c.region, "parameters": dict(c.parameters)}
                               for c in calls]})
    for index, call in enumerate(calls, 1):
        params = ", ".join(f"{k}={v}" for k, v in call.parameters.items())
        output.result(f"{index:3d}. [{call.stage}] {call.service}:{call.operation} "
                      f"({call.region}) {params}")
    output.verdict(f"Plan against {target.name!r} [{target.kind}]{banner}: {len(calls)} "
                   "mutating calls, none made")


@click.group("lease", help="The drill lease: one game day at a time (docs/lease.md). "
                          "'show' is read-only; 'create-table' needs --dr-confirm NAME on sim "
                          "and live targets.")
def lease_group() -> None:
    pass


@supports_output
@lease_group.command("show")
@output_options
@click.pass_context
def lease_show(ctx: click.Context, as_json: bool, quiet: bool) -> None:
    """Read-only: who holds the drill lease of the target's platform, and until when.

    Exit codes: 0 shown (held or free); 2 bad input or the lease table missing; 4 target
    unreachable.
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    from maip_drlib.cli_targets import running_target
    from maip_drlib.regions import build_region_handles

    with running_target(ctx) as (config, target):
        handles = build_region_handles(target, config.topology)
        try:
            lease = DrillLease(client=handles.secondary.client("dynamodb"),
                               table=config.topology.lease_table,
                               region=handles.secondary.region,
                               key=lease_key(config.topology.record_name),
                               ttl_s=config.topology.lease_ttl_s,
                               holder=Holder.this_process("lease-show"))
            stored = lease.stored()
        finally:
            handles.close()
    from maip_drlib.drill.lease import describe_break, is_held, recent_breaks

    item = stored if is_held(stored) else None
    breaks = recent_breaks(stored)
    output.document({"key": lease.key, "table": lease.table, "region": lease.region,
                     "held": item is not None, "holder": item, "breaks": breaks})
    for entry in breaks:
        output.result(f"  break: {describe_break(entry)}")
    if item is None:
        output.verdict(f"{lease.key}: free ({lease.table} in {lease.region})")
    else:
        output.verdict(f"{lease.key}: held by {lease.describe(item)}")


@lease_group.command("create-table")
@consent_options("creating the lease table")
@click.pass_context
def lease_create_table(ctx: click.Context, dr_execute: bool, dr_confirm: str | None) -> None:
    """Create the lease table (on demand, key 'pk') in the DR region; once per account.

    Mutating: on sim and live targets it needs --dr-execute --dr-confirm NAME (exit 3
    otherwise). Exit codes: 0 created or already there; 2 bad input; 3 not confirmed; 4
    unreachable.
    """
    from maip_drlib.cli_targets import running_target
    from maip_drlib.drill.lease import create_lease_table
    from maip_drlib.regions import build_region_handles

    with running_target(ctx) as (config, target):
        require_write_consent(target, execute=dr_execute, confirm=dr_confirm,
                              what="creating the lease table")
        handles = build_region_handles(target, config.topology,
                                       writes=WriteGate.consented(target=target.name))
        try:
            created = create_lease_table(handles.secondary.client("dynamodb"),
                                         config.topology.lease_table)
        finally:
            handles.close()
    state = "created" if created else "already exists"
    click.echo(f"{config.topology.lease_table} ({handles.secondary.region}): {state}")
