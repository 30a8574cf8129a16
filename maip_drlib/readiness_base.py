"""The readiness preflight's types: thresholds, inputs, a check and its result, ``NotChecked``.

Shared by the registry and runner (``maip_drlib.readiness``) and the checks
(``readiness_data``, ``readiness_capacity``). Not supported: thresholds per region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maip_drlib.config import RegionTopology, Target, Topology
from maip_drlib.errors import CheckFailed, DRError
from maip_drlib.regions import RegionHandle, RegionHandles
from maip_drlib.resolvers import Resolver

# The secrets the services need in DR (features/readiness.feature names the same).
DEFAULT_REQUIRED_SECRETS = ("maip/prod/db-credentials", "maip/prod/kafka-credentials")
ECR_LOOKUP_CONCURRENCY = 8  # image lookups in flight at once (the DR registry's API)


@dataclass(frozen=True)
class Thresholds:
    """Limits and business figures the readiness checks hold the platform to.

    ``failover_nodes`` and ``failover_replicas`` None mean the topology's figures
    (``failover_scaling.max_size``, ``failover_replicas``). ``pods_per_node``: 30 is a
    documented figure for the AWS VPC CNI on m5/m6i.xlarge (ENI limit 58, of which the services'
    pods use about half); each pod and each node takes one VPC address.
    """

    rds_replica_lag_s: float = 60.0
    dynamodb_replication_latency_s: float = 5.0
    msk_replication_latency_s: float = 60.0
    failover_nodes: int | None = None
    pods_per_node: int = 30
    failover_replicas: int | None = None
    required_secrets: tuple[str, ...] = DEFAULT_REQUIRED_SECRETS
    min_healthy_targets: int = 1
    certificate_min_days: float = 14.0


class NotChecked(DRError):
    """A check could not be made: the API does not answer for it. Not a pass, not a failure."""


@dataclass(frozen=True)
class ReadinessInputs:
    handles: RegionHandles
    topology: Topology
    target: Target
    resolver: Resolver | None
    thresholds: Thresholds


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: passed, or why not, and how long it took."""

    name: str
    region: str
    passed: bool
    detail: str
    elapsed_s: float
    error_kind: str | None = None  # "check", "unreachable", "not-found", "error", "not-checked"
    checked: bool = True  # False: no verdict (NotChecked); ``detail`` says why


CheckFunction = Callable[[ReadinessInputs], str]


@dataclass(frozen=True)
class Check:
    name: str
    region: str  # a region name, or "global" / "both"
    run: CheckFunction


ROLES = ("primary", "secondary")


def _role(inputs: ReadinessInputs, role: str) -> tuple[RegionHandle, RegionTopology]:
    if role not in ROLES:
        raise CheckFailed(f"unknown region role {role!r}", expected=" or ".join(ROLES))
    handle = inputs.handles.primary if role == "primary" else inputs.handles.secondary
    return handle, getattr(inputs.topology, role)

