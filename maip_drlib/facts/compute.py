"""Facts of the compute side: EKS clusters and node groups, Kubernetes nodes, deployments,
pods, services and autoscalers.

Not supported: workloads other than deployments (statefulsets, daemonsets, jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.config import ScalingConfig


def _scaling_text(scaling: ScalingConfig | None) -> str:
    if scaling is None:
        return "scaling=unknown"
    return f"min={scaling.min_size} desired={scaling.desired_size} max={scaling.max_size}"



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
