"""Safety guards of the drill (DESIGN.md section 4, "Split brain"); each refusal is exit 3.

- ``require_execute``: no mutating call without ``--dr-execute``.
- ``guard_promotion``: no promotion of the DR replica while the primary writer is SERVING,
  unless the run is a declared planned failover whose fencing holds. An unplanned promotion
  always needs the operator's outage declaration (``--dr-declare-outage``): a primary that
  does not answer the runner is not proof that it is down.

When the primary writer counts as serving (``PrimaryWriterState.serving``): always, unless
its RDS API is unreachable, the instance is gone or ``stopped``/``stopping``/``deleting``
(``NOT_SERVING_STATUSES``), or -- with database access (``target.database``) -- its
PostgreSQL refuses writes (``pg_is_in_recovery()`` or ``default_transaction_read_only``) or
cannot be connected. Every other status (``backing-up``, ``modifying``,
``storage-optimization``, ``rebooting``, ...) still takes writes and counts as serving. A
login the database refuses, or a secret that cannot be read, proves nothing: still serving.

Planned fencing (``FencingEvidence``, "writes stopped"): every deployment of the namespace in
the primary region at 0, no pod of those deployments left (a Terminating pod counts: pods keep
running and keep their connections over their grace period), and with database access no
session of the services left on the old writer (``pg_stat_activity``,
``probes.db_sessions``: the sessions of ``services_user`` when the target names it, else of
every user but the suite's and RDS's, as the evidence states); plus the DR replica's lag at
zero. ``verify.only_writer_in`` uses the same evidence to tell a fenced old writer from split
brain after a planned promotion.

Every decision (allowed or refused) is recorded in ``ctx.decisions`` with its evidence; who
declared the outage, and when, comes from the ``OutageDeclaration``.

Not supported: independent outage signals (AWS Health events, a second vantage point) in place
of the declaration; fencing at the database (RDS will not stop an instance that has replicas);
a lag decision by the ``ReplicaLag`` figure alone (``drill.catch_up`` decides: WAL position,
heartbeat, or a commit replayed after writes stopped).
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.config import Topology
from maip_drlib.drill.context import DrillContext, DrillOptions
from maip_drlib.errors import DRError, GuardRefused, NotFound, Unreachable, WaitTimeout
from maip_drlib.facts import DbInstanceFact, RdsRoles, ReplicationLag
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle

# ReplicaLag at or below this many seconds reads as "zero" (CloudWatch reports fractions).
LAG_ZERO_TOLERANCE_S = 0.1
# How far back the lag probe looks: the simulation publishes every 2 s; CloudWatch every 60 s.
SIMULATED_LAG_WINDOW_S = 3
LIVE_LAG_WINDOW_S = 180
# RDS statuses in which an instance takes no writes; every other status counts as serving.
NOT_SERVING_STATUSES = frozenset({"stopped", "stopping", "deleting", "deleted"})
# The promotion guard waits at most this long (platform seconds, one RDS idle period and a
# margin) for the DR replica to replay a commit made after it began (no database access).
CATCH_UP_GUARD_S = 360.0


@dataclass(frozen=True)
class DatabaseWrites:
    """What the writer's PostgreSQL said about taking writes (data plane only)."""

    accepts: bool
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class PrimaryWriterState:
    """What the runner sees of the writer in the primary region."""

    region: str
    reachable: bool
    writer: DbInstanceFact | None = None
    error: str | None = None
    database: DatabaseWrites | None = None  # None: not asked (no database access)

    @property
    def serving(self) -> bool:
        """Whether the writer may take writes (see the module docstring)."""
        if not self.reachable or self.writer is None:
            return False
        if self.writer.status in NOT_SERVING_STATUSES:
            return False
        return self.database is None or self.database.accepts

    @property
    def available_writer(self) -> bool:
        return self.writer is not None and self.writer.status == "available"

    def __str__(self) -> str:
        if not self.reachable:
            return f"RDS API in {self.region} unreachable: {self.error}"
        if self.writer is None:
            return f"no writer among the candidates in {self.region} (gone)"
        text = str(self.writer)
        return f"{text}; {self.database}" if self.database is not None else text


