"""Where each stage starts: the state it needs before any mutating call (DESIGN.md 4a).

One place, keyed by ``(phase, stage)`` (``PRECONDITIONS``, one per stage of ``registry.STAGES``,
whose words say what each stage needs): what each stage needs, in words,
and a check over observed facts that returns a typed ``PreconditionVerdict`` (what was found,
what is needed, which stage to run first, whether the stage's work is already done). Every
stage function calls ``require(ctx, phase, stage)`` FIRST, before any mutating call and
before ``require_execute``; the Given step "the platform is where this stage starts" calls
the same. A verdict that fails raises ``GuardRefused`` (exit 3) with one line naming the state
found and the stage to run first; every verdict is recorded in ``ctx.decisions``. Work already
done passes (a stage re-run after it succeeded, a resumed drill): the stage then recognises
it and makes no call.

What each stage needs (``check_*`` below; the first condition that fails is reported):

- failover 1: the DR region holds the database replica (or its promoted writer: done).
- failover 2: the DR replica (or its promoted writer: done); the primary writer down or fenced
  (``guards.judge_promotion``: a declared outage with the primary not serving, or a planned
  failover whose fencing holds).
- failover 3: the promoted DR writer (standalone, available) and a declared outage or a
  planned failover.
- failover 4 and 5: the promoted DR writer, and clients reaching the DR region (stage 4
  scales DR for the traffic that stage 3 moved there; stage 5 checks DR serves it).
- failover 3-5 in a declared outage (not planned) ask nothing of the primary region: the RDS
  roles are read in DR only and where clients land is judged by the DR ALB
  (``region_facts``).
- failback 1: a completed failover (the promoted writer in DR).
- failback 2: that, the primary back (its RDS API answers) and its old writer fenced (no
  second writer).
- failback 3: that, and the data resynced (the failback replica in the primary region, under
  either of its names ``topology.primary.rds_instance`` / ``topology.failback_replica``,
  replicating from the DR writer; ``drill.failback_names``).
- failback 4: failback 3's state with the weighted pair at 100/0 to the primary (each record
  aliasing its own region's ALB); or, resumed, the failback replica already promoted (a
  primary-region writer under either name) and the records at 100/0, or the failover pair
  restored (PRIMARY -> primary ALB, SECONDARY -> DR ALB) with that writer the only one. Two
  writers with the pair as before the drill is an old writer restored beside the DR writer
  (failback 1's to fence), not a resumed stage 4.

Facts are read lazily through a ``PlatformView`` (only what a check asks for); tests give a
plain object with the same attributes. Not supported: preconditions of readiness and RPO
scenarios; the planner does not judge preconditions (it models its own calls forward).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from maip_drlib.config import Topology
from maip_drlib.drill import failback_names, region_facts, registry, traffic
from maip_drlib.drill.context import DrillContext, DrillOptions
from maip_drlib.drill.guards import (
    FencingEvidence,
    PrimaryWriterState,
    dr_replica,
    judge_promotion,
    observe_fencing,
    primary_writer_state,
    read_replica_lag,
)
from maip_drlib.errors import GuardRefused
from maip_drlib.facts import DbInstanceFact, RdsRoles, RecordSetFact, ReplicationLag
from maip_drlib.probes import rds as rds_probes

StageKey = tuple[str, int]


@dataclass(frozen=True)
class PreconditionVerdict:
    """A stage's precondition over the state found (``ok``; ``already_done``: its work is)."""

    phase: str
    stage: int
    ok: bool
    found: str
    needed: str
    run_first: str | None = None  # the stage (or step) that establishes what is missing
    already_done: bool = False
    hint: str = ""  # what to do when no stage establishes it (a flag, a repair)
    decision: str = ""  # the decision recorded (default: from ok / already_done)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.phase} {self.stage}"

    def message(self) -> str:
        """One line: the refusal, the state found, what is needed, what to run first."""
        text = (f"{self.name}: refusing to start: found {self.found}; this stage needs "
                f"{self.needed}")
        if self.run_first:
            text += f"; run {self.run_first} first"
        if self.hint:
            text += f"; {self.hint}"
        return " ".join(f"{text}; nothing was changed".split())


class StageState(Protocol):
    """The facts a check may read (``PlatformView`` reads them; tests give fakes)."""

    topology: Topology
    options: DrillOptions

    @property
    def roles(self) -> RdsRoles: ...
    @property
    def clients(self) -> tuple[str | None, str]: ...
    @property
    def route(self) -> RouteFacts: ...
    @property
    def primary_writer(self) -> PrimaryWriterState: ...
    @property
    def fencing(self) -> FencingEvidence: ...
    @property
    def replica_lag(self) -> ReplicationLag | None: ...


