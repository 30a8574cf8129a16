"""Small typed facts that probes return (DESIGN.md section 10, rule 6).

Each fact is a frozen dataclass with a readable one-line ``str()``; steps assert on fields,
evidence records ``str()`` and ``dataclasses.asdict()``. Facts never hold credentials, tokens or
presigned URLs.

Not supported: facts are snapshots; nothing here refreshes itself or talks to an API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from maip_drlib.config import ScalingConfig


def _scaling_text(scaling: ScalingConfig | None) -> str:
    if scaling is None:
        return "scaling=unknown"
    return f"min={scaling.min_size} desired={scaling.desired_size} max={scaling.max_size}"


@dataclass(frozen=True)
class ApiUnreachable:
    """An API that did not answer: a fact, not a crash (refused, reset, timed out)."""

    region: str
    target: str
    error: str
    elapsed_s: float

    def __str__(self) -> str:
        return (
            f"{self.target} in {self.region} unreachable after {self.elapsed_s:.1f}s: {self.error}"
        )


# --- EKS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    region: str
    status: str
    version: str | None = None
    endpoint: str | None = None

    def __str__(self) -> str:
        return f"EKS cluster {self.name} ({self.region}): {self.status}"


@dataclass(frozen=True)
class NodegroupUpdate:
    update_id: str
    update_type: str
    status: str
    errors: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.update_type} {self.update_id}: {self.status}"
        return f"{text} ({'; '.join(self.errors)})" if self.errors else text


@dataclass(frozen=True)
class NodegroupState:
    cluster: str
    name: str
    region: str
    status: str
    scaling: ScalingConfig | None
    updates_in_progress: tuple[NodegroupUpdate, ...] = ()

    def __str__(self) -> str:
        text = (
            f"node group {self.name} of {self.cluster} ({self.region}): {self.status}, "
            f"{_scaling_text(self.scaling)}"
        )
        if self.updates_in_progress:
            text += f", updates in progress: {', '.join(map(str, self.updates_in_progress))}"
        return text


# --- Kubernetes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeFact:
    name: str
    ready: bool
    reason: str | None = None

    def __str__(self) -> str:
        state = "Ready" if self.ready else f"NotReady({self.reason or 'unknown'})"
        return f"{self.name} {state}"


@dataclass(frozen=True)
class NodesFact:
    region: str
    context: str
    nodes: tuple[NodeFact, ...]

    @property
    def ready(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes if node.ready)

    @property
    def not_ready(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes if not node.ready)

    def __str__(self) -> str:
        text = f"nodes in {self.context} ({self.region}): {len(self.ready)}/{len(self.nodes)} Ready"
        if self.not_ready:
            text += f"; NotReady: {', '.join(self.not_ready)}"
        return text


@dataclass(frozen=True)
class DeploymentFact:
    namespace: str
    name: str
    desired: int
    ready: int
    available: int
    updated: int = 0
    selector: tuple[tuple[str, str], ...] = ()

    @property
    def is_ready(self) -> bool:
        return self.ready >= self.desired and self.available >= self.desired

    def __str__(self) -> str:
        return (
            f"deployment {self.namespace}/{self.name}: ready {self.ready}/{self.desired}, "
            f"available {self.available}"
        )


@dataclass(frozen=True)
class PodFact:
    namespace: str
    name: str
    phase: str
    ready: bool
    restarts: int
    waiting_reasons: tuple[str, ...] = ()
    node: str | None = None
    owner: str | None = None
    labels: tuple[tuple[str, str], ...] = ()

    def matches(self, selector: tuple[tuple[str, str], ...]) -> bool:
        """Whether this pod's labels include every pair of a matchLabels selector."""
        return bool(selector) and set(selector) <= set(self.labels)

    @property
    def waiting_reason(self) -> str | None:
        return self.waiting_reasons[0] if self.waiting_reasons else None

    def __str__(self) -> str:
        text = (
            f"pod {self.namespace}/{self.name} {self.phase} ready={self.ready} "
            f"restarts={self.restarts} node={self.node or '-'}"
        )
        if self.waiting_reasons:
            text += f" waiting={','.join(self.waiting_reasons)}"
        return text


@dataclass(frozen=True)
class ServicePort:
    port: int
    protocol: str
    target_port: str | None = None
    node_port: int | None = None