@dataclass(frozen=True)
class FencingEvidence:
    """The primary application fenced, as observed now (planned failover)."""

    region: str
    running: tuple[str, ...] = ()  # deployments still wanting replicas ("name=desired")
    pods: tuple[str, ...] = ()  # pods of the services left, Terminating ones included
    sessions: tuple[str, ...] | None = None  # service sessions on the writer; None: not asked
    unknown: tuple[str, ...] = ()  # observations that failed: not proof of fencing
    # Whose sessions were counted, and on which writer (probes.db_sessions.ServicesSessions).
    session_scope: str | None = None
    application: str = "primary application"

    @property
    def fenced(self) -> bool:
        return not (self.running or self.pods or self.sessions or self.unknown)

    def __str__(self) -> str:
        more = f" (+{len(self.pods) - 10} more)" if len(self.pods) > 10 else ""
        parts = [f"deployments running: {', '.join(self.running) or 'none'}",
                 f"pods left: {', '.join(self.pods[:10]) or 'none'}{more}"]
        scope = f" ({self.session_scope})" if self.session_scope else ""
        parts.append("service sessions: not checked (no database access)"
                     if self.sessions is None else
                     f"service sessions{scope}: {', '.join(self.sessions[:10]) or 'none'}")
        parts += [f"unknown: {item}" for item in self.unknown]
        return f"{self.application} in {self.region}: " + "; ".join(parts)


@dataclass(frozen=True)
class PromotionJudgement:
    """The promotion guard's verdict over observed facts (pure; ``guard_promotion`` acts)."""

    allowed: bool
    decision: str
    message: str = ""


def require_execute(ctx: DrillContext, stage: str, what: str = "a mutating call") -> None:
    """Refuse ``what`` unless the run was started with ``--dr-execute``."""
    if ctx.options.execute:
        return
    ctx.decisions.record(stage, "refused: not executing", needed="--dr-execute", would=what)
    raise GuardRefused(
        f"{stage}: refusing {what}: mutating stages need --dr-execute "
        f"(target {ctx.target.name}); nothing was changed"
    )


def choose_primary_writer(found: list[DbInstanceFact]) -> DbInstanceFact | None:
    """The non-replica instance of the primary region, preferring one that may serve."""
    standalone = [fact for fact in found if fact.role != "replica"]
    live = [fact for fact in standalone if fact.status not in NOT_SERVING_STATUSES]
    return (live or standalone or [None])[0]


def primary_writer_state(ctx: DrillContext) -> PrimaryWriterState:
    """The writer among the topology's candidates in the primary region, if its API answers;
    with database access, what its PostgreSQL says about taking writes."""
    handle = ctx.handles.primary
    try:
        found = rds_probes.instances_named(handle, ctx.topology.rds_candidates)
    except Unreachable as error:
        return PrimaryWriterState(region=handle.region, reachable=False, error=str(error))
    chosen = choose_primary_writer(found)
    database = None
    if (ctx.target.database is not None and chosen is not None
            and chosen.status not in NOT_SERVING_STATUSES):
        database = database_writes(ctx, handle, chosen.identifier)
    return PrimaryWriterState(region=handle.region, reachable=True, writer=chosen,
                              database=database)


def database_writes(ctx: DrillContext, handle: RegionHandle, instance: str) -> DatabaseWrites:
    """Ask ``instance``'s PostgreSQL whether it takes writes; cannot connect: it does not."""
    from maip_drlib.probes import postgres as pg_probes

    try:
        spec = pg_probes.connection_spec(handle, ctx.target.database, instance)
    except (DRError, ValueError) as error:  # no secret, no endpoint: nothing proven
        return DatabaseWrites(True, f"database not asked ({error}): counted as serving")
    try:
        state = pg_probes.write_state(spec)
    except Unreachable as error:
        return DatabaseWrites(False, f"database cannot be connected: {error}")
    except DRError as error:  # login refused, an odd answer: the database may still serve
        return DatabaseWrites(True, f"database answered but not clearly: {error}")
    return DatabaseWrites(state.accepts_writes, str(state))


