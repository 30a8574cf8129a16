"""Patch: Route 53 change batches are validated as a whole and applied all or nothing.

moto 5.2.5 (``Route53Backend.change_resource_record_sets``): a DELETE of an alias record is
accepted whatever its values; a DELETE with a SetIdentifier deletes every record set of the
zone with that identifier, whatever its name and type; a DELETE of a record that does not
exist succeeds; changes are applied one by one, so a batch refused halfway stays half applied;
Weight or Failover without SetIdentifier is accepted; two PRIMARY failover records of one name
and type are accepted.

Production (Route 53 API reference, ChangeResourceRecordSets: "To delete a resource record
set, you must specify all the same values that you specified when you created it"; "Route 53
validates the changes in the request and then either makes all or none of the changes"):

- a DELETE must match an existing record set exactly (name, type, SetIdentifier, TTL, values,
  alias target, Weight, Failover, Region, GeoLocation, MultiValueAnswer, HealthCheckId), else
  ``InvalidChangeBatch`` "Tried to delete resource record set [name='x.', type='A'] but it was
  not found" or "... but the values provided do not match the current values";
- a CREATE of an existing record set (same name, type and SetIdentifier) fails: "Tried to
  create resource record set [...] but it already exists";
- Weight, Failover, Region, GeoLocation or MultiValueAnswer without SetIdentifier is refused
  with ``InvalidInput`` "Invalid request: Missing field 'SetIdentifier' in Change with
  [Action=..., Name=..., Type=..., SetIdentifier=null]";
- one name and type has at most one PRIMARY and one SECONDARY failover record (the wording of
  this refusal is the simulation's: AWS does not document it);
- routing policies of one name and type cannot be mixed (``route53_routing_rules.conflict_in``).

This patch replays the batch on a copy of the zone's record sets, collects every refusal
(AWS lists them all in one ``InvalidChangeBatch`` message, in brackets), and replaces the
zone's record sets only when none was found. Names and alias DNS names compare without case
and final dot, values in any order. Not supported: CNAME-beside-anything rules, alias loops,
the 100-changes and 32,000-characters limits, traffic policy instances, CIDR routing.
"""

from __future__ import annotations

import copy
from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method
from maip_drlib.sim.aws.patches.route53_routing_rules import conflict_in

PATCH_NAME = "route53_change_batches"
ACTIONS = ("CREATE", "UPSERT", "DELETE")
# Fields that make a record set use a routing policy: each needs a SetIdentifier.
ROUTING_FIELDS = ("Weight", "Failover", "Region", "GeoLocation", "MultiValueAnswer")

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "batch_refusals", "record_as_api"]

RecordKey = tuple[str, str, str | None]


def _name(name: str) -> str:
    return str(name).strip().rstrip(".").lower() + "."


def _label(record: dict[str, Any]) -> str:
    label = f"[name='{_name(record['Name'])}', type='{record['Type']}'"
    if record.get("SetIdentifier"):
        label += f", set-identifier='{record['SetIdentifier']}'"
    return label + "]"


def _key(record: dict[str, Any]) -> RecordKey:
    return (_name(record["Name"]), str(record["Type"]), record.get("SetIdentifier") or None)


def record_as_api(rrset: Any) -> dict[str, Any]:
    """A moto ``RecordSet`` in the API shape of a ChangeResourceRecordSets record."""
    record: dict[str, Any] = {"Name": rrset.name, "Type": rrset.type}
    optional = {"TTL": rrset.ttl, "SetIdentifier": rrset.set_identifier,
                "Weight": rrset.weight, "Region": rrset.region,
                "HealthCheckId": rrset.health_check_id, "AliasTarget": rrset.alias_target,
                "Failover": rrset.failover, "GeoLocation": rrset.geo_location,
                "MultiValueAnswer": rrset.multi_value_answer}
    record.update({key: value for key, value in optional.items() if value is not None})
    if rrset.records:
        record["ResourceRecords"] = [{"Value": value} for value in rrset.records]
    return record


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """What a DELETE must match: every field, normalised as Route 53 compares them."""
    alias = record.get("AliasTarget")
    values = record.get("ResourceRecords") or []
    return {
        "TTL": None if record.get("TTL") is None else int(record["TTL"]),
        "Values": sorted(str(v["Value"] if isinstance(v, dict) else v) for v in values),
        "Alias": None if not alias else (
            str(alias.get("HostedZoneId")), _name(alias.get("DNSName", "")),
            str(alias.get("EvaluateTargetHealth", False)).lower() == "true"),
        "Weight": None if record.get("Weight") is None else int(record["Weight"]),
        "Failover": record.get("Failover"),
        "Region": record.get("Region"),
        "GeoLocation": record.get("GeoLocation") or None,
        "MultiValueAnswer": record.get("MultiValueAnswer"),
        "HealthCheckId": record.get("HealthCheckId") or None,
    }


