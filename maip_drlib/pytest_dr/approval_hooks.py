"""A second person's approval inside pytest (docs/approval.md): before each ``@destructive``
stage, the session waits for ``maip-dr approve`` run by another AWS identity.

Active with ``--dr-require-approval`` (``maip-dr gameday`` and ``stage`` pass it) or
``require_approval = true`` on the target, in sessions that run mutating stages
(``--dr-execute``, no ``--dr-dry-run``). After the stage's fixtures are set up and before its
first step, the session:

1. reads the operator's caller ARN (STS GetCallerIdentity in the DR region, once);
2. puts a request item in the drill lease table of the DR region (``drill/approval.py``) with
   the stage and a summary of its planned mutating calls (the dry-run planner, read-only);
   journals ``approval.requested``;
3. prints what it waits for, the exact command the approver runs and the time left (a
   bounded number of lines), and polls for the decision until ``--dr-approval-timeout
   MINUTES`` (default 30, 1 to 1440);
4. journals ``approval.granted``, checks the drill lease again (the wait may have been long;
   a lost or broken lease is exit 3) and runs the stage, or journals ``approval.rejected`` /
   ``approval.timed_out`` and fails the stage before any of its calls with
   ``ApprovalRejected`` / ``ApprovalTimedOut``: a guard refusal (exit 3); later stages skip.

Exit codes: 2 the flag on an ``embedded`` or ``sim`` target (every caller of a simulation is
its one dummy identity: no second person can exist; point a ``live``-kind target at the
simulation instead) or a bad timeout; 3 rejected, timed out, or a grant by the operator's own
ARN; 4 the table or STS unreachable.

Not supported: approval of read-only scenarios, a session without AWS credentials of its own
(the operator's ARN must be known), approving several stages with one decision.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.drill.approval import (
    APPROVAL_TIMEOUT_DEFAULT_MINUTES,
    APPROVAL_TIMEOUT_MAX_MINUTES,
    APPROVAL_TIMEOUT_MIN_MINUTES,
    GRANTED,
    PLAN_UNAVAILABLE,
    REJECTED,
    ApprovalRejected,
    ApprovalRequest,
    ApprovalTable,
    ApprovalTimedOut,
    StageRef,
    check_timeout_minutes,
    iso,
    wait_for_decision,
)
from maip_drlib.errors import ConfigError, DRError
from maip_drlib.pytest_dr.keys import OPTIONS_KEY, TARGET_KEY
from maip_drlib.pytest_dr.stages import phase_of, stage_of
from maip_drlib.pytest_dr.terminal import fail, say
from maip_drlib.write_gate import WriteGate

APPROVAL_OPTION = "--dr-require-approval"
TIMEOUT_OPTION = "--dr-approval-timeout"
POLL_S = 2.0


@dataclass
class SessionApproval:
    """What every wait of the session shares: the table, the operator, the drill."""

    table: ApprovalTable
    handles: Any  # RegionHandles, closed at the end of the session
    operator_arn: str
    drill_id: str


APPROVAL_KEY = pytest.StashKey[SessionApproval]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maip-dr")
    group.addoption(APPROVAL_OPTION, action="store_true", default=False,
                    help="Before each mutating stage, wait for 'maip-dr approve' run by "
                         "another AWS identity (docs/approval.md); live targets only.")
    group.addoption(TIMEOUT_OPTION, default=None, metavar="MINUTES",
                    help=f"How long a stage waits for its approval, "
                         f"{APPROVAL_TIMEOUT_MIN_MINUTES:g} to {APPROVAL_TIMEOUT_MAX_MINUTES:g} "
                         f"minutes (default {APPROVAL_TIMEOUT_DEFAULT_MINUTES:g}); then the "
                         "drill stops (exit 3).")


def approval_required(config: pytest.Config) -> bool:
    """The option, or ``require_approval = true`` on the session's target."""
    target = config.stash.get(TARGET_KEY, None)
    return bool(config.getoption(APPROVAL_OPTION)) or bool(
        target is not None and getattr(target, "require_approval", False))


def timeout_minutes(config: pytest.Config) -> float:
    value = config.getoption(TIMEOUT_OPTION)
    if value is None:
        return APPROVAL_TIMEOUT_DEFAULT_MINUTES
    return check_timeout_minutes(value, TIMEOUT_OPTION)


@pytest.hookimpl(trylast=True)  # after the plugin loaded the target
def pytest_configure(config: pytest.Config) -> None:
    """A bad timeout, or approval on a simulated target, ends the session (exit 2)."""
    try:
        timeout_minutes(config)
        target = config.stash.get(TARGET_KEY, None)
        if approval_required(config) and target is not None and target.kind != "live":
            raise ConfigError(
                f"a second person's approval needs a live-kind target: every caller of the "
                f"{target.kind} target {target.name!r} is the simulation's one identity, so "
                "no other identity can approve (docs/approval.md: point a live-kind target "
                "at the simulation); nothing was called", key=APPROVAL_OPTION)
    except ConfigError as error:
        fail(config, str(error), error.exit_code)


def _applies(item: pytest.Item) -> bool:
    config = item.config
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or not options.execute or options.dry_run:
        return False
    return (approval_required(config) and item.get_closest_marker("destructive") is not None
            and phase_of(item) in ("failover", "failback") and stage_of(item) is not None)


def _drill_id(config: pytest.Config) -> str:
    from maip_drlib.pytest_dr.keys import drill_id_of

    given = drill_id_of(config)
    if given:
        return given
    from maip_drlib.drill.evidence_dirs import new_drill_id

    return new_drill_id("pytest")