def dr_replica(roles: RdsRoles, topology: Topology) -> DbInstanceFact | None:
    """The read replica in the secondary region (of the writer, when the writer is visible)."""
    region = topology.secondary.region
    candidates = [fact for fact in roles.replicas if fact.region == region]
    if roles.writer is not None:
        linked = [fact for fact in candidates if fact in roles.replicas_of(roles.writer)]
        candidates = linked or candidates
    return candidates[0] if len(candidates) == 1 else None


def lag_window_s(ctx: DrillContext) -> int:
    return SIMULATED_LAG_WINDOW_S if ctx.target.simulated else LIVE_LAG_WINDOW_S


def read_replica_lag(ctx: DrillContext, replica: str) -> ReplicationLag:
    """Whether the DR replica has replayed every write (``drill.catch_up``): by WAL position
    with database access, else by a commit replayed after this read began (``ReplicaLag``
    read as now minus the last replayed commit), waiting at most one idle period of RDS
    (``CATCH_UP_GUARD_S``); never ``ReplicaLag`` alone. Writes nothing."""
    import time

    from maip_drlib.drill import catch_up
    from maip_drlib.drill.deadlines import deadline_s

    pair = catch_up.pair_of(ctx, ctx.handles.secondary, replica)
    try:
        return catch_up.wait_caught_up(ctx, pair, since=time.time(), heartbeat=False,
                                       deadline_s=deadline_s(ctx, CATCH_UP_GUARD_S))
    except WaitTimeout as timeout:
        last = timeout.last_observed
        return last if isinstance(last, ReplicationLag) else catch_up.observe(ctx, pair)


def lag_is_zero(lag: ReplicationLag) -> bool:
    """Caught up as decided by ``drill.catch_up`` (WAL, heartbeat or replayed commit); a bare
    ``ReplicaLag`` figure never reads as zero (it cannot tell an idle writer from lag)."""
    from maip_drlib.drill.catch_up import ReplicaCatchUp

    return isinstance(lag, ReplicaCatchUp) and lag.caught_up


def running_deployments(handle: RegionHandle, namespace: str) -> tuple[str, ...]:
    """Deployments of ``namespace`` that still want replicas (empty: fenced)."""
    return tuple(f"{item.name}={item.desired}" for item in
                 kube_probes.deployments(handle, namespace) if item.desired > 0)


def service_pods(handle: RegionHandle, namespace: str) -> tuple[str, ...]:
    """Pods of the namespace's deployments still present (any pod when none has a selector);
    a Terminating pod is still there (it runs, and holds its database connections, until its
    grace period ends) and is shown so."""
    selectors = [item.selector for item in kube_probes.deployments(handle, namespace)
                 if item.selector]
    return tuple(f"{pod.name} ({pod.status})" for pod in kube_probes.pods(handle, namespace)
                 if not selectors or any(pod.matches(selector) for selector in selectors))


def observe_fencing(ctx: DrillContext, writer: str | None = None, *,
                    handle: RegionHandle | None = None,
                    writer_handle: RegionHandle | None = None) -> FencingEvidence:
    """Whether writes stopped at the application, as it is now: deployments and pods of the
    namespace in ``handle``'s region (default: the primary) and, with database access, the
    services' sessions (``probes.db_sessions``: of ``services_user`` when configured, else of
    every non-suite user, and the evidence says which) on ``writer`` (default: the topology's
    primary instance) in ``writer_handle``'s region (default: ``handle``'s)."""
    handle = handle or ctx.handles.primary
    writer_handle = writer_handle or handle
    namespace = ctx.topology.namespace
    unknown: list[str] = []
    running: tuple[str, ...] = ()
    pods: tuple[str, ...] = ()
    try:
        running = running_deployments(handle, namespace)
        pods = service_pods(handle, namespace)
    except (Unreachable, NotFound) as error:
        unknown.append(f"Kubernetes in {handle.region}: {error}")
    sessions: tuple[str, ...] | None = None
    scope: str | None = None
    access = ctx.target.database
    if access is not None:
        from maip_drlib.probes import db_sessions
        from maip_drlib.probes import postgres as pg_probes

        instance = writer or ctx.topology.primary.rds_instance
        try:
            spec = pg_probes.connection_spec(writer_handle, access, instance)
            found = db_sessions.services_sessions(spec, access.services_user)
            sessions, scope = tuple(map(str, found.sessions)), f"{found.scope} on {instance}"
        except (DRError, ValueError) as error:  # not seen is not proof of none
            unknown.append(f"sessions on {instance}: {error}")
    application = ("primary application" if handle.region == ctx.handles.primary.region
                   else "application")
    return FencingEvidence(region=handle.region, running=running, pods=pods,
                           sessions=sessions, unknown=tuple(unknown), session_scope=scope,
                           application=application)


