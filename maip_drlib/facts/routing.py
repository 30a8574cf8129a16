"""Facts of how clients reach the platform: Route 53 zones, record sets, health checks and
changes, the ALBs, and the public endpoint's health.

Not supported: record types other than A/AAAA aliases and simple values, routing policies
other than simple, failover and weighted (read as "other").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
