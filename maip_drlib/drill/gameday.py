"""The game day as one orchestrated attempt: phases, outage, canaries, journal and seal.

``run_gameday`` runs readiness, the outage (injected on simulations only), failover, the
optional hold in DR (``--hold-in-dr``, ``hold.py``: after failover 5 and RPO, before the
restore; a hold ended early by a DR degradation fails back at once and fails the drill), the
restore, failback and readiness again as the ordered phases of one pytest session in this
process (``GamedayWalk`` is the session's test loop: ``pytest_dr/session_phases.py``; it walks
the phases ``evidence/drill_phases.PHASES`` declares, each carried out by its step in
``PHASE_STEPS``),
journals every phase, measures RPO from canaries, and after the session writes the summary
and seals the attempt. The drill run (id, attempt, journal, lease) is built once here and
handed to the session (``drill_run.py``). ``resume_from`` continues an
interrupted drill: a new attempt of the same drill that starts at that stage (the stages
recognise work already done).

The drill lease (``lease.py``) is taken by the caller before the attempt exists; this module
journals it (``lease.acquired``, ``lease.broken``) and, before every phase, stops the drill
with ``LeaseLost`` (exit 3, ``lease.lost`` in the journal) if the heartbeat lost it: another
drill may be running. Such a stop leaves the attempt unsealed, like an interruption.

RDS canaries: when the target has database access (``target.database``), an RDS canary writer
starts beside the DynamoDB one before the outage (into the suite's canary table on the primary
PostgreSQL writer) and stops at the outage; the RPO phase measures both. Without database
access nothing is written to PostgreSQL and the RDS RPO row reads "not configured". Not
supported: RDS canaries on a resumed drill (they are written only by the attempt that ran the
readiness phase and the outage). MSK canaries (``msk_canaries.py``) start beside them when the
target has Kafka access (the simulation's brokers with its data plane, or
``[targets.<name>.kafka]``) and stop at the outage likewise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from maip_drlib.config import Target, Topology
from maip_drlib.drill import client_view, gameday_canaries, msk_canaries
from maip_drlib.drill.drill_run import DrillRun
from maip_drlib.drill.evidence_dirs import AttemptDir
from maip_drlib.drill.gameday_finish import GamedayResult, finish
from maip_drlib.drill.go_no_go import go_no_go
from maip_drlib.drill.lease import DrillLease, LeaseGrant, LeaseLost
from maip_drlib.drill.operations import Operations, on_stage_failed
from maip_drlib.drill.phase_selection import Select, from_stage, marker_expression, with_markers
from maip_drlib.drill.record_plan import journal_plan
from maip_drlib.drill.stage_result import PhaseRun
from maip_drlib.drill.where_it_stands import left_in, record_interruption
from maip_drlib.evidence import drill_phases
from maip_drlib.evidence.journal import Journal
from maip_drlib.evidence.record_people import Participant, journal_people
from maip_drlib.evidence.record_retest import journal_retest
from maip_drlib.evidence.redact import Redactor
from maip_drlib.evidence.timeline import load_plotting_in_background
from maip_drlib.sim_client import SimulationClient

if TYPE_CHECKING:
    from maip_drlib.drill.canaries import CanaryPlan
    from maip_drlib.drill.client_view import SyntheticClient
    from maip_drlib.drill.msk_canaries import RunningMskCanaries
    from maip_drlib.drill.traffic import SoakThresholds
    from maip_drlib.pytest_dr.session_phases import PhaseRunner
    from maip_drlib.rpo import PacedCanaryWriter

Echo = Callable[[str], None]


@dataclass
class GamedayPlan:
    """What to run: the target, the pytest arguments, and where to start."""

    target: Target
    topology: Topology
    attempt: AttemptDir
    dr_args: list[str]
    extra_args: list[str]
    control: SimulationClient | None = None
    resume_from: tuple[str, int] | None = None
    hmac_key: bytes | None = None
    redactor: Redactor = field(default_factory=Redactor)
    echo: Echo = print
    canary_plan: CanaryPlan | None = None  # set when canaries start
    # Seconds canaries are written before the outage (--canary-window); None: sized per target.
    canary_window_s: float | None = None
    lease: DrillLease | None = None  # held (heartbeat running) for the whole attempt
    lease_grant: LeaseGrant | None = None
    operations: Operations | None = None  # notify, metrics, upload (drill/operations.py)
    # --dr-accept-readiness-failures: go on after a failed readiness phase (recorded).
    accept_readiness_failures: str | None = None
    # The suite injects the outage (a sim target, not planned) after readiness: readiness then
    # runs without the outage declaration the later phases get. A planned game day injects
    # nothing: failover 1 fences the primary at the application instead.
    outage_injected: bool = False
    # The command that resumes this drill, with {phase} and {stage} to fill ('' embedded).
    resume_command: str = ""
    # --hold-in-dr: business minutes in DR after failover 5 (and RPO), before the restore and
    # failback; None: no hold. hold_limits: failback 3's limits (drill/hold.py).
    hold_minutes: float | None = None
    hold_limits: SoakThresholds | None = None
    # --unsigned-evidence: the operator's reason for a live game day without the HMAC key.
    unsigned_evidence: str | None = None
    # The DR test record (evidence/dr_test_record.py): --participant, --note, and the intended
    # participants ([record] participants in the config).
    participants: tuple[Participant, ...] = ()
    notes: tuple[str, ...] = ()
    intended_participants: tuple[Participant, ...] = ()
    retests: str | None = None  # --retests: the earlier drill whose open items this retests
    client_view: SyntheticClient | None = None  # from the outage (client_view.py)


FAILBACK_NAME_SCENARIO = "can_fail_back_after_a_failover"  # not run in readiness-after
# The scenarios a game day collects, by their phase marker (the replication checks are part of
# readiness's own scenarios; their separate feature is for a run by hand).
GAMEDAY_SCENARIOS = ("readiness", "failover", "rpo", "failback")


def run_gameday(plan: GamedayPlan) -> GamedayResult:
    """The game day as one pytest session of this process (``GamedayWalk`` is its test loop);
    the summary and the seal after the session has closed."""
    from maip_drlib.pytest_dr.session_run import run_session

    attempt = plan.attempt
    journal = Journal.open(attempt.path, drill_id=attempt.drill_id, attempt=attempt.number,
                           redactor=plan.redactor)
    drill = DrillRun(attempt=attempt, journal=journal, lease=plan.lease, grant=plan.lease_grant)
    walk = GamedayWalk(plan, drill)
    journal.record("drill.start", target=plan.target.name, target_kind=plan.target.kind,
                   simulated=plan.target.simulated, time_scale=plan.target.time_scale,
                   resume_from=":".join(map(str, plan.resume_from)) if plan.resume_from else None)
    _journal_lease(plan, journal)
    journal_people(journal, plan.participants, plan.notes, command="gameday")
    journal_retest(journal, plan.attempt.path.parent.parent, plan.retests)
    _note_interruption(plan, journal)
    first_phase = plan.resume_from[0] if plan.resume_from else "readiness"
    _check_lease(plan, journal, before=first_phase)  # before the session starts
    args = [*plan.dr_args, "--alluredir", str(attempt.allure_results), *plan.extra_args]
    try:
        session = run_session(walk.walk, args=args, drill=drill, phases=GAMEDAY_SCENARIOS,
                              redactor=plan.redactor)
    except KeyboardInterrupt as interruption:
        client_view.finish(plan, journal, summary_too=False)
        record_interruption(plan, journal, interruption)
        journal.close()
        raise
    if not session.started:  # a bad option or config, or collection failed: no phase ran
        readiness = PhaseRun(phase="readiness", exit_code=session.exit_code)
        walk.runs.append(readiness)
        walk.no_go = not go_no_go(plan, journal, readiness)
    result = finish(plan, journal, walk.runs, walk.timings, walk.started)
    result.no_go = walk.no_go
    return result


class GamedayWalk:
    """The game day's phases in order, as the test loop of its pytest session: readiness and
    go / no-go, canaries, the outage, failover, RPO, the hold, the restore, failback and
    readiness again; each phase through the session's ``PhaseRunner``."""

    def __init__(self, plan: GamedayPlan, drill: DrillRun) -> None:
        self.plan = plan
        self.journal = drill.journal
        self.runs: list[PhaseRun] = []
        self.timings: dict[str, float] = {}
        self.started = time.monotonic()
        self.no_go = False
        self.runner: PhaseRunner | None = None
        self.writer: PacedCanaryWriter | None = None  # DynamoDB canaries, until the outage
        self.rds_writer: PacedCanaryWriter | None = None
        self.msk_writer: RunningMskCanaries | None = None
        self.failover: PhaseRun | None = None  # None on a resume from failback

    def mark(self, name: str) -> None:
        self.timings[name] = time.time()

    def phase(self, name: str, select: Select, marker: str, *,
              declare_outage: bool = True) -> PhaseRun:
        """One phase (``marker``: its selection as a pytest expression, for the journal)."""
        plan, journal = self.plan, self.journal
        _check_lease(plan, journal, before=name)
        plan.echo(f"\n=== {name} ===")
        journal.record("phase.start", phase=name, marker=marker)
        self.mark(f"{name}.start")
        assert self.runner is not None, "phases run inside the walk"
        run = self.runner.run(name, select, declare_outage=declare_outage)
        self.mark(f"{name}.end")
        journal.record("phase.end", phase=name, exit_code=run.exit_code,
                       outcomes={r.scenario: r.outcome for r in run.results})
        for failed in run.results:  # readiness failures go in the completion notice
            if failed.failed and failed.phase in ("failover", "failback", "rpo"):
                self._notify(failed.to_row())
        self.runs.append(run)
        return run

    def _notify(self, row: dict[str, Any]) -> None:
        plan = self.plan
        delivery = on_stage_failed(plan.operations, row, drill_id=plan.attempt.drill_id,
                                   target=plan.target, evidence=plan.attempt.path,
                                   redactor=plan.redactor, echo=plan.echo)
        if delivery is not None:
            self.journal.record("notification", event=delivery.event,
                                delivered=delivery.delivered, attempts=delivery.attempts,
                                status=delivery.status, error=delivery.error)

    def walk(self, runner: PhaseRunner) -> None:
        """The phases of ``drill_phases.PHASES`` in their order, from the first one of a
        resume on; each phase's step says whether the drill goes on."""
        self.runner = runner
        resume_phase = self.plan.resume_from[0] if self.plan.resume_from else "readiness"
        first = drill_phases.KEYS.index(RESUME_ENTRY[resume_phase])
        for key in drill_phases.KEYS[first:]:
            if not PHASE_STEPS[key](self):
                return

    def _stage_from(self, phase: str) -> int:
        resume = self.plan.resume_from
        return resume[1] if resume and resume[0] == phase else 1

    def _readiness(self) -> bool:
        """Readiness and go / no-go (before an injected outage without its declaration), the
        test plan, then the canaries until their window is written."""
        plan, journal = self.plan, self.journal
        readiness = self.phase("readiness", with_markers("readiness"),
                               "readiness", declare_outage=not plan.outage_injected)
        if not go_no_go(plan, journal, readiness):
            self.no_go = True
            return False
        journal_plan(plan, journal)  # the test plan, before the first mutating call
        self.rds_writer = gameday_canaries.start_rds_canaries(plan, journal)
        self.msk_writer = msk_canaries.start_msk_canaries(plan, journal)
        self.writer = gameday_canaries.start_dynamodb_canaries(plan, journal)
        msk_canaries.await_msk_window(self.msk_writer)
        return True

    def _start_client_view(self) -> None:
        if self.plan.client_view is None:  # clients' view, from before the outage on
            self.plan.client_view = client_view.start(self.plan, self.journal)

    def _simulated_fault(self, action: str, banner: str) -> None:
        """The client's view from here on; ``action`` (outage, restore) of the primary on a
        simulation whose outage the suite injects (nothing otherwise); the moment marked."""
        plan = self.plan
        self._start_client_view()
        primary = plan.topology.primary.region
        if plan.control is not None and plan.outage_injected:
            plan.echo(f"\n=== {banner} {primary} ===")
            getattr(plan.control, action)(primary)
            self.journal.record("fault", action=action, region=primary, simulated=True)
        self.mark(action)

    def _outage(self) -> bool:
        """The outage (injected on a simulation only); the canaries stop on it. While the
        writers notice it (seconds of waiting), the timeline's plotting library loads."""
        plan, journal = self.plan, self.journal
        self._simulated_fault("outage", "injecting a simulated outage of")
        load_plotting_in_background()
        if self.writer is not None:
            gameday_canaries.finish_canaries(plan, journal, self.writer)
        if self.rds_writer is not None:
            gameday_canaries.finish_canaries(plan, journal, self.rds_writer, store="rds")
        msk_canaries.finish_msk_canaries(plan, journal, self.msk_writer)
        return True

    def _failover(self) -> bool:
        first = self._stage_from("failover")
        self.failover = self.phase("failover", from_stage("failover", first),
                                   marker_expression("failover", first))
        return True  # the primary is restored whatever the outcome

    def _rpo(self) -> bool:
        if self.failover is None or not self.failover.failed:
            self.phase("rpo", with_markers("rpo"), "rpo")
        return True

    def _hold(self) -> bool:
        if self.failover is None or not self.failover.failed:
            _hold_in_dr(self.plan, self.journal, self.mark)
        return True

    def _restore(self) -> bool:
        """The primary restored (on a simulation); after a failed failover the drill stops."""
        plan, journal = self.plan, self.journal
        self._simulated_fault("restore", "restoring")
        if self.failover is not None and self.failover.failed:
            plan.echo("maip-dr: failover failed: failback and the final readiness are skipped")
            journal.record("decision", decision="failback skipped: failover failed")
            left_in(plan, journal, self.failover)
            return False
        return True

    def _failback(self) -> bool:
        first = self._stage_from("failback")
        failback = self.phase("failback", from_stage("failback", first),
                              marker_expression("failback", first))
        if failback.failed:
            self.journal.record("decision", decision="final readiness skipped: failback failed")
            left_in(self.plan, self.journal, failback)
            return False
        return True

    def _readiness_after(self) -> bool:
        # Failback 4 leaves the old writer stopped (reconcile, then delete it): the next
        # drill's go/no-go fails on it by design (readiness "The database can fail back after
        # a failover"); failback 4 printed the instance to delete.
        self.journal.record("decision", decision="readiness-after: failback-name scenario "
                            "not run (this drill's fenced old writer awaits its delete)")
        self.phase("readiness-after",
                   with_markers("readiness", name_without=[FAILBACK_NAME_SCENARIO]),
                   f"readiness and not {FAILBACK_NAME_SCENARIO}")
        return True


