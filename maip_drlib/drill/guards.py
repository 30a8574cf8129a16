"""Safety guards of the drill (DESIGN.md section 4, "Split brain"); each refusal is exit 3.

- ``require_execute``: no mutating call without ``--dr-execute``.
- ``guard_promotion``: no promotion of the DR replica while the primary writer is reachable and
  available, unless the run is a declared planned failover whose fencing has happened (primary
  deployments at 0, DR replica lag zero). An unplanned promotion always needs the operator's
  outage declaration (``--dr-declare-outage``): a primary that does not answer the runner is
  not proof that it is down.

Every decision (allowed or refused) is recorded in ``ctx.decisions`` with its evidence; who
declared the outage, and when, comes from the ``OutageDeclaration``.

Not supported: independent outage signals (AWS Health events, a second vantage point) in place
of the declaration; fencing at the database (RDS will not stop an instance that has replicas).
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.config import Topology
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import GuardRefused, NotFound, Unreachable
from maip_drlib.facts import DbInstanceFact, RdsRoles, ReplicationLag
from maip_drlib.probes import kube as kube_probes
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle

# ReplicaLag at or below this many seconds reads as "zero" (CloudWatch reports fractions).
LAG_ZERO_TOLERANCE_S = 0.1
# How far back the lag probe looks: the simulation publishes every 2 s; CloudWatch every 60 s.
SIMULATED_LAG_WINDOW_S = 3
LIVE_LAG_WINDOW_S = 180


@dataclass(frozen=True)
class PrimaryWriterState:
    """What the runner sees of the writer in the primary region."""

    region: str
    reachable: bool
    writer: DbInstanceFact | None = None
    error: str | None = None

    @property
    def available_writer(self) -> bool:
        return self.writer is not None and self.writer.status == "available"

    def __str__(self) -> str:
        if not self.reachable:
            return f"RDS API in {self.region} unreachable: {self.error}"
        if self.writer is None:
            return f"no writer among the candidates in {self.region}"
        return str(self.writer)


def require_execute(ctx: DrillContext, stage: str, what: str = "a mutating call") -> None:
    """Refuse ``what`` unless the run was started with ``--dr-execute``."""
    if ctx.options.execute:
        return
    ctx.decisions.record(stage, "refused: not executing", needed="--dr-execute", would=what)
    raise GuardRefused(
        f"{stage}: refusing {what}: mutating stages need --dr-execute "
        f"(target {ctx.target.name}); nothing was changed"
    )


def primary_writer_state(ctx: DrillContext) -> PrimaryWriterState:
    """The writer among the topology's candidates in the primary region, if its API answers."""
    handle = ctx.handles.primary
    try:
        found = rds_probes.instances_named(handle, ctx.topology.rds_candidates)
    except Unreachable as error:
        return PrimaryWriterState(region=handle.region, reachable=False, error=str(error))
    writers = [fact for fact in found if fact.is_writer]
    available = [fact for fact in writers if fact.status == "available"]
    chosen = (available or writers or [None])[0]
    return PrimaryWriterState(region=handle.region, reachable=True, writer=chosen)


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
    """The DR replica's latest ReplicaLag (its own region's CloudWatch)."""
    return rds_probes.replica_lag(ctx.handles.secondary, replica, window_s=lag_window_s(ctx))


def lag_is_zero(lag: ReplicationLag) -> bool:
    return lag.seconds is not None and lag.seconds <= LAG_ZERO_TOLERANCE_S


def running_deployments(handle: RegionHandle, namespace: str) -> tuple[str, ...]:
    """Deployments of ``namespace`` that still want replicas (empty: fenced)."""
    return tuple(f"{item.name}={item.desired}" for item in
                 kube_probes.deployments(handle, namespace) if item.desired > 0)


def guard_promotion(ctx: DrillContext, stage: str = "failover 2") -> PrimaryWriterState:
    """Refuse (GuardRefused) a promotion that could make split brain; see the module docstring."""
    state = primary_writer_state(ctx)
    declaration = ctx.options.declared_outage
    evidence: dict[str, object] = {"primary_writer": str(state), "planned": ctx.options.planned}
    if declaration is not None:
        evidence.update(declared_by=declaration.declared_by, declared_at=declaration.declared_at,
                        declared_reason=declaration.reason)
    if state.reachable and state.available_writer:
        if not ctx.options.planned:
            ctx.decisions.record(stage, "refused: primary writer reachable and available",
                                 **evidence)
            raise GuardRefused(
                f"{stage}: refusing to promote: the primary writer is reachable and available "
                f"({state}); promoting now would make two writers (split brain). For a planned "
                "failover run with --dr-planned (stage 1 fences the application first)"
            )
        _require_planned_fencing(ctx, stage, evidence)
        ctx.decisions.record(stage, "allowed: planned failover, primary fenced", **evidence)
        return state
    if declaration is None:
        ctx.decisions.record(stage, "refused: no outage declaration", **evidence)
        raise GuardRefused(
            f"{stage}: refusing to promote: the primary writer is not seen available ({state}), "
            "but unreachable from this runner is not proof that it is down; declare the outage "
            "with --dr-declare-outage (recorded with who and when)"
        )
    ctx.decisions.record(stage, "allowed: declared outage", **evidence)
    return state


def _require_planned_fencing(ctx: DrillContext, stage: str,
                             evidence: dict[str, object]) -> None:
    namespace = ctx.topology.namespace
    try:
        running = running_deployments(ctx.handles.primary, namespace)
    except (Unreachable, NotFound) as error:
        running = (f"unknown: {error}",)
    roles = rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology)
    replica = dr_replica(roles, ctx.topology)
    lag = read_replica_lag(ctx, replica.identifier) if replica is not None else None
    evidence.update(primary_deployments_running=list(running),
                    replica=replica.identifier if replica else None,
                    replica_lag=str(lag) if lag else None)
    if running or lag is None or not lag_is_zero(lag):
        ctx.decisions.record(stage, "refused: planned failover not fenced", **evidence)
        raise GuardRefused(
            f"{stage}: refusing to promote in a planned failover before the fencing is done: "
            f"primary deployments still running: {', '.join(running) or 'none'}; "
            f"replica lag: {lag or 'no DR replica found'} (expected <= {LAG_ZERO_TOLERANCE_S}s); "
            "run failover stage 1 first"
        )