@dataclass(frozen=True)
class RouteFacts:
    """The API record's sets and the DNS names of both ALBs."""

    records: tuple[RecordSetFact, ...]
    primary_alb: str
    dr_alb: str

    @property
    def weighted_back(self) -> bool:
        """Weighted pair only, 100 to the primary ALB and 0 to the DR ALB."""
        return traffic.weighted_back_on_primary(self.records, self.primary_alb, self.dr_alb)

    @property
    def pair_restored(self) -> bool:
        """The failover pair as before the drill: PRIMARY -> primary ALB, SECONDARY -> DR."""
        return traffic.failover_pair_restored(self.records, self.primary_alb, self.dr_alb)

    def __str__(self) -> str:
        return "; ".join(map(str, self.records)) or "no records"


class PlatformView:
    """The facts of ``StageState`` read from the platform, each once, when first asked.

    ``skip_primary``: the primary region is declared down and the stage must not ask it
    (failover 3-5): the RDS roles are read in DR only, the primary listed as not asked.
    """

    def __init__(self, ctx: DrillContext, *, skip_primary: bool = False) -> None:
        self._ctx = ctx
        self.topology = ctx.topology
        self.options = ctx.options
        self.skip_primary = skip_primary

    @cached_property
    def roles(self) -> RdsRoles:
        if self.skip_primary:
            return region_facts.dr_roles(self._ctx)
        return rds_probes.find_writer_and_replicas(self._ctx.handles, self.topology)

    @cached_property
    def clients(self) -> tuple[str | None, str]:
        from maip_drlib.drill.clients_landing import clients_region

        return clients_region(self._ctx)

    @cached_property
    def route(self) -> RouteFacts:
        from maip_drlib.probes import elb as elb_probes
        from maip_drlib.probes import route53 as route53_probes

        handles, topo = self._ctx.handles, self.topology
        zone = route53_probes.hosted_zone(handles.primary, topo.hosted_zone)
        records = route53_probes.record_sets(handles.primary, zone.zone_id, topo.record_name,
                                             "A")
        primary = elb_probes.load_balancer(handles.primary, topo.primary.alb_name)
        dr = elb_probes.load_balancer(handles.secondary, topo.secondary.alb_name)
        return RouteFacts(tuple(records), primary.dns_name, dr.dns_name)

    @cached_property
    def primary_writer(self) -> PrimaryWriterState:
        return primary_writer_state(self._ctx)

    @cached_property
    def fencing(self) -> FencingEvidence:
        writer = self.primary_writer.writer
        return observe_fencing(self._ctx, writer.identifier if writer else None)

    @cached_property
    def replica_lag(self) -> ReplicationLag | None:
        replica = dr_replica(self.roles, self.topology)
        return read_replica_lag(self._ctx, replica.identifier) if replica else None


# Stages that must not ask a primary declared down (issue 14 item 6; region_facts.py).
_WITHOUT_PRIMARY: frozenset[StageKey] = frozenset({("failover", 3), ("failover", 4),
                                                   ("failover", 5)})


# --- Conditions shared by several stages -----------------------------------------------------


def dr_writer_of(roles: RdsRoles, topology: Topology) -> DbInstanceFact | None:
    """The writer in the DR region (the promoted instance), if any."""
    region = topology.secondary.region
    return next((w for w in roles.writers if w.region == region), None)


def _verdict(state: StageState, key: StageKey, ok: bool, found: str, needed: str,
             **extra: Any) -> PreconditionVerdict:
    return PreconditionVerdict(key[0], key[1], ok, found, needed, **extra)


def _dr_unreachable(state: StageState) -> str | None:
    region = state.topology.secondary.region
    return next((str(u) for u in state.roles.unreachable_regions if u.region == region), None)


def _promoted(state: StageState, key: StageKey) -> PreconditionVerdict | None:
    """None when the DR writer is promoted (standalone, available); else the refusal."""
    needed = "the promoted DR writer (standalone, available)"
    unreachable = _dr_unreachable(state)
    if unreachable:
        return _verdict(state, key, False, unreachable, needed,
                        hint="the DR RDS API must answer")
    writer = dr_writer_of(state.roles, state.topology)
    if writer is None or writer.status != "available" or writer.source:
        found = (f"no writer in the DR region ({state.roles})" if writer is None
                 else f"the DR writer not yet available ({writer})")
        return _verdict(state, key, False, found, needed, run_first="failover 2"
                        if key[0] == "failover" else "the failover (failover 1-5)")
    return None


def _clients_on_dr(state: StageState, key: StageKey) -> PreconditionVerdict | None:
    region, seen = state.clients
    if region == state.topology.secondary.region:
        return None
    return _verdict(state, key, False, f"clients not on DR: {seen}",
                    f"clients reaching the DR region ({state.topology.secondary.region})",
                    run_first="failover 3")