# Where a resumed attempt enters the drill's phases (--resume-from PHASE:STAGE).
RESUME_ENTRY = {"readiness": "readiness", "failover": "outage", "failback": "restore"}
# Each phase of drill_phases.PHASES and the step that carries it out, in one table.
PHASE_STEPS: dict[str, Callable[[GamedayWalk], bool]] = {
    "readiness": GamedayWalk._readiness,
    "outage": GamedayWalk._outage,
    "failover": GamedayWalk._failover,
    "rpo": GamedayWalk._rpo,
    "hold": GamedayWalk._hold,
    "restore": GamedayWalk._restore,
    "failback": GamedayWalk._failback,
    "readiness-after": GamedayWalk._readiness_after,
}


def _hold_in_dr(plan: GamedayPlan, journal: Journal, mark: Callable[[str], None]) -> None:
    """--hold-in-dr: stay in DR, watching it, before the restore and failback (hold.py). An
    interruption here resumes at failback 1 (the hold is not repeated)."""
    if plan.hold_minutes is None or plan.hold_limits is None:
        return
    from maip_drlib.drill.hold import run_hold_phase

    _check_lease(plan, journal, before="hold")
    mark("hold.start")
    held = run_hold_phase(plan.target, plan.topology, plan.attempt, journal, plan.echo,
                          plan.hold_minutes, plan.hold_limits)
    mark("hold.end")
    if not held.ok:  # a DR finding, notified like a failed stage
        from maip_drlib.drill.hold import result_row

        scale = plan.target.time_scale if plan.target.simulated else None
        delivery = on_stage_failed(plan.operations, result_row(held, scale),
                                   drill_id=plan.attempt.drill_id, target=plan.target,
                                   evidence=plan.attempt.path, redactor=plan.redactor,
                                   echo=plan.echo)
        if delivery is not None:
            journal.record("notification", event=delivery.event, delivered=delivery.delivered,
                           attempts=delivery.attempts, status=delivery.status,
                           error=delivery.error)


