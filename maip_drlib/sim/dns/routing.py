"""Route 53 routing, evaluated per query: which record set of one name and type answers.

- simple: the record set itself;
- failover: PRIMARY when healthy, else SECONDARY when healthy, else PRIMARY (Route 53 answers
  as if all were healthy when none is);
- weighted: one record set drawn in proportion to its weight among the healthy ones with a
  non-zero weight; the healthy zero-weight ones (equal chances) when none has weight; all of
  them when none is healthy.

A record set is healthy when its health check (if any) is healthy and, with
``EvaluateTargetHealth``, its alias target is healthy (``target_healthy``).

Not supported: latency, geolocation, geoproximity, multivalue and IP-based routing (raised as
``UnsupportedRouting``), mixed policies for one name and type (Route 53 refuses them).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from maip_drlib.sim.dns.records import RecordSet

TargetHealth = Callable[[str], bool]
CheckHealth = Callable[[str], bool]


class UnsupportedRouting(ValueError):
    """The record sets use a routing policy this server does not evaluate."""


def record_healthy(record: RecordSet, check_healthy: CheckHealth,
                   target_healthy: TargetHealth) -> bool:
    if record.health_check_id and not check_healthy(record.health_check_id):
        return False
    if record.alias is not None and record.alias.evaluate_target_health:
        return target_healthy(record.alias.dns_name)
    return True


def choose(records: Sequence[RecordSet], check_healthy: CheckHealth,
           target_healthy: TargetHealth, rng: random.Random) -> RecordSet:
    """The record set that answers one query for these records (same name and type)."""
    if not records:
        raise ValueError("no record sets to choose from")
    kinds = {record.kind for record in records}
    if kinds - {"simple", "failover", "weighted"}:
        raise UnsupportedRouting(
            f"{records[0].name} {records[0].type}: routing policy not supported by the "
            "simulated DNS (only simple, failover and weighted)")

    def healthy(record: RecordSet) -> bool:
        return record_healthy(record, check_healthy, target_healthy)

    if kinds == {"failover"}:
        primary = next((r for r in records if r.failover == "PRIMARY"), None)
        secondary = next((r for r in records if r.failover == "SECONDARY"), None)
        for candidate in (primary, secondary):
            if candidate is not None and healthy(candidate):
                return candidate
        return primary or records[0]
    if kinds == {"weighted"}:
        pool = [record for record in records if healthy(record)] or list(records)
        weighted = [record for record in pool if (record.weight or 0) > 0]
        if weighted:
            return rng.choices(weighted, weights=[r.weight or 0 for r in weighted], k=1)[0]
        return rng.choice(pool)
    return records[0]
