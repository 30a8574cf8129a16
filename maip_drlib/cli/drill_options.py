"""The options of ``gameday`` and ``stage`` and their checks, made before anything starts.

The safety flags (``--dr-execute``, ``--dr-confirm``, ``--dr-declare-outage``, ``--dr-planned``,
the lease's), operators' reasons (at least ``MIN_REASON_CHARS`` printable characters, no
control characters), finite and bounded numbers, the drill id, the pytest arguments the drill
passes (``dr_args``) and the operations settings (metrics, S3, webhook). Every refusal is one
``ConfigError`` line naming the option (exit 2), or ``GuardRefused`` (exit 3) for consent.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from maip_drlib.config import Target
from maip_drlib.drill.operations import Operations
from maip_drlib.errors import ConfigError, GuardRefused

if TYPE_CHECKING:
    from maip_drlib.drill.traffic import SoakThresholds

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


def reason_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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


def lease_ttl_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from maip_drlib.drill.lease import LEASE_TTL_MAX_S, LEASE_TTL_MIN_S

    seconds = _positive_seconds(ctx, param, value)
    if seconds is not None and not LEASE_TTL_MIN_S <= seconds <= LEASE_TTL_MAX_S:
        raise ConfigError(f"expected {LEASE_TTL_MIN_S:g} to {LEASE_TTL_MAX_S:g} seconds, got "
                          f"{value}", key="--dr-lease-ttl")
    return seconds


def canary_window_option(ctx: click.Context, param: click.Parameter, value: str | None
                   ) -> float | None:
    seconds = _positive_seconds(ctx, param, value)
    if seconds is not None and not 0.5 <= seconds <= 3600:
        raise ConfigError(f"expected 0.5 to 3600 seconds, got {value}", key="--canary-window")
    return seconds


def hold_option(_ctx: click.Context, _param: click.Parameter, value: str | None
                ) -> float | None:
    """``--hold-in-dr DURATION`` -> business minutes (1 minute to 24 hours), or exit 2."""
    if value is None:
        return None
    from maip_drlib.drill.hold import parse_duration

    return parse_duration(value)


def check_hold(minutes: float | None,
               resume: tuple[str, int] | None) -> SoakThresholds | None:
    """The hold's limits (failback 3's, from the feature file), checked before anything
    starts; a resume that starts in failback has no hold to run (exit 2)."""
    if minutes is None:
        return None
    if resume is not None and resume[0] == "failback":
        raise ConfigError(f"a resume from failback:{resume[1]} starts after the hold in DR; "
                          "drop the option", key="--hold-in-dr")
    from maip_drlib.drill.hold import feature_thresholds
    from maip_drlib.drill.pytest_runner import scenarios_root

    return feature_thresholds(scenarios_root() / "features")


def soak_step_option(ctx: click.Context, param: click.Parameter, value: str | None
                     ) -> float | None:
    """``--soak-step SECONDS``: each weighted failback step's soak in real seconds (10 to
    3600), or one ConfigError line (exit 2) before anything starts."""
    from maip_drlib.drill.context import MAX_SOAK_STEP_S, MIN_SOAK_STEP_S

    seconds = _positive_seconds(ctx, param, value)
    if seconds is not None and not MIN_SOAK_STEP_S <= seconds <= MAX_SOAK_STEP_S:
        raise ConfigError(f"expected {MIN_SOAK_STEP_S:g} to {MAX_SOAK_STEP_S:g} seconds, got "
                          f"{value}", key="--soak-step")
    return seconds


def approval_timeout_option(_ctx: click.Context, _param: click.Parameter,
                            value: str | None) -> float | None:
    """``--dr-approval-timeout MINUTES`` within the bounds, or one ConfigError line."""
    if value is None:
        return None
    from maip_drlib.drill.approval import check_timeout_minutes

    return check_timeout_minutes(value, "--dr-approval-timeout")


def check_approval(target: Target, opts: dict, *, quiet: bool) -> None:
    """A second person's approval (docs/approval.md) needs a live-kind target (a simulation
    has one identity: nobody else could approve) and a visible terminal; a timeout without
    approval is a mistake. One ConfigError line (exit 2) before anything starts."""
    required = bool(opts.get("dr_require_approval")) or target.require_approval
    if opts.get("dr_approval_timeout") is not None and not required:
        raise ConfigError("only with --dr-require-approval (or require_approval = true on the "
                          "target)", key="--dr-approval-timeout")
    if not required:
        return
    if target.kind != "live":
        raise ConfigError(f"a second person's approval needs a live-kind target: every caller "
                          f"of the {target.kind} target {target.name!r} is the simulation's "
                          "one identity, so no other identity can approve (docs/approval.md)",
                          key="--dr-require-approval")
    if quiet:
        raise ConfigError("it would hide the command the approver must run",
                          key="--quiet")


def safety_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.option("--dr-execute", is_flag=True, help="Allow mutating stages (implied by "
                     "gameday on the embedded target)."),
        click.option("--dr-confirm", default=None, metavar="TARGET",
                     help="Repeat the target's name; required with --dr-execute on sim and "
                          "live targets."),
        click.option("--dr-declare-outage", default=None, metavar="REASON", callback=reason_option,
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
                     callback=reason_option,
                     help="Take over the drill lease another (dead) drill holds; the reason "
                          "and the previous holder are recorded."),
        click.option("--dr-lease-ttl", "dr_lease_ttl", default=None, metavar="SECONDS",
                     callback=lease_ttl_option,
                     help="Lease expiry after the last heartbeat, 15 to 3600 (default: the "
                          "topology's lease_ttl_s, 60)."),
        click.option("--soak-step", "soak_step", default=None, metavar="SECONDS",
                     callback=soak_step_option,
                     help="Soak each weighted failback step (failback 3) this many real "
                          "seconds, 10 to 3600, instead of the feature's 2 minutes: for "
                          "rehearsals and tests; journalled as an override. Default: the "
                          "feature's value."),
        click.option("--dr-require-approval", "dr_require_approval", is_flag=True,
                     help="Before each mutating stage, wait for 'maip-dr approve DRILL_ID "
                          "--stage PHASE:N' run by another AWS identity; a rejection or the "
                          "deadline stops the drill (exit 3). Live-kind targets only "
                          "(docs/approval.md); also require_approval = true on the target."),
        click.option("--dr-approval-timeout", "dr_approval_timeout", default=None,
                     metavar="MINUTES", callback=approval_timeout_option,
                     help="How long each stage waits for its approval, 1 to 1440 minutes "
                          "(default 30)."),
    ]):
        func = option(func)
    return func


def _participants(_ctx: click.Context, _param: click.Parameter,
                  values: tuple[str, ...]) -> tuple[object, ...]:
    from maip_drlib.evidence.record_people import parse_participants

    return parse_participants(values, "--participant")


def _notes(_ctx: click.Context, _param: click.Parameter,
           values: tuple[str, ...]) -> tuple[str, ...]:
    from maip_drlib.evidence.record_people import check_note

    return tuple(check_note(value, "--note") for value in values)


def record_options(func: click.decorators.FC) -> click.decorators.FC:
    """``--participant`` and ``--note`` (the DR test record: docs/compliance.md)."""
    for option in reversed([
        click.option("--participant", "participants", multiple=True, metavar='"NAME <ROLE>"',
                     callback=_participants,
                     help="Someone taking part, as \"Name <role>\" (repeatable); recorded in "
                          "the journal and the DR test record, compared with [record] "
                          "participants in the config (who was missing)."),
        click.option("--note", "notes", multiple=True, metavar="TEXT", callback=_notes,
                     help="A lesson learned or remark for the DR test record (repeatable; "
                          "redacted like all evidence; at most 2000 characters)."),
    ]):
        func = option(func)
    return func


def retests_option(func: click.decorators.FC) -> click.decorators.FC:
    """``--retests DRILL_ID`` (gameday): the earlier drill whose open items this one retests."""
    return click.option(
        "--retests", "retests", default=None, metavar="DRILL_ID",
        help="This game day retests the open remediation items of that earlier drill (in "
             "the same reports folder, with a DR test record): the link is journalled and "
             "this drill's record says which items it closed.")(func)


def dr_args(target: Target, config_path: Path, opts: dict) -> list[str]:
    """The pytest options of a drill's session (the lease holder, drill id and attempt are
    the drill run's: ``drill/drill_run.py``)."""
    args = ["--dr-config", str(config_path), "--dr-target", target.name]
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
    if opts.get("soak_step"):
        args += ["--dr-soak-step", f"{opts['soak_step']:g}"]
    if opts.get("dr_require_approval"):
        args.append("--dr-require-approval")
    if opts.get("dr_approval_timeout") is not None:
        args += ["--dr-approval-timeout", f"{opts['dr_approval_timeout']:g}"]
    for folder in opts.get("features") or ():  # a team's own feature folders (cli/features.py)
        args += ["--dr-features", str(folder)]
    return args