def judge_promotion(state: PrimaryWriterState, options: DrillOptions,
                    fencing: FencingEvidence | None, lag: ReplicationLag | None,
                    stage: str = "failover 2") -> PromotionJudgement:
    """The promotion guard over facts (module docstring); ``fencing``/``lag`` matter only in a
    planned failover with a serving primary."""
    declaration = options.declared_outage
    if state.serving:
        if not options.planned:
            if declaration is not None:
                return PromotionJudgement(False, "refused: outage declared but the primary "
                                          "writer serves", (
                    f"{stage}: refusing to promote: an outage is declared but the primary "
                    f"writer still serves ({state}); promoting now would make two writers "
                    "(split brain). Fence it first: a planned failover (--dr-planned) runs "
                    "failover 1 to fence the application"))
            return PromotionJudgement(False, "refused: primary writer serving", (
                f"{stage}: refusing to promote: the primary writer is reachable and serving "
                f"({state}); promoting now would make two writers (split brain). For a planned "
                "failover run with --dr-planned (stage 1 fences the application first)"))
        if fencing is None or not fencing.fenced or lag is None or not lag_is_zero(lag):
            return PromotionJudgement(False, "refused: planned failover not fenced", (
                f"{stage}: refusing to promote in a planned failover before the fencing is "
                f"done: {fencing or 'fencing not observed'}; replica lag: "
                f"{lag or 'no DR replica found'} (expected: caught up by WAL position, "
                "heartbeat or a commit replayed after writes stopped); run failover 1 first"))
        return PromotionJudgement(True, "allowed: planned failover, primary fenced")
    if declaration is None and not (options.planned and state.reachable):
        return PromotionJudgement(False, "refused: no outage declaration", (
            f"{stage}: refusing to promote: the primary writer is not seen serving ({state}), "
            "but unreachable from this runner is not proof that it is down; declare the "
            "outage with --dr-declare-outage (recorded with who and when)"))
    if declaration is None:
        return PromotionJudgement(True, "allowed: planned failover, primary writer not serving")
    return PromotionJudgement(True, "allowed: declared outage")


def guard_promotion(ctx: DrillContext, stage: str = "failover 2") -> PrimaryWriterState:
    """Refuse (GuardRefused) a promotion that could make split brain; see the module docstring."""
    state = primary_writer_state(ctx)
    declaration = ctx.options.declared_outage
    evidence: dict[str, object] = {"primary_writer": str(state), "serving": state.serving,
                                   "planned": ctx.options.planned}
    if declaration is not None:
        evidence.update(declared_by=declaration.declared_by, declared_at=declaration.declared_at,
                        declared_reason=declaration.reason)
    fencing, lag = None, None
    if state.serving and ctx.options.planned:
        fencing = observe_fencing(ctx, state.writer.identifier if state.writer else None)
        roles = rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology)
        replica = dr_replica(roles, ctx.topology)
        lag = read_replica_lag(ctx, replica.identifier) if replica is not None else None
        evidence.update(fencing=str(fencing), replica=replica.identifier if replica else None,
                        replica_lag=str(lag) if lag else None)
    verdict = judge_promotion(state, ctx.options, fencing, lag, stage)
    ctx.decisions.record(stage, verdict.decision, **evidence)
    if not verdict.allowed:
        raise GuardRefused(verdict.message)
    return state


__all__ = [
    "LAG_ZERO_TOLERANCE_S", "NOT_SERVING_STATUSES", "DatabaseWrites",
    "FencingEvidence", "PrimaryWriterState", "PromotionJudgement", "choose_primary_writer",
    "dr_replica", "guard_promotion", "judge_promotion", "lag_is_zero", "lag_window_s",
    "observe_fencing", "primary_writer_state", "read_replica_lag", "require_execute",
    "running_deployments", "service_pods",
]
