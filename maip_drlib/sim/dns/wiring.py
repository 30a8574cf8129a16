"""How a simulation puts its DNS server together: its moto endpoint, zone, ALBs and health.

``simulation_dns_server`` reads the hosted zone through the simulation's moto endpoint, gives
each region's ALB its own planned loopback address (remembering the real endpoint port), and
judges ``EvaluateTargetHealth`` by the ALB's region as Route 53 sees its target health: the
running simulation's ``HealthRegistry.target_healthy`` (the ALB's target health checks, with
their delay; its judge is the simulation's ``region_healthy``), else, with no simulation
runtime in this process, ``region_healthy`` itself, asked at most once per ``max_age_s``.
``plan_connect_to`` is the ``connect_to`` of ``maip_drlib.dns_answers.DnsResolver``: an
answered planned address -> 127.0.0.1 and the real port, described with the ALB and its region
(``region us-west-2``). ``plan_document`` is the same plan as JSON-ready data (address -> port,
region, ALB DNS name), what the control server's ``GET /dns/plan`` serves to clients in other
processes (``maip_drlib.resolvers.SimulationAddressPlan`` maps with it the same way).

Not supported: ALBs outside the ``albs`` mapping (they get no address: an empty answer), more
than one zone per server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.runtime import region_named_in
from maip_drlib.sim.dns.addresses import AddressPlan
from maip_drlib.sim.dns.answers import DEFAULT_ALIAS_TTL
from maip_drlib.sim.dns.server import LOOPBACK, SimDnsServer, route53_dns_server

RegionHealthy = Callable[[str], bool]
ROUTE53_TIMEOUTS = {"connect_timeout": 1, "read_timeout": 2}


def simulation_dns_server(endpoint_url: str, zone_name: str,
                          albs: Mapping[str, tuple[str, int | None]],
                          region_healthy: RegionHealthy, *, max_age_s: float = 0.5,
                          alias_ttl: int = DEFAULT_ALIAS_TTL, seed: int | None = None,
                          plan: AddressPlan | None = None) -> tuple[SimDnsServer, AddressPlan]:
    """A (not yet started) server for ``zone_name`` and its address plan.

    ``albs``: region -> (ALB DNS name, loopback port of that region's endpoint or None).
    """
    plan = plan or AddressPlan()
    for region, (dns_name, port) in albs.items():
        plan.register(dns_name, region, port=port)

    judge = _target_health(_remembered(region_healthy, max_age_s))

    def target_healthy(dns_name: str) -> bool:
        planned = plan.target(dns_name)
        region = planned.region if planned is not None else region_named_in(dns_name)
        return True if region is None else judge(region)

    client = sim_client("route53", "us-east-1", endpoint_url, **ROUTE53_TIMEOUTS)
    server = route53_dns_server(client, zone_name, alias_addresses=plan.addresses,
                                target_healthy=target_healthy, max_age_s=max_age_s,
                                alias_ttl=alias_ttl, seed=seed)
    return server, plan


def _target_health(fallback: RegionHealthy) -> RegionHealthy:
    """The simulation runtime's delayed ALB target health when one runs here, else ``fallback``."""

    def judge(region: str) -> bool:
        try:
            registry = runtime.current().health
        except RuntimeError:
            return fallback(region)
        return registry.target_healthy(region)

    return judge


def _remembered(region_healthy: RegionHealthy, max_age_s: float) -> RegionHealthy:
    """``region_healthy`` asked at most once per ``max_age_s`` per region (it reads state)."""
    lock = threading.Lock()
    seen: dict[str, tuple[float, bool]] = {}

    def judge(region: str) -> bool:
        now = time.monotonic()
        with lock:
            known = seen.get(region)
        if known is not None and now - known[0] < max_age_s:
            return known[1]
        healthy = region_healthy(region)
        with lock:
            seen[region] = (now, healthy)
        return healthy

    return judge


def plan_connect_to(plan: AddressPlan) -> Callable[[str, int], tuple[str, int, str] | None]:
    """Answered address -> (127.0.0.1, real port, "ALB <name>, region <region>")."""

    def connect_to(address: str, port: int) -> tuple[str, int, str] | None:
        planned = plan.lookup(address)
        if planned is None:
            return None
        what = f"ALB {planned.dns_name}, region {planned.region or 'unknown'}"
        return LOOPBACK, planned.port if planned.port is not None else port, what

    return connect_to


def plan_document(plan: AddressPlan) -> dict[str, dict[str, Any]]:
    """Planned address -> {"port": real loopback port or None, "region", "alb_dns_name"}."""
    return {address: {"port": planned.port, "region": planned.region,
                      "alb_dns_name": planned.dns_name}
            for planned in plan.targets() for address in planned.addresses}
