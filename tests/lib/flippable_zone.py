"""A hosted zone for DNS-server tests: the API's failover pair (primary with a health check the
test flips, secondary without) plus whatever other records a test adds. No moto."""

from __future__ import annotations

from maip_drlib.facts import AliasTarget, RecordSetFact
from maip_drlib.sim.dns import ZoneData


def alias(name: str) -> AliasTarget:
    return AliasTarget(name, "Z1", False)


class FlippableZone:
    """``ZoneData`` of ``zone`` from a callable, read anew on every question."""

    def __init__(self, zone: str, api: str, east_alb: str, west_alb: str,
                 extra: tuple[RecordSetFact, ...] = ()) -> None:
        self.zone = zone
        self.primary_healthy = True
        self.records = (
            RecordSetFact(api, "A", "failover", set_identifier="p", failover="PRIMARY",
                          alias=alias(east_alb), health_check_id="hc-east"),
            RecordSetFact(api, "A", "failover", set_identifier="s", failover="SECONDARY",
                          alias=alias(west_alb)),
            *extra,
        )

    def __call__(self) -> ZoneData:
        return ZoneData(self.zone, self.records, {"hc-east": self.primary_healthy})