def _session(config: pytest.Config) -> SessionApproval:
    """Built once, at the first wait: handles that may write the approval items only."""
    found = config.stash.get(APPROVAL_KEY, None)
    if found is not None:
        return found
    from maip_drlib.pytest_dr.keys import CONFIG_KEY
    from maip_drlib.regions import build_region_handles

    target = config.stash[TARGET_KEY]
    topology = config.stash[CONFIG_KEY].topology
    handles = build_region_handles(target, topology,
                                   writes=WriteGate.consented(target=target.name))
    try:
        arn = str(handles.secondary.client("sts").get_caller_identity()["Arn"])
    except BaseException:
        handles.close()
        raise
    session = SessionApproval(
        table=ApprovalTable(client=handles.secondary.client("dynamodb"),
                            table=topology.lease_table, region=handles.secondary.region),
        handles=handles, operator_arn=arn, drill_id=_drill_id(config))
    config.stash[APPROVAL_KEY] = session
    return session


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(APPROVAL_KEY, None)
    if session is not None:
        del config.stash[APPROVAL_KEY]
        session.handles.close()


def stage_plan(item: pytest.Item, stage: StageRef) -> list[str]:
    """The stage's planned mutating calls (the read-only planner), or why none are listed."""
    try:
        context = item._request.getfixturevalue("dr_context")  # type: ignore[attr-defined]
    except pytest.FixtureLookupError:
        return [f"{PLAN_UNAVAILABLE}: no drill context in this session"]
    from maip_drlib.drill.planner import plan_drill

    try:
        calls = plan_drill(context, phases=(stage.phase,))
    except (DRError, ClientError, BotoCoreError, OSError) as error:
        return [f"{PLAN_UNAVAILABLE}: {type(error).__name__}: {error}"[:300]]
    return [f"{call.service}:{call.operation} ({call.region}) "
            + ", ".join(f"{k}={v}" for k, v in call.parameters.items())[:300]
            for call in calls if call.stage == stage.name]


def approver_command(config: pytest.Config, drill_id: str, stage: StageRef) -> str:
    """The exact command another identity runs to approve (append --reject "REASON" to
    reject)."""
    options = config.stash[OPTIONS_KEY]
    target = config.stash[TARGET_KEY]
    parts = ["maip-dr"]
    if options.config_path is not None:
        parts += ["--config", shlex.quote(str(options.config_path))]
    parts += ["--target", shlex.quote(target.name), "approve", drill_id, "--stage", stage.token,
              "--dr-execute", "--dr-confirm", shlex.quote(target.name)]
    return " ".join(parts)


def _journal(config: pytest.Config, kind: str, **fields: Any) -> None:
    from maip_drlib.pytest_dr.journal_hooks import journal_of

    journal = journal_of(config)
    if journal is not None:
        journal.record(kind, **fields)


def _lease_still_held(config: pytest.Config, stage: StageRef) -> None:
    """The lease hooks checked the drill lease before the wait, which may have lasted long:
    check it again (a read) before the approved stage runs; a lost or broken lease is a guard
    refusal (exit 3)."""
    from maip_drlib.drill.lease import LeaseLost
    from maip_drlib.pytest_dr.lease_hooks import SESSION_LEASE_KEY

    held = config.stash.get(SESSION_LEASE_KEY, None)
    if held is None:
        return
    if held.lease.lost.is_set():
        raise LeaseLost(f"the drill lease on {held.lease.key} was lost while {stage.name} "
                        f"waited for its approval ({held.lease.lost_reason}); nothing of "
                        f"{stage.name} ran")
    held.lease.verify(held.holder_id)


def await_approval(item: pytest.Item) -> None:
    """Ask, wait and journal; return when granted, raise (guard, exit 3) otherwise."""
    config = item.config
    stage = StageRef(str(phase_of(item)), int(stage_of(item) or 0))
    session = _session(config)
    minutes = timeout_minutes(config)
    request = ApprovalRequest.new(session.drill_id, stage, session.operator_arn,
                                  timeout_minutes=minutes,
                                  target=config.stash[TARGET_KEY].name,
                                  plan=stage_plan(item, stage))
    session.table.request(request)
    command = approver_command(config, session.drill_id, stage)
    _journal(config, "approval.requested", phase=stage.phase, stage=stage.stage,
             stage_name=stage.name, operator_arn=session.operator_arn,
             request_id=request.request_id, deadline=iso(request.deadline),
             planned_calls=len(request.plan), command=command)
    say(config, f"\nmaip-dr: {stage.name} waits for a second person's approval (operator "
         f"{session.operator_arn}; another AWS identity must decide) until "
         f"{iso(request.deadline)} ({minutes:g} min). The approver runs:\n  {command}\n"
         f"  (to reject: the same with --reject \"REASON\")")
    decision = wait_for_decision(session.table, request, poll_s=POLL_S,
                                 say=lambda line: say(config, line))
    _journal(config, decision.kind, **decision.journal_fields())
    if decision.decision == GRANTED:
        _lease_still_held(config, stage)
        say(config, f"maip-dr: {stage.name} approved by {decision.approver_arn} at "
             f"{decision.decided_at}; the stage runs")
        return
    if decision.decision == REJECTED:
        raise ApprovalRejected(f"{stage.name} rejected by {decision.approver_arn} at "
                               f"{decision.decided_at}: {decision.reason}; nothing of "
                               f"{stage.name} ran (drill {session.drill_id})")
    raise ApprovalTimedOut(f"{stage.name} got no decision before its deadline "
                           f"{iso(request.deadline)} ({minutes:g} min, {TIMEOUT_OPTION}); "
                           f"nothing of {stage.name} ran (drill {session.drill_id})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """After the stage's fixtures, before its first step: wait for the approval."""
    result = yield
    if _applies(item):
        await_approval(item)
    return result