def _primary_back_and_fenced(state: StageState, key: StageKey,
                             promoted: DbInstanceFact) -> PreconditionVerdict | None:
    region = state.topology.primary.region
    unreachable = next((str(u) for u in state.roles.unreachable_regions
                        if u.region == region), None)
    needed = "the primary back and its old writer fenced"
    if unreachable:
        return _verdict(state, key, False, f"the primary is not back: {unreachable}", needed,
                        run_first="failback 1")
    others = [w for w in state.roles.writers if w != promoted]
    if others:
        return _verdict(state, key, False, "an old writer beside the promoted one (split "
                        f"brain): {', '.join(map(str, others))}", needed,
                        run_first="failback 1")
    return None


def _resynced(state: StageState, key: StageKey,
              promoted: DbInstanceFact) -> PreconditionVerdict | None:
    topo = state.topology
    if failback_names.failback_replica(state.roles, topo, promoted) is not None:
        return None
    names = " or ".join(rds_probes.primary_writer_names(topo))
    return _verdict(state, key, False, f"no failback replica ({names}) in "
                    f"{topo.primary.region} replicating from {promoted.identifier} "
                    f"({state.roles})",
                    "the data resynced (the failback replica replicating from the DR writer)",
                    run_first="failback 2")


# --- Failover ------------------------------------------------------------------------------


