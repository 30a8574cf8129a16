"""Route 53: change record sets, set the weights of a weighted pair, wait for INSYNC.

Production Route 53 refuses a simple record beside a failover or weighted set of the same name
and type, a weighted or failover record without SetIdentifier, and a second PRIMARY (or
SECONDARY) record of one name and type; ``change_record_sets`` refuses such a batch locally
(``GuardRefused``, ``ConfigError``) before any call. Route 53 also applies a batch all or
nothing and deletes a record only when the DELETE carries it exactly as it is: build DELETEs
with ``record_set_dict`` from the record sets just read (the simulation enforces both).

Not supported: traffic policies, geolocation/latency routing, CREATE-vs-UPSERT conflict checks
(Route 53 answers them), batches larger than Route 53's limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from maip_drlib.errors import CheckFailed, ConfigError, GuardRefused, NotFound, WaitTimeout
from maip_drlib.facts import ChangeStatus, RecordSetFact
from maip_drlib.probes import aws_api
from maip_drlib.probes.route53 import change_status, fqdn, parse_record_set, record_sets
from maip_drlib.regions import RegionHandle
from maip_drlib.waits import WaitOutcome, WaitSpec, wait_for

DEFAULT_INSYNC_DEADLINE_S = 300.0
ACTIONS = ("CREATE", "UPSERT", "DELETE")


def alias_record(
    name: str,
    dns_name: str,
    hosted_zone_id: str,
    *,
    record_type: str = "A",
    evaluate_target_health: bool = True,
    set_identifier: str | None = None,
    failover: str | None = None,
    weight: int | None = None,
    health_check_id: str | None = None,
) -> dict[str, Any]:
    """A ResourceRecordSet dict for an alias record (only the given keys are set)."""
    record: dict[str, Any] = {
        "Name": fqdn(name),
        "Type": record_type,
        "AliasTarget": {
            "HostedZoneId": hosted_zone_id,
            "DNSName": dns_name,
            "EvaluateTargetHealth": evaluate_target_health,
        },
    }
    if set_identifier is not None:
        record["SetIdentifier"] = set_identifier
    if failover is not None:
        record["Failover"] = failover
    if weight is not None:
        record["Weight"] = weight
    if health_check_id is not None:
        record["HealthCheckId"] = health_check_id
    return record


def record_set_dict(fact: RecordSetFact) -> dict[str, Any]:
    """The Route 53 API shape of a parsed record set (for UPSERT/DELETE of what exists)."""
    record: dict[str, Any] = {"Name": fact.name, "Type": fact.type}
    if fact.alias is not None:
        record["AliasTarget"] = {
            "HostedZoneId": fact.alias.hosted_zone_id,
            "DNSName": fact.alias.dns_name,
            "EvaluateTargetHealth": fact.alias.evaluate_target_health,
        }
    else:
        record["ResourceRecords"] = [{"Value": value} for value in fact.values]
        if fact.ttl is not None:
            record["TTL"] = fact.ttl
    if fact.set_identifier is not None:
        record["SetIdentifier"] = fact.set_identifier
    if fact.failover is not None:
        record["Failover"] = fact.failover
    if fact.weight is not None:
        record["Weight"] = fact.weight
    if fact.health_check_id is not None:
        record["HealthCheckId"] = fact.health_check_id
    return record


def _key(fact: RecordSetFact) -> tuple[str, str, str | None]:
    return (fact.name, fact.type, fact.set_identifier)


def check_routing_conflicts(existing: Sequence[RecordSetFact],
                            changes: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a batch that would leave a simple record beside a routing-policy set."""
    after = {_key(fact): fact for fact in existing}
    for change in changes:
        action = change.get("Action")
        if action not in ACTIONS:
            raise ConfigError(f"unknown Route 53 change action {action!r} (expected one of "
                              f"{', '.join(ACTIONS)})", key="Changes.Action")
        fact = parse_record_set(dict(change["ResourceRecordSet"]))
        if action == "DELETE":
            after.pop(_key(fact), None)
        else:
            after[_key(fact)] = fact
    by_name_type: dict[tuple[str, str], set[str]] = {}
    roles: dict[tuple[str, str, str], int] = {}
    for fact in after.values():
        by_name_type.setdefault((fact.name, fact.type), set()).add(fact.kind)
        if fact.kind in ("failover", "weighted") and not fact.set_identifier:
            raise ConfigError(f"{fact.kind} record {fact.name} {fact.type} needs a "
                              "SetIdentifier (Route 53 refuses it without one)",
                              key="Changes.ResourceRecordSet.SetIdentifier")
        if fact.failover:
            role = (fact.name, fact.type, fact.failover)
            roles[role] = roles.get(role, 0) + 1
    for (name, record_type, role), count in sorted(roles.items()):
        if count > 1:
            raise GuardRefused(f"refusing Route 53 change: it would leave {count} {role} "
                               f"failover records for {name} {record_type} (Route 53 allows one)")
    for (name, record_type), kinds in sorted(by_name_type.items()):
        if "simple" in kinds and kinds & {"failover", "weighted", "other"}:
            others = ", ".join(sorted(kinds - {"simple"}))
            raise GuardRefused(
                f"refusing Route 53 change: a simple {record_type} record {name} cannot sit "
                f"beside a {others} set of the same name and type (Route 53 rejects it); "
                "fail over through the pair's health checks or change the pair itself"
            )


