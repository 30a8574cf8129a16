"""``maip-dr gameday``, ``stage`` and ``plan``: the drill from the command line.

``gameday`` runs its phases as one pytest session in this process; on the embedded target it
starts the simulation in a child process first (``sim/hosted.py``) and drives it over
loopback; against a ``sim`` target it injects and restores the outage through the control
URL; against ``live`` it never injects anything and needs ``--dr-declare-outage`` or
``--dr-planned``. Extra arguments after ``--`` go to pytest (``-k``, ``-x``, markers).

``gameday`` and a mutating ``stage`` hold the drill lease (docs/lease.md) for their whole run:
a second one against the same platform refuses (exit 3) naming the holder;
``--dr-break-lease REASON`` takes over a dead holder's lease; ``--dr-lease-ttl`` overrides
the topology's TTL. ``plan`` and readiness are read-only and take no lease.

Output (``maip_drlib.cli.output``): ``gameday``, ``stage``, ``plan`` and ``lease show`` take
``--json`` (one document on stdout: the summary, results, evidence folder and digest; the
calls; the holder) and ``--quiet`` (errors and the verdict line only). Not supported:
``--quiet`` with ``--dr-pause-between-stages`` (refused: it would hide the question).

This module holds the two commands; the target a drill runs against is ``cli.drill_target``,
an attempt's folder, journal and resume commands ``cli.drill_attempt``, the closing table and
verdict ``cli.drill_verdict``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import click

from maip_drlib.cli.consent import require_write_consent
from maip_drlib.cli.drill_attempt import (
    attempt_journal,
    check_reports_folder,
    journal_unsigned_evidence,
    parse_resume,
    redactor_for,
    resume_command_line,
    stage_command_line,
)
from maip_drlib.cli.drill_options import (
    OUTAGE_REASON,
    PASSTHROUGH,
    canary_window_option,
    check_approval,
    check_confirm,
    check_drill_id,
    check_evidence_key,
    check_hold,
    dr_args,
    hold_option,
    operations_from_cli,
    operations_options,
    option_text,
    option_tuple,
    reason_option,
    record_options,
    retests_option,
    safety_options,
)
from maip_drlib.cli.drill_target import drill_target
from maip_drlib.cli.drill_verdict import print_summary
from maip_drlib.cli.features import feature_folders, features_option
from maip_drlib.cli.lease import drill_lease
from maip_drlib.cli.output import (
    Output,
    check_quiet_with_pause,
    output_options,
    start_output,
    supports_output,
)
from maip_drlib.cli.passthrough import check_passthrough
from maip_drlib.cli.targets import check_live_credentials, load_target
from maip_drlib.config import Target
from maip_drlib.drill.drill_results import all_results
from maip_drlib.drill.evidence_dirs import new_drill_id, next_attempt
from maip_drlib.drill.gameday import GamedayPlan, run_gameday
from maip_drlib.drill.lease import LeaseGrant
from maip_drlib.drill.pytest_runner import run_scenarios
from maip_drlib.drill.where_it_stands import StageRun, record_interruption, say_where_it_stands
from maip_drlib.errors import ConfigError, GuardRefused
from maip_drlib.evidence.keys import use_key
from maip_drlib.evidence.manifest import load_key, seal
from maip_drlib.sim.data_plane_choice import refuse_unless_embedded
from maip_drlib.sim_client import SimulationClient


@supports_output
@click.command("gameday", context_settings=PASSTHROUGH)
@safety_options
@click.option("--resume-from", default=None, metavar="PHASE:STAGE",
              help="Resume an interrupted drill (with --drill-id) at failover:N or failback:N; "
                   "a new attempt of the same drill.")
@click.option("--dr-accept-readiness-failures", "accept_readiness", default=None,
              metavar="REASON", callback=reason_option,
              help="Go on when the readiness phase fails (a no-go otherwise: exit 1 before "
                   "the first mutating stage); the reason, the failed checks and the operator "
                   "are journalled.")
@click.option("--hmac-key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sign the evidence with this key (or MAIP_DR_HMAC_KEY): every journal "
                   "record, each seal and the drill's index; never written anywhere. A live "
                   "target needs it (or --unsigned-evidence).")
@click.option("--unsigned-evidence", "unsigned_evidence", default=None, metavar="REASON",
              callback=reason_option,
              help="Run a game day on a live target without the HMAC key (refused otherwise, "
                   "exit 3); the reason is journalled and printed with the summary. Its "
                   "evidence can only be verified with --expect-digest.")
@click.option("--data-plane/--no-data-plane", default=None,
              help="Embedded target only: run the simulation with (default, when PostgreSQL "
                   "binaries are found) or without its data plane (real PostgreSQL behind "
                   "RDS, a DNS server); with it the stages check the databases and RDS RPO "
                   "is measured. Refused (exit 2) for sim and live targets.")
@click.option("--canary-window", "canary_window_s", default=None, metavar="SECONDS",
              callback=canary_window_option,
              help="Seconds the canaries are written before the outage (0.5 to 3600). "
                   "Default: 2 s on a simulation, 20 s live, longer when the replication lag "
                   "is high; the measured RPO is at most about this window.")
@click.option("--hold-in-dr", "hold_minutes", default=None, metavar="DURATION",
              callback=hold_option,
              help="Serve from DR this long after failover 5, before failback: 90s, 30m or 2h "
                   "(1 minute to 24 hours; business minutes on a simulation, real time live). "
                   "Watches the endpoint through DNS and the DR ALB's 5XX and latency against "
                   "failback 3's limits, and fails back early (the drill fails) when DR "
                   "degrades. Not with a resume from failback.")
@record_options
@retests_option
@operations_options
@features_option
@output_options
@click.pass_context
def gameday_command(ctx: click.Context, reports_dir: Path, drill_id: str | None,
                    resume_from: str | None, accept_readiness: str | None,
                    hmac_key_file: Path | None, unsigned_evidence: str | None,
                    data_plane: bool | None,
                    canary_window_s: float | None, hold_minutes: float | None,
                    metrics_namespace: str | None, s3_bucket: str | None, s3_prefix: str,
                    as_json: bool, quiet: bool, **opts: object) -> None:
    """Readiness, outage, failover stages 1-5, [hold], restore, failback 1-4, readiness.

    MUTATES the target. On the embedded target (no config) the simulation runs in a child
    process of this command and --dr-execute and --dr-confirm are implied; on 'sim' and
    'live' targets nothing at all is written (lease, canaries, metrics, uploads, stages) without
    --dr-execute --dr-confirm NAME (exit 3 before the first call); on a 'sim' target the
    outage is injected through its control URL; on a live target also --dr-declare-outage
    REASON or --dr-planned (nothing is injected). Go / no-go: a failed readiness phase stops
    the drill before its first mutating stage (exit 1) unless
    --dr-accept-readiness-failures REASON; under a declared outage the primary region's own
    checks are expected to fail and only recorded. A live target also needs the evidence HMAC
    key (MAIP_DR_HMAC_KEY or --hmac-key-file) or --unsigned-evidence REASON. It holds the drill
    lease; evidence goes to <reports>/<drill id>/attempt-<n>/. Exit codes: 0 every stage
    passed within its RTO budget; 1 a stage failed, ran over budget, a mutating stage was
    skipped, or no-go; 2 bad input; 3 refused by a guard (consent, evidence key, lease,
    promotion guard, a stage's precondition); 4 environment error; 130 interrupted (SIGINT);
    143 terminated (SIGTERM).
    """
    output = start_output(ctx, as_json=as_json, quiet=quiet)
    check_quiet_with_pause(output, bool(opts.get("dr_pause_between_stages")))
    extra = check_passthrough(ctx.args)
    check_drill_id(drill_id)
    if resume_from and not drill_id:
        raise ConfigError("--resume-from needs --drill-id (the drill to continue)",
                          key="--resume-from")
    resume = parse_resume(resume_from) if resume_from else None
    hold_limits = check_hold(hold_minutes, resume)
    check_reports_folder(reports_dir, drill_id if resume_from else None)
    if opts.get("retests"):
        from maip_drlib.evidence.record_retest import check_retests

        check_retests(reports_dir, str(opts["retests"]), drill_id)
    key = load_key(os.environ.get("MAIP_DR_HMAC_KEY"), hmac_key_file)
    output.redact = redactor_for(key).text
    operations = operations_from_cli(ctx, metrics_namespace, s3_bucket, s3_prefix)
    pre_target = load_target(ctx)
    refuse_unless_embedded(pre_target, data_plane)  # usage (exit 2) before consent (exit 3)
    check_approval(pre_target, opts, quiet=output.quiet)
    if pre_target.kind != "embedded":  # every refusal before a simulation or a call
        _check_gameday_consent(pre_target, opts, resuming=resume is not None)
    elif resume is not None:
        raise ConfigError("resuming needs the persistent target the drill ran against "
                          "(a 'sim up' process or live), not a fresh embedded simulation",
                          key="--resume-from")
    check_evidence_key(pre_target, key, unsigned_evidence)
    use_key(key)  # this process's journals, the pytest session's too (evidence/keys.py)
    with drill_target(ctx, data_plane=data_plane) as (config, target, config_path, hosted):
        if hosted:
            opts.update(dr_execute=True, dr_confirm=target.name)
        opts["features"] = feature_folders(config, option_tuple(opts, "features"))
        check_live_credentials(target, config)
        drill = drill_id or new_drill_id("gameday")
        with drill_lease(config, target, drill, opts, output) as (lease, grant):
            attempt = next_attempt(reports_dir, drill)
            output.info(f"maip-dr: drill {attempt.drill_id}, attempt {attempt.number}: "
                        f"evidence in {attempt.path}")
            if unsigned_evidence is not None:
                with attempt_journal(attempt) as journal:
                    journal_unsigned_evidence(journal, target, unsigned_evidence)
            control = SimulationClient(target.control_url) if target.kind == "sim" else None
            injected = control is not None and not (opts.get("dr_declare_outage")
                                                    or opts.get("dr_planned"))
            if injected:
                opts["dr_declare_outage"] = OUTAGE_REASON
            plan = GamedayPlan(
                target=target, topology=config.topology, attempt=attempt,
                dr_args=dr_args(target, config_path, opts),
                extra_args=extra, control=control, resume_from=resume, hmac_key=key,
                redactor=redactor_for(key), echo=output.info, lease=lease, lease_grant=grant,
                operations=operations, canary_window_s=canary_window_s,
                accept_readiness_failures=accept_readiness,
                outage_injected=injected, hold_minutes=hold_minutes,
                hold_limits=hold_limits, unsigned_evidence=unsigned_evidence,
                participants=option_tuple(opts, "participants"),
                notes=option_tuple(opts, "notes"),
                intended_participants=config.record_participants,
                retests=option_text(opts, "retests"),
                resume_command="" if hosted else resume_command_line(ctx, target,
                                                                 attempt.drill_id, opts))
            started = time.monotonic()
            result = run_gameday(plan)
            code = print_summary(output, result.runs, target, attempt, started,
                                  results=all_results(attempt.path.parent),
                                  sealed=result.seal, unsigned_reason=unsigned_evidence)
            if result.no_go:
                code = max(code, 1) if code != 0 else 1
        ctx.exit(code)


def _check_gameday_consent(target: Target, opts: dict, *, resuming: bool) -> None:
    """Consent (DESIGN.md 4a): on sim and live targets a game day writes nothing without
    --dr-execute and --dr-confirm NAME; a live one also needs a declaration."""
    require_write_consent(target, execute=bool(opts.get("dr_execute")),
                          confirm=option_text(opts, "dr_confirm"),
                          what="a game day (lease, canaries, stages)")
    if target.kind == "live" and not (opts.get("dr_declare_outage") or opts.get("dr_planned")):
        raise GuardRefused("a live game day needs --dr-declare-outage REASON or --dr-planned;"
                           " it never injects an outage; nothing was called")
    del resuming  # the same consent holds for a resumed attempt




@supports_output
@click.command("stage", context_settings=PASSTHROUGH)
@click.argument("phase", type=click.Choice(["failover", "failback"]))
@click.argument("number", type=click.IntRange(1, 5))
@safety_options
@record_options
@features_option
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
    from maip_drlib.drill.registry import stage as registered_stage

    registered_stage(phase, number, key="NUMBER")  # failback has 4 stages
    extra = check_passthrough(ctx.args)
    check_drill_id(drill_id)
    check_reports_folder(reports_dir, None)
    pre_target = load_target(ctx)
    if pre_target.kind == "embedded":  # refused before any simulation starts
        raise ConfigError("a single stage needs a persistent target: start 'maip-dr sim "
                          "up --config-out c.toml' and pass --config c.toml", key="--config")
    check_approval(pre_target, opts, quiet=output.quiet)
    check_confirm(pre_target, opts)
    if pre_target.kind == "live" and opts.get("dr_execute") and not (
            opts.get("dr_declare_outage") or opts.get("dr_planned")):
        raise GuardRefused("a mutating stage on a live target needs --dr-declare-outage REASON "
                           "or --dr-planned, as a game day does; nothing was called")
    with drill_target(ctx) as (config, target, config_path, _hosted):
        opts["features"] = feature_folders(config, option_tuple(opts, "features"))
        drill = drill_id or new_drill_id(f"{phase}-{number}")
        held = (drill_lease(config, target, drill, opts, output) if opts.get("dr_execute")
                else contextlib.nullcontext())
        with held as lease_and_grant:
            grant = lease_and_grant[1] if lease_and_grant else None
            _run_stage(ctx, output, phase, number, reports_dir, drill, target, config_path,
                       opts, extra, grant)


def _run_stage(ctx: click.Context, output: Output, phase: str, number: int,
               reports_dir: Path, drill: str, target: Target, config_path: Path,
               opts: dict, extra: list[str], grant: LeaseGrant | None) -> None:
    """One stage as its own attempt, in one pytest session of this process that writes to
    the attempt's journal opened here; exits with its code."""
    from maip_drlib.drill.drill_run import DrillRun

    attempt = next_attempt(reports_dir, drill)
    started = time.monotonic()
    stopped = StageRun(attempt, stage_command_line(ctx, target, phase, drill, opts), output.info)
    with attempt_journal(attempt) as journal:
        if grant is not None:
            from maip_drlib.drill.gameday import journal_lease_grant

            journal_lease_grant(journal, grant)
        if opts.get("participants") or opts.get("notes"):  # for the drill's DR test record
            from maip_drlib.evidence.record_people import journal_people

            journal_people(journal, opts["participants"], opts["notes"], command="stage")
        run_of = DrillRun(attempt=attempt, journal=journal, grant=grant)
        try:
            run = run_scenarios(f"{phase}-{number}", phase, f"stage_{number}",
                                results_path=attempt.results_file(f"{phase}-{number}"),
                                dr_args=dr_args(target, config_path, opts), extra_args=extra,
                                allure_dir=attempt.allure_results,
                                redactor=redactor_for(None), drill=run_of)
        except KeyboardInterrupt as interruption:
            record_interruption(stopped, journal, interruption)
            raise
        failed = [r for r in run.results if r.failed]
        if failed and not all(r.error_kind == "guard" for r in failed):  # a refusal says
            # what to run first; nothing was changed
            say_where_it_stands(stopped, journal, f"{phase} stage {number} failed", phase)
    sealed = seal(attempt.path, key=load_key(os.environ.get("MAIP_DR_HMAC_KEY"), None))
    # (the journals of a stage take the key from MAIP_DR_HMAC_KEY: evidence/keys.py)
    code = print_summary(output, [run], target, attempt, started, sealed=sealed)
    ctx.exit(code)