@dataclass(frozen=True)
class ServiceFact:
    namespace: str
    name: str
    type: str
    cluster_ip: str | None
    ports: tuple[ServicePort, ...] = ()
    external_addresses: tuple[str, ...] = ()

    def __str__(self) -> str:
        ports = ",".join(f"{port.port}/{port.protocol}" for port in self.ports) or "-"
        external = ",".join(self.external_addresses) or "-"
        return (
            f"service {self.namespace}/{self.name} {self.type} {self.cluster_ip or '-'} "
            f"ports={ports} external={external}"
        )


@dataclass(frozen=True)
class HpaFact:
    namespace: str
    name: str
    target_kind: str
    target_name: str
    min_replicas: int | None
    max_replicas: int
    current_replicas: int | None
    desired_replicas: int | None

    def __str__(self) -> str:
        return (
            f"hpa {self.namespace}/{self.name} -> {self.target_kind}/{self.target_name}: "
            f"min={self.min_replicas} max={self.max_replicas} current={self.current_replicas} "
            f"desired={self.desired_replicas}"
        )


# --- RDS -------------------------------------------------------------------------------------

# "fenced": not a replica and stopped, so it accepts no writes (a fenced old writer).
DbRole = Literal["writer", "replica", "fenced"]


@dataclass(frozen=True)
class DbInstanceFact:
    identifier: str
    region: str
    status: str
    role: DbRole
    source: str | None
    replicas: tuple[str, ...]
    backup_retention_days: int
    arn: str
    endpoint: str | None = None
    port: int | None = None

    @property
    def is_writer(self) -> bool:
        return self.role == "writer"

    @property
    def source_id(self) -> str | None:
        """The source instance's identifier, also when the source is given as an ARN."""
        if self.source is None:
            return None
        return self.source.rsplit(":db:", 1)[-1]

    def __str__(self) -> str:
        role = self.role if self.role != "replica" else f"replica of {self.source}"
        text = f"RDS {self.identifier} ({self.region}): {self.status}, {role}"
        if self.replicas:
            text += f", replicas: {', '.join(self.replicas)}"
        return text


@dataclass(frozen=True)
class RdsRoles:
    """Writers and replicas discovered among the topology's candidate names, both regions.

    More than one writer is split brain (an old writer restored beside the promoted one). A
    stopped non-replica is ``fenced``: listed apart, never counted as a writer.
    """

    writers: tuple[DbInstanceFact, ...]
    replicas: tuple[DbInstanceFact, ...]
    unreachable_regions: tuple[ApiUnreachable, ...] = ()
    fenced: tuple[DbInstanceFact, ...] = ()

    @property
    def writer(self) -> DbInstanceFact | None:
        """The single writer, or None when there is none or more than one."""
        return self.writers[0] if len(self.writers) == 1 else None

    @property
    def split_brain(self) -> bool:
        return len(self.writers) > 1

    def replicas_of(self, writer: DbInstanceFact) -> tuple[DbInstanceFact, ...]:
        return tuple(
            replica for replica in self.replicas
            if replica.source in (writer.identifier, writer.arn)
        )

    def __str__(self) -> str:
        if not self.writers:
            parts = ["writer: none found"]
        else:
            parts = [f"writer: {writer}" for writer in self.writers]
        parts += [f"replica: {replica}" for replica in self.replicas]
        parts += [f"fenced: {fenced}" for fenced in self.fenced]
        parts += [str(unreachable) for unreachable in self.unreachable_regions]
        return "; ".join(parts)


@dataclass(frozen=True)
class ReplicationLag:
    """Lag of one replication stream; ``seconds`` None when no datapoint in the window."""

    store: str
    region: str
    resource: str
    seconds: float | None
    measured_at: datetime | None = None

    def __str__(self) -> str:
        if self.seconds is None:
            return f"{self.store} lag of {self.resource} ({self.region}): no datapoint"
        return (
            f"{self.store} lag of {self.resource} ({self.region}): {self.seconds:.3f}s "
            f"at {self.measured_at.isoformat() if self.measured_at else '?'}"
        )


@dataclass(frozen=True)
class MetricDatapoint:
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    value: float | None
    unit: str | None = None
    timestamp: datetime | None = None

    def __str__(self) -> str:
        dims = ",".join(f"{name}={value}" for name, value in self.dimensions)
        if self.value is None:
            return f"{self.namespace}/{self.metric}[{dims}]: no datapoint"
        return f"{self.namespace}/{self.metric}[{dims}] {self.statistic}={self.value} {self.unit}"