def _missing_set_identifier(action: str, record: dict[str, Any]) -> str | None:
    if record.get("SetIdentifier") or not any(
            record.get(field) is not None for field in ROUTING_FIELDS):
        return None
    return (f"Invalid request: Missing field 'SetIdentifier' in Change with [Action={action}, "
            f"Name={record['Name']}, Type={record['Type']}, SetIdentifier=null]")


def _failover_refusals(records: dict[RecordKey, dict[str, Any]],
                       touched: set[tuple[str, str]]) -> list[str]:
    refusals = []
    for name, record_type in sorted(touched):
        for role in ("PRIMARY", "SECONDARY"):
            same = sorted(key[2] or "" for key, record in records.items()
                          if key[:2] == (name, record_type) and record.get("Failover") == role)
            if len(same) > 1:
                refusals.append(
                    f"Tried to create resource record set [name='{name}', type='{record_type}', "
                    f"set-identifier='{same[-1]}'] but a {role} failover record set "
                    f"(set-identifier='{same[0]}') already exists for that name and type")
    return refusals


def batch_refusals(zone: Any, change_list: list[dict[str, Any]]
                   ) -> tuple[list[str], dict[RecordKey, dict[str, Any]], dict[RecordKey, Any]]:
    """Every reason Route 53 would refuse the batch, the zone's records after it (API shape),
    and the moto record sets the batch leaves untouched (by key)."""
    untouched = {_key(record_as_api(rrset)): rrset for rrset in zone.rrsets}
    records = {key: record_as_api(rrset) for key, rrset in untouched.items()}
    refusals: list[str] = []
    touched: set[tuple[str, str]] = set()
    for change in change_list:
        action, record = change["Action"], change["ResourceRecordSet"]
        key = _key(record)
        touched.add(key[:2])
        if action == "CREATE":
            if key in records:
                refusals.append(f"Tried to create resource record set {_label(record)} but it "
                                "already exists")
            records[key] = record
        elif action == "UPSERT":
            records[key] = record
        elif key not in records:
            refusals.append(f"Tried to delete resource record set {_label(record)} but it was "
                            "not found")
            continue
        elif _comparable(records[key]) != _comparable(record):
            refusals.append(f"Tried to delete resource record set {_label(record)} but the "
                            "values provided do not match the current values")
            continue
        else:
            del records[key]
        untouched.pop(key, None)
    refusals += _failover_refusals(records, touched)
    return refusals, records, untouched


def _stored(record: dict[str, Any]) -> dict[str, Any]:
    """The dict moto's ``RecordSet`` is built from (values as strings, name with final dot)."""
    stored = copy.deepcopy(record)
    if not str(stored["Name"]).endswith("."):
        stored["Name"] = f"{stored['Name']}."
    if "ResourceRecords" in stored:
        stored["ResourceRecords"] = [v["Value"] if isinstance(v, dict) else v
                                     for v in stored["ResourceRecords"]]
    return stored


def _change(original: Any) -> Any:
    def change_resource_record_sets(self: Any, zoneid: str,
                                    change_list: list[dict[str, Any]]) -> None:
        from moto.route53.exceptions import (
            DnsNameInvalidForZone,
            InvalidActionValue,
            InvalidInput,
            Route53ClientError,
        )
        from moto.route53.models import RecordSet
        from moto.route53.utils import validate_domain_name

        zone = self.get_hosted_zone(zoneid)
        for change in change_list:
            record = change["ResourceRecordSet"]
            validate_domain_name(record["Name"], code="InvalidChangeBatch")
            if change["Action"] not in ACTIONS:
                raise InvalidActionValue(change["Action"])
            if not _name(record["Name"]).endswith(_name(zone.name)):
                raise DnsNameInvalidForZone(name=record["Name"], zone_name=zone.name)
            missing = _missing_set_identifier(change["Action"], record)
            if missing is not None:
                raise InvalidInput(missing)
        refusals, after, untouched = batch_refusals(zone, change_list)
        conflict = conflict_in(zone, change_list)
        if conflict is not None:
            refusals.append(conflict)
        if refusals:
            raise Route53ClientError("InvalidChangeBatch", "[" + ", ".join(refusals) + "]")
        zone.rrsets = [untouched[key] if key in untouched else RecordSet(_stored(record))
                       for key, record in after.items()]
        for change in change_list:
            zone.rr_changes.append(copy.deepcopy(change))

    return change_resource_record_sets


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.route53.models import Route53Backend

    replace_method(Route53Backend, "change_resource_record_sets", _change)
