"""Unit tests (no simulation): every stage's precondition over fake facts, the promotion
guard's serving statuses, and that a stage refused by its precondition makes no call at all
(its handles raise on any use) and refuses before ``--dr-execute`` is even asked."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from maip_drlib.config import Topology, embedded_target
from maip_drlib.drill import failback, failover, guards, outcome_checks, preconditions
from maip_drlib.drill.catch_up import ReplicaCatchUp
from maip_drlib.drill.context import DrillContext, DrillOptions, OutageDeclaration
from maip_drlib.drill.guards import FencingEvidence, PrimaryWriterState
from maip_drlib.drill.preconditions import RouteFacts, evaluate
from maip_drlib.errors import CheckFailed, GuardRefused
from maip_drlib.facts import (
    AliasTarget,
    ApiUnreachable,
    DbInstanceFact,
    RdsRoles,
    RecordSetFact,
    ReplicationLag,
)

pytestmark = pytest.mark.unit

TOPO = Topology()
PRIMARY, DR = TOPO.primary.region, TOPO.secondary.region
PRIMARY_ALB, DR_ALB = "maip-prod-alb-1.us-east-1.elb.amazonaws.com", \
    "maip-prod-dr-alb-1.us-west-2.elb.amazonaws.com"
DECLARED = DrillOptions(execute=True, declared_outage=OutageDeclaration.now("us-east-1 is down"))
PLANNED = DrillOptions(execute=True, planned=True)


def db(name: str, region: str, *, status: str = "available", source: str | None = None
       ) -> DbInstanceFact:
    role = "replica" if source else ("fenced" if status == "stopped" else "writer")
    return DbInstanceFact(identifier=name, region=region, status=status, role=role,  # type: ignore[arg-type]
                          source=source, replicas=(), backup_retention_days=7,
                          arn=f"arn:aws:rds:{region}:1:db:{name}")


OLD_WRITER = db(TOPO.primary.rds_instance, PRIMARY)
DR_REPLICA = db(TOPO.secondary.rds_instance, DR, source=OLD_WRITER.arn)
DR_WRITER = db(TOPO.secondary.rds_instance, DR)
FAILBACK_REPLICA = db(TOPO.failback_replica, PRIMARY, source=DR_WRITER.arn)
FENCED = db(TOPO.primary.rds_instance, PRIMARY, status="stopped")

STEADY = RdsRoles(writers=(OLD_WRITER,), replicas=(DR_REPLICA,))
PROMOTED_IN_OUTAGE = RdsRoles(writers=(DR_WRITER,), replicas=(), unreachable_regions=(
    ApiUnreachable(PRIMARY, "rds", "connection refused", 0.1),))
SPLIT_BRAIN = RdsRoles(writers=(OLD_WRITER, DR_WRITER), replicas=())
FENCED_BACK = RdsRoles(writers=(DR_WRITER,), replicas=(), fenced=(FENCED,))
RESYNCED = RdsRoles(writers=(DR_WRITER,), replicas=(FAILBACK_REPLICA,), fenced=(FENCED,))
FAILBACK_PROMOTED = RdsRoles(writers=(DR_WRITER, db(TOPO.failback_replica, PRIMARY)),
                             replicas=(), fenced=(FENCED,))
NEW_WRITER = db(TOPO.failback_replica, PRIMARY)
STEADY_AGAIN = RdsRoles(writers=(NEW_WRITER,), replicas=(
    db(TOPO.secondary.rds_instance, DR, source=NEW_WRITER.arn),), fenced=(FENCED,))
# The second drill: the writer was maip-prod-postgres-new, the failback replica takes the
# free name maip-prod-postgres (the first drill's fenced writer was deleted).
FENCED_NEW = db(TOPO.failback_replica, PRIMARY, status="stopped")
RESYNCED_AGAIN = RdsRoles(writers=(DR_WRITER,), replicas=(
    db(TOPO.primary.rds_instance, PRIMARY, source=DR_WRITER.arn),), fenced=(FENCED_NEW,))
PROMOTED_AGAIN = RdsRoles(writers=(DR_WRITER, OLD_WRITER), replicas=(), fenced=(FENCED_NEW,))


def record(kind: str, target: str, *, role: str | None = None, weight: int | None = None
           ) -> RecordSetFact:
    return RecordSetFact(name=TOPO.record_name, type="A", kind=kind,  # type: ignore[arg-type]
                         set_identifier=f"{kind}-{role or weight}", failover=role, weight=weight,
                         alias=AliasTarget(target + ".", "Z1", True), health_check_id="hc")


def route(*records: RecordSetFact) -> RouteFacts:
    return RouteFacts(records, PRIMARY_ALB, DR_ALB)


PAIR = route(record("failover", PRIMARY_ALB, role="PRIMARY"),
             record("failover", DR_ALB, role="SECONDARY"))
PAIR_SWITCHED = route(record("failover", DR_ALB, role="PRIMARY"),
                      record("failover", DR_ALB, role="SECONDARY"))
WEIGHTS_BACK = route(record("weighted", PRIMARY_ALB, weight=100),
                     record("weighted", DR_ALB, weight=0))
WEIGHTS_HALF = route(record("weighted", PRIMARY_ALB, weight=50),
                     record("weighted", DR_ALB, weight=50))
WEIGHTS_CROSSED = route(record("weighted", DR_ALB, weight=100),
                        record("weighted", PRIMARY_ALB, weight=0))


@dataclass
class FakeState:
    """The facts a precondition reads; a fact not given raises when read (not needed)."""

    roles: RdsRoles = STEADY
    options: DrillOptions = DECLARED
    topology: Topology = TOPO
    clients_value: tuple[str | None, str] | None = None
    route_value: RouteFacts | None = None
    writer_value: PrimaryWriterState | None = None
    fencing_value: FencingEvidence | None = None
    lag_value: ReplicationLag | None = None
    read: list[str] = field(default_factory=list)

    def _get(self, name: str) -> Any:
        value = getattr(self, f"{name}_value")
        if value is None:
            raise AssertionError(f"the check read {name}, which this case does not give")
        self.read.append(name)
        return value

    @property
    def clients(self) -> tuple[str | None, str]:
        return self._get("clients")

    @property
    def route(self) -> RouteFacts:
        return self._get("route")

    @property
    def primary_writer(self) -> PrimaryWriterState:
        return self._get("writer")

    @property
    def fencing(self) -> FencingEvidence:
        return self._get("fencing")

    @property
    def replica_lag(self) -> ReplicationLag | None:
        return self._get("lag")


ON_DR = (DR, f"simulated DNS, region {DR}")
ON_PRIMARY = (PRIMARY, f"simulated DNS, region {PRIMARY}")
SERVING = PrimaryWriterState(PRIMARY, True, OLD_WRITER)
DOWN = PrimaryWriterState(PRIMARY, False, error="connection refused")
FENCED_APP = FencingEvidence(PRIMARY, sessions=())
LAG_ZERO = ReplicaCatchUp("rds", DR, DR_REPLICA.identifier, 0.0, writer="maip-prod-postgres",
                          method="wal", caught_up=True, detail="WAL distance 0 bytes")


# --- Refusals: the state found, what is needed, the stage to run first ---------------------

REFUSALS = [
    ("failover", 1, FakeState(roles=RdsRoles(writers=(OLD_WRITER,), replicas=())),
     "no single DR replica", None),
    ("failover", 2, FakeState(writer_value=SERVING), "split brain", None),
    ("failover", 2, FakeState(options=DrillOptions(execute=True), writer_value=DOWN),
     "--dr-declare-outage", None),
    ("failover", 2, FakeState(options=PLANNED, writer_value=SERVING, lag_value=LAG_ZERO,
                              fencing_value=FencingEvidence(PRIMARY, pods=("api-1 (Running)",),
                                                            sessions=())),
     "pods left: api-1", "failover 1"),
    ("failover", 3, FakeState(), "no writer in the DR region", "failover 2"),
    ("failover", 3, FakeState(roles=PROMOTED_IN_OUTAGE, options=DrillOptions(execute=True)),
     "no outage declared", None),
    ("failover", 4, FakeState(), "no writer in the DR region", "failover 2"),
    ("failover", 4, FakeState(roles=PROMOTED_IN_OUTAGE, clients_value=ON_PRIMARY),
     "clients not on DR", "failover 3"),
    ("failover", 5, FakeState(roles=PROMOTED_IN_OUTAGE, clients_value=ON_PRIMARY),
     "clients not on DR", "failover 3"),
    ("failback", 1, FakeState(), "no writer in the DR region", "the failover (failover 1-5)"),
    ("failback", 2, FakeState(roles=SPLIT_BRAIN), "split brain", "failback 1"),
    ("failback", 2, FakeState(roles=PROMOTED_IN_OUTAGE), "the primary is not back",
     "failback 1"),
    ("failback", 3, FakeState(), "no writer in the DR region", "the failover (failover 1-5)"),
    ("failback", 3, FakeState(roles=FENCED_BACK), "no failback replica", "failback 2"),
    ("failback", 4, FakeState(roles=RESYNCED, route_value=WEIGHTS_HALF),
     "traffic not back on the primary", "failback 3"),
    ("failback", 4, FakeState(roles=RESYNCED, route_value=PAIR_SWITCHED),
     "traffic not back on the primary", "failback 3"),
    ("failback", 4, FakeState(roles=RESYNCED, route_value=PAIR),
     "traffic not back on the primary", "failback 3"),
    ("failback", 4, FakeState(roles=RESYNCED, route_value=WEIGHTS_CROSSED),
     "traffic not back on the primary", "failback 3"),
    # Two writers, traffic not weighted back: under either name that may be an old writer
    # restored beside the DR writer, never taken for a promoted failback replica (stage 4
    # would delete the DR writer): failback 1 fences it.
    ("failback", 4, FakeState(roles=FAILBACK_PROMOTED, route_value=PAIR_SWITCHED),
     "split brain", "failback 1"),
    ("failback", 4, FakeState(roles=FAILBACK_PROMOTED, route_value=PAIR),
     "split brain", "failback 1"),
    ("failback", 4, FakeState(roles=SPLIT_BRAIN, route_value=PAIR), "split brain",
     "failback 1"),
    ("failback", 4, FakeState(roles=RdsRoles(writers=(NEW_WRITER,), replicas=()),
                              route_value=PAIR_SWITCHED),
     "traffic not back on the primary", None),
]


@pytest.mark.parametrize(("phase", "stage", "state", "found", "run_first"), REFUSALS)
def test_each_refusal_names_the_state_and_the_stage_to_run_first(
        phase: str, stage: int, state: FakeState, found: str, run_first: str | None) -> None:
    verdict = evaluate(state, phase, stage)
    assert not verdict.ok and verdict.run_first == run_first
    message = verdict.message()
    assert message.startswith(f"{phase} {stage}: refusing to start: found ")
    assert found in message and "\n" not in message and message.endswith("nothing was changed")
    if run_first:
        assert f"run {run_first} first" in message


PASSES = [
    ("failover", 1, FakeState(), False),
    ("failover", 1, FakeState(roles=PROMOTED_IN_OUTAGE), True),
    ("failover", 2, FakeState(writer_value=DOWN), False),
    ("failover", 2, FakeState(options=PLANNED, writer_value=SERVING, fencing_value=FENCED_APP,
                              lag_value=LAG_ZERO), False),
    ("failover", 2, FakeState(roles=PROMOTED_IN_OUTAGE), True),
    ("failover", 3, FakeState(roles=PROMOTED_IN_OUTAGE), False),
    ("failover", 3, FakeState(roles=PROMOTED_IN_OUTAGE, options=PLANNED), False),
    ("failover", 4, FakeState(roles=PROMOTED_IN_OUTAGE, clients_value=ON_DR), False),
    ("failover", 5, FakeState(roles=PROMOTED_IN_OUTAGE, clients_value=ON_DR), False),
    ("failback", 1, FakeState(roles=SPLIT_BRAIN), False),
    ("failback", 2, FakeState(roles=FENCED_BACK), False),
    ("failback", 2, FakeState(roles=RESYNCED), False),  # re-run after it succeeded
    ("failback", 3, FakeState(roles=RESYNCED), False),
    ("failback", 4, FakeState(roles=RESYNCED, route_value=WEIGHTS_BACK), False),
    ("failback", 4, FakeState(roles=FAILBACK_PROMOTED, route_value=WEIGHTS_BACK), False),
    ("failback", 4, FakeState(roles=STEADY_AGAIN, route_value=PAIR), True),
    ("failback", 3, FakeState(roles=RESYNCED_AGAIN), False),
    ("failback", 4, FakeState(roles=RESYNCED_AGAIN, route_value=WEIGHTS_BACK), False),
    ("failback", 4, FakeState(roles=PROMOTED_AGAIN, route_value=WEIGHTS_BACK), False),
]


@pytest.mark.parametrize(("phase", "stage", "state", "done"), PASSES)
def test_each_precondition_passes_where_its_stage_starts_or_already_ran(
        phase: str, stage: int, state: FakeState, done: bool) -> None:
    verdict = evaluate(state, phase, stage)
    assert verdict.ok, verdict.message()
    assert verdict.already_done is done


def test_every_stage_has_one_precondition_keyed_by_phase_and_stage() -> None:
    assert sorted(preconditions.PRECONDITIONS) == (
        [("failback", n) for n in range(1, 5)] + [("failover", n) for n in range(1, 6)])


def test_promotion_guard_facts_are_read_only_when_they_matter() -> None:
    state = FakeState(writer_value=DOWN)  # declared outage, primary down: no fencing read
    assert evaluate(state, "failover", 2).ok and state.read == ["writer"]


# --- The promotion guard: which primary statuses count as serving -------------------------

SERVING_STATUSES = ("available", "backing-up", "modifying", "storage-optimization", "rebooting",
                    "configuring-enhanced-monitoring", "upgrading", "maintenance", "starting")
NOT_SERVING = ("stopped", "stopping", "deleting")


@pytest.mark.parametrize("status", SERVING_STATUSES)
def test_a_declared_outage_with_a_serving_primary_is_refused(status: str) -> None:
    state = PrimaryWriterState(PRIMARY, True, replace(OLD_WRITER, status=status))
    assert state.serving
    judged = guards.judge_promotion(state, DECLARED, None, None)
    assert not judged.allowed and "split brain" in judged.message and status in judged.message
    planned = guards.judge_promotion(state, PLANNED, FENCED_APP, LAG_ZERO)
    assert planned.allowed  # unless planned fencing holds


@pytest.mark.parametrize("status", NOT_SERVING)
def test_a_stopped_stopping_or_deleting_primary_does_not_serve(status: str) -> None:
    state = PrimaryWriterState(PRIMARY, True, replace(OLD_WRITER, status=status))
    assert not state.serving
    assert guards.judge_promotion(state, DECLARED, None, None).allowed
    assert not guards.judge_promotion(state, DrillOptions(execute=True), None, None).allowed


def test_unreachable_or_gone_primary_does_not_serve_but_needs_a_declaration() -> None:
    for state in (DOWN, PrimaryWriterState(PRIMARY, True, None)):
        assert not state.serving
        assert guards.judge_promotion(state, DECLARED, None, None).allowed
    assert not guards.judge_promotion(DOWN, PLANNED, None, None).allowed  # planned, unreachable


@pytest.mark.parametrize(("accepts", "serving"), [(True, True), (False, False)])
def test_the_database_decides_when_it_is_asked(accepts: bool, serving: bool) -> None:
    state = PrimaryWriterState(PRIMARY, True, OLD_WRITER,
                               database=guards.DatabaseWrites(accepts, "PostgreSQL says so"))
    assert state.serving is serving


def test_planned_promotion_needs_every_piece_of_fencing() -> None:
    for fencing in (FencingEvidence(PRIMARY, running=("api=2",), sessions=()),
                    FencingEvidence(PRIMARY, sessions=("session 7 of app (svc, idle)",)),
                    FencingEvidence(PRIMARY, unknown=("Kubernetes: refused",)), None):
        judged = guards.judge_promotion(SERVING, PLANNED, fencing, LAG_ZERO)
        assert not judged.allowed and "run failover 1 first" in judged.message
    lagging = ReplicationLag("rds", DR, DR_REPLICA.identifier, 4.0)
    assert not guards.judge_promotion(SERVING, PLANNED, FENCED_APP, lagging).allowed


class _Handles:
    """Region handles that fail the test on any use: a refused stage makes no call."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the stage used its handles ({name}) before its precondition")

    def __iter__(self) -> Any:
        raise AssertionError("the stage iterated its handles before its precondition")