def check_failover_1(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failover", 1)
    needed = "the DR region holding the database replica (or its promoted writer)"
    unreachable = _dr_unreachable(state)
    if unreachable:
        return _verdict(state, key, False, unreachable, needed,
                        hint="the DR RDS API must answer")
    writer = dr_writer_of(state.roles, state.topology)
    if writer is not None:
        return _verdict(state, key, True, f"already promoted: {writer}", needed,
                        already_done=True)
    replica = dr_replica(state.roles, state.topology)
    if replica is None:
        return _verdict(state, key, False, f"no single DR replica ({state.roles})", needed,
                        hint="no stage creates it: restore the DR replica (readiness shows it)")
    return _verdict(state, key, True, str(replica), needed)


def check_failover_2(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failover", 2)
    needed = "the DR replica, and the primary down (declared outage) or fenced (planned)"
    unreachable = _dr_unreachable(state)
    if unreachable:
        return _verdict(state, key, False, unreachable, needed,
                        hint="the DR RDS API must answer")
    writer = dr_writer_of(state.roles, state.topology)
    if writer is not None:
        done = "already promoted" if writer.status == "available" else "promotion in progress"
        return _verdict(state, key, True, f"{done}: {writer}", needed,
                        already_done=writer.status == "available")
    replica = dr_replica(state.roles, state.topology)
    if replica is None:
        return _verdict(state, key, False, f"no single DR replica ({state.roles})", needed,
                        hint="no stage creates it: restore the DR replica")
    if replica.status != "available":
        return _verdict(state, key, True, f"promotion in progress or replica busy: {replica}",
                        needed)
    primary, options = state.primary_writer, state.options
    planned_serving = options.planned and primary.serving
    fencing = state.fencing if planned_serving else None
    lag = state.replica_lag if planned_serving else None
    judgement = judge_promotion(primary, options, fencing, lag)
    evidence: dict[str, Any] = {"primary_writer": str(primary), "serving": primary.serving,
                                "planned": options.planned}
    if fencing is not None:
        evidence.update(fencing=str(fencing), replica_lag=str(lag) if lag else None)
    if options.declared_outage is not None:
        declared = options.declared_outage
        evidence.update(declared_by=declared.declared_by, declared_at=declared.declared_at,
                        declared_reason=declared.reason)
    if judgement.allowed:
        return _verdict(state, key, True, str(primary), needed, decision=judgement.decision,
                        evidence=evidence)
    return _verdict(state, key, False, str(primary), needed, decision=judgement.decision,
                    hint=judgement.message.removeprefix("failover 2: "), evidence=evidence,
                    run_first="failover 1" if options.planned else None)


def check_failover_3(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failover", 3)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    options = state.options
    if options.declared_outage is None and not options.planned:
        return _verdict(state, key, False, "no outage declared and not a planned failover",
                        "a declared outage or a planned failover",
                        hint="run with --dr-declare-outage REASON or --dr-planned")
    how = "planned failover" if options.planned else "declared outage"
    return _verdict(state, key, True, f"promoted DR writer; {how}", "the promoted DR writer "
                    "and a declared or planned outage")


def _check_dr_takes_traffic(key: StageKey) -> Callable[[StageState], PreconditionVerdict]:
    def check(state: StageState) -> PreconditionVerdict:
        refused = _promoted(state, key) or _clients_on_dr(state, key)
        if refused is not None:
            return refused
        return _verdict(state, key, True, f"promoted DR writer; clients: {state.clients[1]}",
                        "the promoted DR writer and clients on DR")
    return check


# --- Failback ------------------------------------------------------------------------------


def check_failback_1(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 1)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    return _verdict(state, key, True, f"failover done: {promoted}",
                    "a completed failover (the promoted DR writer)")


def check_failback_2(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 2)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    assert promoted is not None
    refused = _primary_back_and_fenced(state, key, promoted)
    return refused or _verdict(state, key, True, str(state.roles),
                               "the primary back and its old writer fenced")


def check_failback_3(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 3)
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    assert promoted is not None
    refused = (_primary_back_and_fenced(state, key, promoted)
               or _resynced(state, key, promoted))
    return refused or _verdict(state, key, True, str(state.roles), "the primary back, its "
                               "old writer fenced and the data resynced")


def check_failback_4(state: StageState) -> PreconditionVerdict:
    key: StageKey = ("failback", 4)
    topo = state.topology
    needed = ("weights at 100/0 to the primary (primary record -> primary ALB, DR record -> "
              "DR ALB) and the failback replica replicating from the DR writer")
    failback = failback_names.primary_writer(state.roles, topo)
    split = state.roles.split_brain
    if failback is not None:  # resumed after the promotion: the records must agree
        route = state.route
        if route.weighted_back or (route.pair_restored and not split):
            return _verdict(state, key, True, f"already promoted: {failback}; {route}", needed,
                            already_done=route.pair_restored)
        if not split:
            return _verdict(state, key, False, f"traffic not back on the primary: {route}",
                            needed, hint="the failback replica is already promoted: point "
                            "the records at the primary ALB by hand, then re-run")
        # Two writers, traffic not weighted back: an old writer restored beside the DR writer
        # (either name may be the old writer); the checks below refuse it (failback 1).
    refused = _promoted(state, key)
    if refused is not None:
        return refused
    promoted = dr_writer_of(state.roles, state.topology)
    assert promoted is not None
    refused = (_primary_back_and_fenced(state, key, promoted)
               or _resynced(state, key, promoted))
    if refused is not None:
        return refused
    route = state.route
    if not route.weighted_back:
        return _verdict(state, key, False, f"traffic not back on the primary: {route}",
                        needed, run_first="failback 3")
    return _verdict(state, key, True, f"weights 100/0 to the primary; {state.roles}", needed)


@dataclass(frozen=True)
class Precondition:
    """What one stage needs, in words, and the check that judges it."""

    phase: str
    stage: int
    needs: str
    check: Callable[[StageState], PreconditionVerdict]


_CHECKS: dict[StageKey, Callable[[StageState], PreconditionVerdict]] = {
    ("failover", 1): check_failover_1,
    ("failover", 2): check_failover_2,
    ("failover", 3): check_failover_3,
    ("failover", 4): _check_dr_takes_traffic(("failover", 4)),
    ("failover", 5): _check_dr_takes_traffic(("failover", 5)),
    ("failback", 1): check_failback_1,
    ("failback", 2): check_failback_2,
    ("failback", 3): check_failback_3,
    ("failback", 4): check_failback_4,
}
# One per stage of the registry, in its words (a stage without a check fails at import).
PRECONDITIONS: dict[StageKey, Precondition] = {
    (stage.phase, stage.number): Precondition(stage.phase, stage.number, stage.needs,
                                              _CHECKS[(stage.phase, stage.number)])
    for stage in registry.STAGES
}


def precondition(phase: str, stage: int) -> Precondition:
    try:
        return PRECONDITIONS[(phase, stage)]
    except KeyError:
        raise KeyError(f"no precondition for {phase} {stage}") from None


def evaluate(state: StageState, phase: str, stage: int) -> PreconditionVerdict:
    """The verdict of ``(phase, stage)`` over ``state`` (no recording, no raising)."""
    return precondition(phase, stage).check(state)


def require(ctx: DrillContext, phase: str, stage: int,
            state: StageState | None = None) -> PreconditionVerdict:
    """Judge, record in ``ctx.decisions`` and refuse (``GuardRefused``) when not met."""
    if state is None:
        state = PlatformView(ctx)
        if getattr(state, "skip_primary", None) is False:  # a real view, not a test's fake
            state.skip_primary = ((phase, stage) in _WITHOUT_PRIMARY
                                  and region_facts.primary_declared_down(ctx))
    verdict = evaluate(state, phase, stage)
    decision = verdict.decision or (
        "precondition met: work already done" if verdict.already_done and verdict.ok
        else "precondition met" if verdict.ok else "refused: precondition not met")
    ctx.decisions.record(verdict.name, decision, found=verdict.found, needed=verdict.needed,
                         run_first=verdict.run_first, **verdict.evidence)
    if not verdict.ok:
        raise GuardRefused(verdict.message())
    return verdict


__all__ = ["PRECONDITIONS", "PlatformView", "Precondition", "PreconditionVerdict",
           "RouteFacts", "StageState", "evaluate", "precondition", "require"]
