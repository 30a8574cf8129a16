"""Facts of RDS: instances and their roles (writer, replica, fenced), replication lag and
CloudWatch datapoints.

Not supported: Aurora clusters (instances only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from maip_drlib.facts.common import ApiUnreachable

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
