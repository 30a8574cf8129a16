"""The simulated DNS server's own reading of Route 53 record sets and health-check status.

The simulation interprets what its Route 53 (moto) stores by itself, the way Route 53's data
plane would, and does not borrow the suite's Route 53 probe: a probe that misread a record set
would otherwise be confirmed by a fake that misreads it the same way.

``RecordSet`` is one ``ListResourceRecordSets`` entry: name (lower case, trailing dot), type,
routing kind (simple, failover, weighted, other: any other policy with a set identifier),
alias target, values, TTL and health check. ``checkers_say_healthy`` applies Route 53's rule to
``GetHealthCheckStatus`` observations: healthy when more than 18 % of the checkers report
``Success`` (3 of 16 is healthy, 2 of 16 is not, no checker is not).

Not supported: reading routing policies other than simple, failover and weighted beyond
marking them "other" (``routing.py`` refuses them), CIDR and geolocation fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

RoutingKind = Literal["simple", "failover", "weighted", "other"]
HEALTHY_SHARE_PERCENT = 18


def fqdn(name: str) -> str:
    """Lower-case, with the trailing dot Route 53 answers with."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


@dataclass(frozen=True)
class Alias:
    """An alias record's target."""

    dns_name: str
    hosted_zone_id: str
    evaluate_target_health: bool = False


@dataclass(frozen=True)
class RecordSet:
    """One Route 53 record set as the simulated DNS answers from it."""

    name: str
    type: str
    kind: RoutingKind
    set_identifier: str | None = None
    failover: str | None = None
    weight: int | None = None
    alias: Alias | None = None
    values: tuple[str, ...] = ()
    ttl: int | None = None
    health_check_id: str | None = None


def _routing_kind(raw: dict[str, Any]) -> RoutingKind:
    if "Failover" in raw:
        return "failover"
    if "Weight" in raw:
        return "weighted"
    return "other" if "SetIdentifier" in raw else "simple"


def record_set(raw: dict[str, Any]) -> RecordSet:
    """One ``ResourceRecordSets`` entry of ``ListResourceRecordSets``."""
    target = raw.get("AliasTarget")
    alias = None if target is None else Alias(
        dns_name=str(target["DNSName"]).lower().rstrip("."),
        hosted_zone_id=str(target["HostedZoneId"]),
        evaluate_target_health=bool(target.get("EvaluateTargetHealth", False)))
    return RecordSet(
        name=fqdn(str(raw["Name"])), type=str(raw["Type"]), kind=_routing_kind(raw),
        set_identifier=raw.get("SetIdentifier"), failover=raw.get("Failover"),
        weight=int(raw["Weight"]) if "Weight" in raw else None, alias=alias,
        values=tuple(str(record["Value"]) for record in raw.get("ResourceRecords", [])),
        ttl=int(raw["TTL"]) if "TTL" in raw else None,
        health_check_id=raw.get("HealthCheckId"))


def checkers_say_healthy(observations: list[dict[str, Any]]) -> bool:
    """``GetHealthCheckStatus`` observations: healthy when more than 18 % report Success."""
    statuses = [str(item.get("StatusReport", {}).get("Status", "")) for item in observations]
    successes = sum(1 for status in statuses if status.startswith("Success"))
    return bool(statuses) and successes * 100 > HEALTHY_SHARE_PERCENT * len(statuses)