# --- Route 53 / ELBv2 ------------------------------------------------------------------------

RecordKind = Literal["simple", "failover", "weighted", "other"]


@dataclass(frozen=True)
class AliasTarget:
    dns_name: str
    hosted_zone_id: str
    evaluate_target_health: bool

    def __str__(self) -> str:
        return f"alias {self.dns_name} (zone {self.hosted_zone_id})"


@dataclass(frozen=True)
class RecordSetFact:
    name: str
    type: str
    kind: RecordKind
    set_identifier: str | None = None
    failover: str | None = None
    weight: int | None = None
    alias: AliasTarget | None = None
    values: tuple[str, ...] = ()
    ttl: int | None = None
    health_check_id: str | None = None

    def __str__(self) -> str:
        target = str(self.alias) if self.alias else ",".join(self.values) or "-"
        text = f"{self.name} {self.type} {self.kind}"
        if self.set_identifier:
            text += f" [{self.set_identifier}]"
        if self.failover:
            text += f" {self.failover}"
        if self.weight is not None:
            text += f" weight={self.weight}"
        text += f" -> {target}"
        if self.health_check_id:
            text += f" health check {self.health_check_id}"
        return text


@dataclass(frozen=True)
class HostedZoneFact:
    zone_id: str
    name: str
    private: bool

    def __str__(self) -> str:
        return f"hosted zone {self.name} ({self.zone_id})"


@dataclass(frozen=True)
class HealthCheckStatus:
    health_check_id: str
    healthy: bool
    checkers_success: int
    checkers_total: int
    observations: tuple[str, ...] = ()

    def __str__(self) -> str:
        state = "healthy" if self.healthy else "unhealthy"
        return (
            f"health check {self.health_check_id}: {state} "
            f"({self.checkers_success}/{self.checkers_total} checkers report Success)"
        )


@dataclass(frozen=True)
class ChangeStatus:
    change_id: str
    status: str

    def __str__(self) -> str:
        return f"Route 53 change {self.change_id}: {self.status}"


@dataclass(frozen=True)
class AlbFact:
    name: str
    region: str
    dns_name: str
    canonical_zone_id: str
    state: str
    arn: str

    def __str__(self) -> str:
        return (
            f"ALB {self.name} ({self.region}): {self.state}, {self.dns_name} "
            f"zone {self.canonical_zone_id}"
        )


# --- DynamoDB / MSK --------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalTableFact:
    table: str
    region: str
    status: str
    replicas: tuple[tuple[str, str], ...]

    def replica_status(self, region: str) -> str | None:
        return dict(self.replicas).get(region)

    def __str__(self) -> str:
        replicas = ", ".join(f"{region}={status}" for region, status in self.replicas) or "none"
        return f"DynamoDB {self.table} ({self.region}): {self.status}, replicas: {replicas}"


@dataclass(frozen=True)
class MskClusterFact:
    name: str
    region: str
    state: str
    arn: str
    cluster_type: str | None = None

    def __str__(self) -> str:
        return f"MSK cluster {self.name} ({self.region}): {self.state}"


@dataclass(frozen=True)
class ReplicatorFact:
    name: str
    arn: str
    state: str
    region: str = ""

    def __str__(self) -> str:
        return f"MSK replicator {self.name} ({self.region}): {self.state}"


# --- Public endpoint -------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointHealth:
    url: str
    http_status: int | None
    status: str
    components: dict[str, str] = field(default_factory=dict)
    resolved_address: str | None = None
    elapsed_s: float = 0.0
    error: str | None = None

    @property
    def up(self) -> bool:
        return self.http_status == 200 and self.status == "UP"

    def __str__(self) -> str:
        via = f" via {self.resolved_address}" if self.resolved_address else ""
        if self.error:
            return f"{self.url}{via}: {self.status} after {self.elapsed_s:.2f}s ({self.error})"
        components = ", ".join(f"{name}={state}" for name, state in sorted(self.components.items()))
        text = f"{self.url}{via}: HTTP {self.http_status} {self.status} in {self.elapsed_s:.2f}s"
        return f"{text} [{components}]" if components else text
