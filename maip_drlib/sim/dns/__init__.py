"""The simulation's real DNS server: a Route 53 hosted zone answered on 127.0.0.1 (dnslib).

``records`` reads Route 53 record sets (its own reading, not the suite's probe), ``zone``
reads the records and health checks, ``routing`` evaluates failover and weighted
routing per query, ``answers`` builds DNS replies, ``addresses`` gives load balancers their
own loopback addresses, ``server`` runs UDP and TCP listeners, ``wiring`` assembles them for a
simulation. See each module for what is
not supported (latency, geolocation, multivalue routing among others).
"""

from __future__ import annotations

from maip_drlib.sim.dns.addresses import AddressPlan, PlannedTarget
from maip_drlib.sim.dns.answers import ZoneResolver
from maip_drlib.sim.dns.server import SimDnsServer, route53_dns_server
from maip_drlib.sim.dns.wiring import plan_connect_to, plan_document, simulation_dns_server
from maip_drlib.sim.dns.zone import CachedZone, ZoneData, route53_zone_source

__all__ = [
    "AddressPlan",
    "CachedZone",
    "PlannedTarget",
    "SimDnsServer",
    "ZoneData",
    "ZoneResolver",
    "plan_connect_to",
    "plan_document",
    "route53_dns_server",
    "route53_zone_source",
    "simulation_dns_server",
]
