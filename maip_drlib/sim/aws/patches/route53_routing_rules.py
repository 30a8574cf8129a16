"""Patch: Route 53 refuses a simple record beside a failover or weighted set (and vice versa).

moto 5.2.5: ``change_resource_record_sets`` accepts any mix: a simple alias record (no
SetIdentifier) can be UPSERTed beside a failover pair of the same name and type, and a weighted
record beside failover ones. Changes are applied one by one, so a batch that fails halfway is
half applied.

Production: all records of one name and type share one routing policy; a simple record cannot
coexist with records that have a SetIdentifier. The batch is refused as a whole with
``InvalidChangeBatch`` (HTTP 400), e.g. "RRSet of type A with DNS name api.maip.example.com. is
not permitted because a conflicting RRSet of type A with the same DNS name already exists in
zone maip.example.com." This is runbook erratum 3 (DESIGN.md 7).

``conflict_in`` computes the zone's records after the whole batch and names the first name and
type that mixes routing policies; ``route53_change_batches`` (which replaces moto's
``change_resource_record_sets``) refuses such a batch, before anything is applied, with its
other whole-batch rules. ``apply`` only checks the moto version. Not supported:
CNAME-beside-anything rules, alias-to-self loops.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version

PATCH_NAME = "route53_routing_rules"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "routing_policy"]

RecordKey = tuple[str, str, str | None]


def _normal_name(name: str) -> str:
    return name.strip().rstrip(".").lower() + "."


def routing_policy(record: dict[str, Any]) -> str:
    """The routing policy a ResourceRecordSet (API shape) uses."""
    if not record.get("SetIdentifier"):
        return "simple"
    if record.get("Failover"):
        return "failover"
    if record.get("Weight") is not None:
        return "weighted"
    if record.get("Region"):
        return "latency"
    if record.get("GeoLocation"):
        return "geolocation"
    if record.get("MultiValueAnswer") is not None:
        return "multivalue"
    return "unknown"


def _existing(zone: Any) -> dict[RecordKey, str]:
    found: dict[RecordKey, str] = {}
    for rrset in zone.rrsets:
        as_api = {
            "SetIdentifier": rrset.set_identifier,
            "Failover": rrset.failover,
            "Weight": rrset.weight,
            "Region": rrset.region,
            "GeoLocation": rrset.geo_location,
            "MultiValueAnswer": rrset.multi_value_answer,
        }
        found[(_normal_name(rrset.name), str(rrset.type), rrset.set_identifier)] = (
            routing_policy(as_api)
        )
    return found


def _after(zone: Any, change_list: list[dict[str, Any]]) -> dict[RecordKey, str]:
    records = _existing(zone)
    for change in change_list:
        record = change["ResourceRecordSet"]
        key = (_normal_name(record["Name"]), str(record["Type"]), record.get("SetIdentifier"))
        if change["Action"] == "DELETE":
            records.pop(key, None)
        else:
            records[key] = routing_policy(record)
    return records


def conflict_in(zone: Any, change_list: list[dict[str, Any]]) -> str | None:
    """A production-like InvalidChangeBatch message, or None when the batch is consistent."""
    by_name_type: dict[tuple[str, str], set[str]] = {}
    for (name, record_type, _), policy in _after(zone, change_list).items():
        by_name_type.setdefault((name, record_type), set()).add(policy)
    for (name, record_type), policies in sorted(by_name_type.items()):
        if len(policies) > 1:
            return (
                f"RRSet of type {record_type} with DNS name {name} is not permitted because a "
                f"conflicting RRSet of type {record_type} with the same DNS name already exists "
                f"in zone {zone.name} (routing policies {', '.join(sorted(policies))} cannot "
                "be mixed)"
            )
    return None


def apply() -> None:
    """The rule is enforced by ``route53_change_batches``; this checks the moto pin only."""
    check_moto_version(PATCH_NAME, MOTO_VERSION)
