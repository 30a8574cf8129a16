"""Facts of the replicated stores other than RDS: DynamoDB global tables, MSK clusters and
the MSK replicator.

Not supported: DynamoDB tables that are not global tables (read as one replica).
"""

from __future__ import annotations

from dataclasses import dataclass

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
