"""The simulated DNS answer for a record: Route 53's routing evaluated in-process on moto's data.

``answer_for(record_name, health_of_region)`` reads the hosted zones in moto's Route 53 backend
(in this process: the simulation's own moto) and answers as Route 53's resolvers would:

- failover pair: PRIMARY if its health check is healthy, else SECONDARY if healthy, else
  PRIMARY (Route 53 answers the primary when both are unhealthy);
- weighted set: among healthy records (all of them if none is), one chosen in proportion to
  weight with ``rng`` (seed it for determinism); all weights 0 means equal chances;
- simple alias: its target.

A record's health is Route 53's view of it, with Route 53's delays: its health check as the
simulated checkers see it (``HealthRegistry.check_healthy``: more than 18 % of 16 checkers,
each changing after RequestInterval x FailureThreshold) and, with ``EvaluateTargetHealth``,
its alias target's ALB target health (``HealthRegistry.target_healthy``); otherwise it is
healthy. The registry judges each region with the simulation's own region judge, so
``health_of_region`` (the same judge, as callers pass it) is no longer consulted: it is kept
for callers, and an instant answer for tests comes from ``HealthRegistry.settle``. The alias
DNS name is mapped back to the ALB (moto's ELBv2 backends) and its region.

Not supported: non-alias answers (plain A records), latency/geolocation/multivalue policies,
nested aliases, TTL caching (every call is a fresh answer), other accounts than moto's default.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.runtime import region_named_in

RegionHealth = Callable[[str], bool]


class NoDnsAnswer(LookupError):
    """No alias record of that name, or its target is no known ALB (NXDOMAIN-like)."""


@dataclass(frozen=True)
class DnsAnswer:
    """Where the record points now."""

    alb_dns_name: str
    region: str
    record_set_identifier: str | None


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _account_id() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return DEFAULT_ACCOUNT_ID


def _records(record_name: str, record_type: str) -> list[Any]:
    from moto.route53.models import route53_backends

    wanted = _normal(record_name)
    backend = route53_backends[_account_id()]["aws"]
    zones = [zone for zone in backend.zones.values()
             if wanted == _normal(zone.name) or wanted.endswith("." + _normal(zone.name))]
    zones.sort(key=lambda zone: len(zone.name), reverse=True)  # the most specific zone
    for zone in zones:
        found = [rrset for rrset in zone.rrsets
                 if _normal(rrset.name) == wanted and rrset.type == record_type]
        if found:
            return found
    return []


def _alb_for(alias_dns_name: str) -> tuple[str, str]:
    from moto.elbv2.models import elbv2_backends

    wanted = _normal(alias_dns_name).removeprefix("dualstack.")
    for region, backend in list(elbv2_backends[_account_id()].items()):
        for balancer in backend.load_balancers.values():
            if _normal(balancer.dns_name) == wanted:
                return balancer.dns_name, region
    raise NoDnsAnswer(f"alias target {alias_dns_name} is no load balancer of the simulation")


def _healthy(record: Any) -> bool:
    registry = runtime.current().health
    if record.health_check_id:
        from moto.route53.models import route53_backends

        from maip_drlib.sim.aws.patches.route53_health_status import spec_of

        health_check = route53_backends[_account_id()]["aws"].health_checks.get(
            record.health_check_id
        )
        if health_check is not None and not registry.check_healthy(spec_of(health_check)):
            return False
    alias = record.alias_target or {}
    if alias.get("EvaluateTargetHealth"):
        region = region_named_in(alias.get("DNSName"))
        if region is not None and not registry.target_healthy(region):
            return False
    return True


def _choose(records: list[Any], rng: random.Random) -> Any:
    failover = [record for record in records if record.failover]
    if failover:
        primary = next((r for r in failover if r.failover == "PRIMARY"), None)
        secondary = next((r for r in failover if r.failover == "SECONDARY"), None)
        if primary is not None and _healthy(primary):
            return primary
        if secondary is not None and _healthy(secondary):
            return secondary
        return primary or secondary
    weighted = [record for record in records if record.weight is not None]
    if weighted:
        healthy = [r for r in weighted if _healthy(r)] or weighted
        weights = [float(r.weight) for r in healthy]
        if sum(weights) <= 0:
            weights = [1.0] * len(healthy)
        return rng.choices(healthy, weights=weights, k=1)[0]
    return records[0]


def answer_for(record_name: str, health_of_region: RegionHealth | None = None, *,
               rng: random.Random | None = None, record_type: str = "A") -> DnsAnswer:
    """The ALB (DNS name, region) that ``record_name`` resolves to right now."""
    records = [record for record in _records(record_name, record_type) if record.alias_target]
    if not records:
        raise NoDnsAnswer(f"no alias {record_type} record named {record_name}")
    chosen = _choose(records, rng or random.Random())
    alb_dns_name, region = _alb_for(chosen.alias_target["DNSName"])
    return DnsAnswer(alb_dns_name=alb_dns_name, region=region,
                     record_set_identifier=chosen.set_identifier)