def _ctx(monkeypatch: pytest.MonkeyPatch, state: FakeState, **options: Any) -> DrillContext:
    monkeypatch.setattr(preconditions, "PlatformView", lambda ctx: state)
    return DrillContext(handles=_Handles(), topology=TOPO,  # type: ignore[arg-type]
                        target=embedded_target(TOPO), resolver=None,  # type: ignore[arg-type]
                        options=DrillOptions(**options))


STAGES = [
    ("failover", 1, lambda ctx: failover.stage_1_primary_down(ctx)),
    ("failover", 2, lambda ctx: failover.stage_2_promote(ctx)),
    ("failover", 3, lambda ctx: failover.stage_3_route_clients(ctx)),
    ("failover", 4, lambda ctx: failover.stage_4_scale_dr(ctx)),
    ("failover", 5, lambda ctx: failover.stage_5_dr_serves(ctx)),
    ("failback", 1, lambda ctx: failback.stage_1_primary_restored(ctx)),
    ("failback", 2, lambda ctx: failback.stage_2_resync(ctx)),
    ("failback", 3, lambda ctx: failback.stage_3_weighted_shift(
        ctx, soak_s=0, max_5xx_per_min=1, max_latency_s=1)),
    ("failback", 4, lambda ctx: failback.stage_4_steady_state(ctx)),
]
REFUSED_STATE = {(phase, stage): state for phase, stage, state, _, _ in REFUSALS}


