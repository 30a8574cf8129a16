"""Route 53: the zone by name, the API record sets in their simple/failover/weighted forms,
health-check status and change status. Route 53 is global: clients are signed for us-east-1.

A health check is healthy when MORE than 18 % of its checkers report ``Success``, as Route 53
itself decides (Developer Guide, "How Amazon Route 53 determines whether a health check is
healthy"): ``checkers_healthy``. Each observation is one checker's status; Route 53 changes it
after FailureThreshold consecutive checks, so a probe sees a change up to RequestInterval x
FailureThreshold after it happened.

Not supported: private zones (a public zone is preferred when names collide), geolocation,
latency and multivalue routing (parsed as kind ``other``), traffic policies.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from maip_drlib.errors import NotFound
from maip_drlib.facts import (
    AliasTarget,
    ChangeStatus,
    HealthCheckStatus,
    HostedZoneFact,
    RecordSetFact,
)
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle

HEALTHY_SHARE_PERCENT = 18


def checkers_healthy(successes: int, total: int) -> bool:
    """Route 53's rule: healthy when more than 18 % of the checkers report healthy
    (3 of 16 is 18.75 %: healthy; 2 of 16 is 12.5 %: unhealthy; no checker: unhealthy)."""
    return total > 0 and successes * 100 > HEALTHY_SHARE_PERCENT * total


def observations_healthy(observations: list[dict[str, Any]]) -> tuple[bool, int, int]:
    """GetHealthCheckStatus observations -> (healthy, checkers reporting Success, checkers)."""
    statuses = [str(item.get("StatusReport", {}).get("Status", "")) for item in observations]
    successes = sum(1 for status in statuses if status.startswith("Success"))
    return checkers_healthy(successes, len(statuses)), successes, len(statuses)


def fqdn(name: str) -> str:
    """Lower-case, with the trailing dot Route 53 answers with."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


def _zone_id(raw: str) -> str:
    return raw.rsplit("/", 1)[-1]


def hosted_zone(handle: RegionHandle, name: str) -> HostedZoneFact:
    """The zone named ``name`` (public preferred); NotFound when there is none."""
    wanted = fqdn(name)
    matches: list[HostedZoneFact] = []
    kwargs: dict[str, Any] = {"DNSName": wanted}
    with aws_api(handle, "route53"):
        while True:
            page = handle.client("route53").list_hosted_zones_by_name(**kwargs)
            for zone in page.get("HostedZones", []):
                if fqdn(zone["Name"]) == wanted:
                    private = bool(zone.get("Config", {}).get("PrivateZone", False))
                    matches.append(HostedZoneFact(_zone_id(zone["Id"]), wanted, private))
            if not page.get("IsTruncated") or fqdn(page.get("NextDNSName", wanted)) != wanted:
                break
            kwargs = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"]}
    if not matches:
        raise NotFound(f"Route 53 hosted zone {wanted} not found")
    matches.sort(key=lambda zone: zone.private)
    return matches[0]


def parse_record_set(raw: dict[str, Any]) -> RecordSetFact:
    if "Failover" in raw:
        kind = "failover"
    elif "Weight" in raw:
        kind = "weighted"
    elif "SetIdentifier" in raw:
        kind = "other"
    else:
        kind = "simple"
    alias = None
    if "AliasTarget" in raw:
        target = raw["AliasTarget"]
        alias = AliasTarget(
            dns_name=str(target["DNSName"]).lower().rstrip("."),
            hosted_zone_id=str(target["HostedZoneId"]),
            evaluate_target_health=bool(target.get("EvaluateTargetHealth", False)),
        )
    return RecordSetFact(
        name=fqdn(raw["Name"]),
        type=str(raw["Type"]),
        kind=kind,  # type: ignore[arg-type]
        set_identifier=raw.get("SetIdentifier"),
        failover=raw.get("Failover"),
        weight=int(raw["Weight"]) if "Weight" in raw else None,
        alias=alias,
        values=tuple(str(record["Value"]) for record in raw.get("ResourceRecords", [])),
        ttl=int(raw["TTL"]) if "TTL" in raw else None,
        health_check_id=raw.get("HealthCheckId"),
    )


def record_sets(handle: RegionHandle, zone_id: str, name: str,
                record_type: str | None = None) -> tuple[RecordSetFact, ...]:
    """Every record set named ``name`` (optionally of one type), all routing forms."""
    wanted = fqdn(name)
    facts: list[RecordSetFact] = []
    kwargs: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": wanted}
    if record_type:
        kwargs["StartRecordType"] = record_type
    with aws_api(handle, "route53"):
        pages = handle.client("route53").get_paginator("list_resource_record_sets").paginate(
            **kwargs)
        for page in pages:
            for raw in page.get("ResourceRecordSets", []):
                if fqdn(raw["Name"]) != wanted:
                    return tuple(facts)
                if record_type is None or raw["Type"] == record_type:
                    facts.append(parse_record_set(raw))
    return tuple(facts)


def health_check_status(handle: RegionHandle, health_check_id: str) -> HealthCheckStatus:
    try:
        with aws_api(handle, "route53"):
            response = handle.client("route53").get_health_check_status(
                HealthCheckId=health_check_id
            )
    except ClientError as error:
        if error_code(error) == "NoSuchHealthCheck":
            raise NotFound(f"Route 53 health check {health_check_id} not found") from error
        raise
    raw = list(response.get("HealthCheckObservations", []))
    healthy, successes, total = observations_healthy(raw)
    return HealthCheckStatus(
        health_check_id=health_check_id,
        healthy=healthy,
        checkers_success=successes,
        checkers_total=total,
        observations=tuple(str(item.get("StatusReport", {}).get("Status", "")) for item in raw),
    )


def change_status(handle: RegionHandle, change_id: str) -> ChangeStatus:
    with aws_api(handle, "route53"):
        info = handle.client("route53").get_change(Id=change_id)["ChangeInfo"]
    return ChangeStatus(change_id=_zone_id(str(info["Id"])), status=str(info["Status"]))