def option_tuple(opts: dict, key: str) -> tuple:
    """A repeatable option's values (``--participant``, ``--note``, ``--features``)."""
    value = opts.get(key)
    return tuple(value) if isinstance(value, tuple | list) else ()


def option_text(opts: dict, key: str) -> str | None:
    """A text option's value, or None when it was not given."""
    value = opts.get(key)
    return value if isinstance(value, str) else None


def check_drill_id(drill_id: str | None) -> None:
    from maip_drlib.drill.evidence_dirs import DRILL_ID

    if drill_id is not None and not DRILL_ID.match(drill_id):
        raise ConfigError(f"drill id {drill_id!r} must be letters, digits, '.', '_' or '-'",
                          key="--drill-id")


def check_confirm(target: Target, opts: dict) -> None:
    """--dr-execute on sim and live targets needs --dr-confirm with the target's name."""
    if target.kind in ("sim", "live") and opts.get("dr_execute") and \
            opts.get("dr_confirm") != target.name:
        given = f"got {opts.get('dr_confirm')!r}" if opts.get("dr_confirm") else "it is missing"
        raise GuardRefused(f"--dr-confirm must repeat the target's name {target.name!r} to run "
                           f"mutating stages on a {target.kind} target ({given}); nothing was "
                           "called")


def check_evidence_key(target: Target, key: bytes | None, unsigned_reason: str | None) -> None:
    """A game day on a live target signs its evidence (DESIGN.md 5): without the HMAC key it
    is refused (exit 3, before any call) unless the operator gives ``--unsigned-evidence
    REASON`` (journalled, shown in the summary). Embedded and sim targets run unsigned as
    before. A reason beside a key is a contradiction (exit 2)."""
    if unsigned_reason is not None and key is not None:
        raise ConfigError("the evidence is signed (an HMAC key was given): drop the option or "
                          "the key", key="--unsigned-evidence")
    if target.kind == "live" and key is None and unsigned_reason is None:
        raise GuardRefused(f"a game day on live target {target.name!r} signs its evidence: "
                           "give the HMAC key (MAIP_DR_HMAC_KEY or --hmac-key-file) or "
                           "--unsigned-evidence REASON; nothing was called")


def operations_options(func: click.decorators.FC) -> click.decorators.FC:
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
