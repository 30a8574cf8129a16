"""What a stage's precondition reads: the facts of the platform and the verdict it gives.

``PreconditionVerdict`` (what was found, what is needed, which stage to run first, whether the
work is already done), ``StageState`` (the facts a check may read: RDS roles, where clients
land, the API record's sets, the primary writer, fencing, replica lag), ``RouteFacts`` and
``PlatformView``, which reads each fact from the platform once, when first asked. The checks
are in ``drill.stage_checks``; ``drill.preconditions`` judges and records. Not supported:
facts of readiness and RPO scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from maip_drlib.config import Topology
from maip_drlib.drill import region_facts, traffic
from maip_drlib.drill.context import DrillContext, DrillOptions
from maip_drlib.drill.guards import (
    FencingEvidence,
    PrimaryWriterState,
    dr_replica,
    observe_fencing,
    primary_writer_state,
    read_replica_lag,
)
from maip_drlib.facts import RdsRoles, RecordSetFact, ReplicationLag
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