@pytest.mark.parametrize(("phase", "stage", "run"), STAGES)
def test_a_stage_checks_its_precondition_first_and_makes_no_call(
        monkeypatch: pytest.MonkeyPatch, phase: str, stage: int, run: Any) -> None:
    state = REFUSED_STATE[(phase, stage)]
    ctx = _ctx(monkeypatch, replace(state, read=[]), execute=False)  # not even --dr-execute
    with pytest.raises(GuardRefused, match=f"{phase} {stage}: refusing to start") as refused:
        run(ctx)
    assert refused.value.exit_code == 3 and "--dr-execute" not in str(refused.value)
    [entry] = ctx.decisions.entries
    assert entry.stage == f"{phase} {stage}" and entry.decision.startswith("refused")
    assert entry.evidence["found"] and entry.evidence["needed"]


def test_only_writer_tells_a_fenced_old_writer_from_split_brain(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outcome_checks.rds, "find_writer_and_replicas",
                        lambda handles, topo: SPLIT_BRAIN)
    fencing = {"now": FENCED_APP}
    monkeypatch.setattr(outcome_checks, "observe_fencing", lambda ctx, writer: fencing["now"])
    planned = _ctx(monkeypatch, FakeState(), planned=True)
    assert "fenced at the application" in outcome_checks.only_writer_in(planned, "secondary")
    assert planned.decisions.entries[-1].evidence["fencing"] == str(FENCED_APP)
    fencing["now"] = FencingEvidence(PRIMARY, sessions=("session 7 of app (svc, active)",))
    with pytest.raises(CheckFailed, match=r"split brain.*session 7"):
        outcome_checks.only_writer_in(planned, "secondary")
    with pytest.raises(CheckFailed, match="not \\(only\\) where expected"):
        outcome_checks.only_writer_in(_ctx(monkeypatch, FakeState(), **vars(DECLARED)), "secondary")


def test_a_bare_replica_lag_figure_never_reads_as_zero() -> None:
    """ReplicaLag alone cannot tell an idle writer from lag: a metric figure of 0 is no proof."""
    metric_zero = ReplicationLag("rds", DR, DR_REPLICA.identifier, 0.0)
    assert not guards.lag_is_zero(metric_zero)
    judged = guards.judge_promotion(PrimaryWriterState(PRIMARY, True, OLD_WRITER), PLANNED,
                                    FENCED_APP, metric_zero)
    assert not judged.allowed and "WAL position" in judged.message
    assert guards.lag_is_zero(LAG_ZERO)