def _journal_lease(plan: GamedayPlan, journal: Journal) -> None:
    if plan.lease_grant is not None:
        journal_lease_grant(journal, plan.lease_grant)


def journal_lease_grant(journal: Journal, grant: LeaseGrant) -> None:
    """``lease.acquired``, and ``lease.broken`` (who, when, the previous holder and its
    heartbeat's age) when it was taken over: every command that holds the lease."""
    journal.record("lease.acquired", **grant.journal_fields())
    if grant.broken is not None:
        journal.record("lease.broken", **grant.broken_fields())


def _check_lease(plan: GamedayPlan, journal: Journal, *, before: str) -> None:
    """Stop before ``before`` if the heartbeat lost the lease (another drill may run)."""
    lease = plan.lease
    if lease is None or not lease.lost.is_set():
        return
    journal.record("lease.lost", reason=lease.lost_reason, before_phase=before)
    journal.close()
    raise LeaseLost(f"drill lease lost before the {before} phase ({lease.lost_reason}); the "
                    "drill stopped: check who holds it before resuming with --resume-from")


def _note_interruption(plan: GamedayPlan, journal: Journal) -> None:
    """On a resume, say in the journal where the previous attempt stopped."""
    from maip_drlib.evidence.journal import scan_journal

    number = plan.attempt.number
    previous = plan.attempt.path.parent / f"attempt-{number - 1}" / "journal.jsonl"
    if number < 2 or not previous.exists():
        return
    records = scan_journal(previous).records
    last = records[-1] if records else {}
    if last.get("kind") == "drill.end":
        return
    stages = [r for r in records if r.get("kind") == "stage.start"]
    where = (f"{stages[-1].get('phase')} stage {stages[-1].get('stage')}" if stages
             else last.get("kind", "its start"))
    journal.record("drill.resumed", previous_attempt=number - 1, interrupted_in=where,
                   last_record=last.get("kind"), last_record_at=last.get("at"))
    plan.echo(f"maip-dr: attempt {number - 1} was interrupted in {where}; resuming")
