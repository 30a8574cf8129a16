"""Small typed facts that probes return (DESIGN.md section 10, rule 6).

Each fact is a frozen dataclass with a readable one-line ``str()``; steps assert on fields,
evidence records ``str()`` and ``dataclasses.asdict()``. Facts never hold credentials, tokens or
presigned URLs.

Not supported: facts are snapshots; nothing here refreshes itself or talks to an API.

The facts are grouped by what they describe: ``common`` (an API that did not answer),
``compute`` (EKS, Kubernetes), ``rds``, ``routing`` (Route 53, ALBs, the public endpoint) and
``stores`` (DynamoDB, MSK); the platform checks' facts are in ``maip_drlib.facts_platform``.
Import them from here.
"""

from __future__ import annotations

from maip_drlib.facts.common import (
    ApiUnreachable,
)
from maip_drlib.facts.compute import (
    ClusterStatus,
    DeploymentFact,
    HpaFact,
    NodeFact,
    NodegroupState,
    NodegroupUpdate,
    NodesFact,
    PodFact,
    ServiceFact,
    ServicePort,
)
from maip_drlib.facts.rds import (
    DbInstanceFact,
    DbRole,
    MetricDatapoint,
    RdsRoles,
    ReplicationLag,
)
from maip_drlib.facts.routing import (
    AlbFact,
    AliasTarget,
    ChangeStatus,
    EndpointHealth,
    HealthCheckStatus,
    HostedZoneFact,
    RecordKind,
    RecordSetFact,
)
from maip_drlib.facts.stores import (
    GlobalTableFact,
    MskClusterFact,
    ReplicatorFact,
)

__all__ = [
    "AlbFact",
    "AliasTarget",
    "ApiUnreachable",
    "ChangeStatus",
    "ClusterStatus",
    "DbInstanceFact",
    "DbRole",
    "DeploymentFact",
    "EndpointHealth",
    "GlobalTableFact",
    "HealthCheckStatus",
    "HostedZoneFact",
    "HpaFact",
    "MetricDatapoint",
    "MskClusterFact",
    "NodeFact",
    "NodegroupState",
    "NodegroupUpdate",
    "NodesFact",
    "PodFact",
    "RdsRoles",
    "RecordKind",
    "RecordSetFact",
    "ReplicationLag",
    "ReplicatorFact",
    "ServiceFact",
    "ServicePort",
]