def change_record_sets(
    handle: RegionHandle,
    zone_id: str,
    changes: Sequence[Mapping[str, Any]],
    *,
    comment: str | None = None,
    wait: bool = True,
    deadline_s: float = DEFAULT_INSYNC_DEADLINE_S,
) -> ChangeStatus:
    """Apply ``changes`` ({"Action", "ResourceRecordSet"} dicts) after the local refusal check."""
    if not changes:
        raise ConfigError("no Route 53 changes given", key="Changes")
    names = {(fqdn(change["ResourceRecordSet"]["Name"]), change["ResourceRecordSet"]["Type"])
             for change in changes}
    existing: list[RecordSetFact] = []
    for name, record_type in sorted(names):
        existing.extend(record_sets(handle, zone_id, name, record_type))
    check_routing_conflicts(existing, changes)
    batch: dict[str, Any] = {"Changes": [dict(change) for change in changes]}
    if comment:
        batch["Comment"] = comment
    with aws_api(handle, "route53"):
        info = handle.client("route53").change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch=batch
        )["ChangeInfo"]
    status = ChangeStatus(change_id=str(info["Id"]).rsplit("/", 1)[-1], status=str(info["Status"]))
    if wait and status.status != "INSYNC":
        return wait_for_insync(handle, status.change_id, deadline_s=deadline_s).value
    return status


def wait_for_insync(handle: RegionHandle, change_id: str, *,
                    deadline_s: float = DEFAULT_INSYNC_DEADLINE_S, poll_initial_s: float = 1.0,
                    poll_max_s: float = 10.0) -> WaitOutcome[ChangeStatus]:
    """Wait until the change reads INSYNC; past the deadline a ``CheckFailed`` names it.

    The change stays submitted (Route 53 has it and may still propagate it): a re-run of the
    stage recognises it as applied.
    """
    spec = WaitSpec(description=f"Route 53 change {change_id} to be INSYNC",
                    deadline_s=deadline_s, poll_initial_s=poll_initial_s, poll_max_s=poll_max_s)
    try:
        return wait_for(spec, lambda: change_status(handle, change_id),
                        success=lambda status: status.status == "INSYNC")
    except WaitTimeout as timeout:
        raise CheckFailed(
            f"Route 53 change {change_id} not INSYNC within {deadline_s:g}s (submitted, not "
            "propagated: Route 53 control plane or its name servers are slow)",
            region=f"{handle.region} (Route 53 is global)", resource=f"change {change_id}",
            expected="INSYNC", observed=str(timeout.last_observed)) from timeout


def set_weights(
    handle: RegionHandle,
    zone_id: str,
    record_name: str,
    weights: Mapping[str, int],
    *,
    record_type: str = "A",
    wait: bool = True,
    deadline_s: float = DEFAULT_INSYNC_DEADLINE_S,
) -> ChangeStatus:
    """UPSERT the weights of existing weighted sets, by set identifier, in one batch."""
    for identifier, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 255:
            raise ConfigError(f"weight of {identifier!r} must be an integer 0..255, got "
                              f"{weight!r}", key="weights")
    if weights and not any(weights.values()):
        raise ConfigError("at least one weight must be > 0 (all zero spreads traffic evenly)",
                          key="weights")
    current = {fact.set_identifier: fact
               for fact in record_sets(handle, zone_id, record_name, record_type)
               if fact.kind == "weighted"}
    missing = sorted(set(weights) - set(current))
    if missing:
        raise NotFound(
            f"no weighted {record_type} set {', '.join(missing)} for {fqdn(record_name)} "
            f"(have: {', '.join(sorted(str(key) for key in current)) or 'none'})"
        )
    changes = []
    for identifier, weight in weights.items():
        record = record_set_dict(current[identifier])
        record["Weight"] = weight
        changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
    weights_text = ", ".join(f"{key}={value}" for key, value in weights.items())
    return change_record_sets(handle, zone_id, changes, comment=f"maip-dr weights {weights_text}",
                              wait=wait, deadline_s=deadline_s)
