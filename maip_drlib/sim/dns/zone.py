"""What the DNS server answers from: one hosted zone's record sets and its health checks.

``ZoneData`` is a snapshot: the zone name, its Route 53 record sets (``RecordSet``, read by the
simulation's own ``records.py``, not the suite's Route 53 probe) and the status of every
health check they name. A ``ZoneSource`` is any callable returning one;
``route53_zone_source`` reads it through a boto3 Route 53 client (the simulation's moto
endpoint), and ``CachedZone`` keeps the last snapshot
for ``max_age_s`` so that a burst of queries costs one read.

A health check is healthy when more than 18 % of its checkers report ``Success`` (Route 53's
rule, ``records.checkers_say_healthy``); each checker's report already carries
Route 53's RequestInterval x FailureThreshold delay (the simulated checkers), so the answers
follow a health change with that delay (plus ``max_age_s``). When a read fails (the Route 53
control plane is impaired), ``CachedZone`` keeps answering from the last snapshot, as Route
53's data plane does.

Not supported: private zones (a public zone of that name is preferred), reading more than one
zone per source, health checks that cannot be read (they count as healthy, like a record
without one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.sim.dns.records import RecordSet, checkers_say_healthy, fqdn, record_set


@dataclass(frozen=True)
class ZoneData:
    """One snapshot of a hosted zone: name, record sets, health check id -> healthy."""

    zone: str
    records: tuple[RecordSet, ...]
    health: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", fqdn(self.zone))

    def contains(self, name: str) -> bool:
        """Whether ``name`` is the zone apex or below it."""
        wanted = fqdn(name)
        return wanted == self.zone or wanted.endswith("." + self.zone)

    def named(self, name: str) -> tuple[RecordSet, ...]:
        wanted = fqdn(name)
        return tuple(record for record in self.records if record.name == wanted)

    def healthy(self, health_check_id: str) -> bool:
        return self.health.get(health_check_id, True)


ZoneSource = Callable[[], ZoneData]


def _zone_id(client: Any, zone_name: str) -> str:
    wanted = fqdn(zone_name)
    page = client.list_hosted_zones_by_name(DNSName=wanted)
    zones = [zone for zone in page.get("HostedZones", []) if fqdn(zone["Name"]) == wanted]
    zones.sort(key=lambda zone: bool(zone.get("Config", {}).get("PrivateZone", False)))
    if not zones:
        raise LookupError(f"Route 53 hosted zone {wanted} not found")
    return str(zones[0]["Id"]).rsplit("/", 1)[-1]


def _all_record_sets(client: Any, zone_id: str) -> tuple[RecordSet, ...]:
    pages = client.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    return tuple(record_set(raw) for page in pages
                 for raw in page.get("ResourceRecordSets", []))


def _health(client: Any, health_check_id: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        response = client.get_health_check_status(HealthCheckId=health_check_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchHealthCheck":
            return True
        raise
    return checkers_say_healthy(response.get("HealthCheckObservations", []))


def route53_zone_source(client: Any, zone_name: str) -> ZoneSource:
    """A ``ZoneSource`` reading ``zone_name`` through a boto3 Route 53 ``client``."""
    zone_ids: list[str] = []

    def read() -> ZoneData:
        if not zone_ids:
            zone_ids.append(_zone_id(client, zone_name))
        records = _all_record_sets(client, zone_ids[0])
        checks = sorted({r.health_check_id for r in records if r.health_check_id})
        return ZoneData(zone_name, records, {check: _health(client, check) for check in checks})

    return read


class CachedZone:
    """The last snapshot of ``source``, re-read when older than ``max_age_s`` (thread-safe).

    A failed re-read keeps the previous snapshot (``last_error`` says why) and is retried after
    ``max_age_s``; with no snapshot yet the error propagates. Reads happen on the querying
    thread: give the source's client short timeouts.
    """

    def __init__(self, source: ZoneSource, *, max_age_s: float = 0.5,
                 clock: Callable[[], float] = time.monotonic):
        if max_age_s < 0:
            raise ValueError("max_age_s must be >= 0")
        self._source = source
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._data: ZoneData | None = None
        self._read_at = 0.0
        self.last_error: str | None = None

    def __call__(self) -> ZoneData:
        with self._lock:
            now = self._clock()
            if self._data is not None and now - self._read_at < self._max_age_s:
                return self._data
            try:
                self._data = self._source()
            except Exception as error:
                if self._data is None:
                    raise
                self._read_at = now  # retried after max_age_s, not on every query
                self.last_error = f"{type(error).__name__}: {error}"
                return self._data
            self._read_at = now
            self.last_error = None
            return self._data

    def invalidate(self) -> None:
        """Force the next query to re-read the zone."""
        with self._lock:
            self._read_at = float("-inf")
