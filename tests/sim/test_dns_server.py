"""The simulation's DNS server on 127.0.0.1, answering from moto's Route 53, asked with dnspython.

One moto server (the simulation's, with its fault middleware and health-check patch) and one
DNS server for the module; health is driven as the simulation drives it, through FaultState
(a region outage or a failing endpoint makes that region's health checks fail).
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query
import dns.rcode
import pytest
from dnslib import RCODE, DNSRecord

from maip_drlib.dns_answers import DnsResolver, Nameserver, query, sample_answers
from maip_drlib.errors import NotFound
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.dns import (
    AddressPlan,
    CachedZone,
    SimDnsServer,
    ZoneData,
    ZoneResolver,
    plan_connect_to,
    simulation_dns_server,
)
from maip_drlib.sim.dns.records import Alias, RecordSet
from maip_drlib.sim.dns.routing import choose
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

REGIONS = ("us-east-1", "us-west-2")
ZONE = "maip.example.com"
EAST_ALB = "maip-prod-alb-1.us-east-1.elb.amazonaws.com"
WEST_ALB = "maip-prod-dr-alb-1.us-west-2.elb.amazonaws.com"
ALB_ZONE_ID = "Z35SXDOTRQ7X7K"
MAX_AGE_S = 0.2
EAST_PORT, WEST_PORT = 18443, 28443  # where each region is "really" served (never dialled)


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState(REGIONS)


def _alias(name: str, health: bool = True) -> dict[str, Any]:
    return {"HostedZoneId": ALB_ZONE_ID, "DNSName": name, "EvaluateTargetHealth": health}


def _health_check(route53: Any, alb: str) -> str:
    return str(route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": alb, "Port": 443,
                           "ResourcePath": "/actuator/health"},
    )["HealthCheck"]["Id"])


def _seed(route53: Any) -> str:
    zone_id = str(route53.create_hosted_zone(Name=ZONE, CallerReference=str(uuid.uuid4()))
                  ["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    east, west = _health_check(route53, EAST_ALB), _health_check(route53, WEST_ALB)
    changes = []
    for role, alb, check in (("PRIMARY", EAST_ALB, east), ("SECONDARY", WEST_ALB, west)):
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"api.{ZONE}", "Type": "A", "SetIdentifier": role.lower(), "Failover": role,
            "HealthCheckId": check, "AliasTarget": _alias(alb)}})
    for ident, alb, check, weight in (("east", EAST_ALB, east, 75), ("west", WEST_ALB, west, 25)):
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"weighted.{ZONE}", "Type": "A", "SetIdentifier": ident, "Weight": weight,
            "HealthCheckId": check, "AliasTarget": _alias(alb)}})
    changes.append({"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"plain.{ZONE}", "Type": "A", "TTL": 300,
        "ResourceRecords": [{"Value": "127.0.0.1"}, {"Value": "127.0.0.2"}]}})
    changes.append({"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"www.{ZONE}", "Type": "CNAME", "TTL": 120,
        "ResourceRecords": [{"Value": f"plain.{ZONE}"}]}})
    route53.change_resource_record_sets(HostedZoneId=zone_id,
                                        ChangeBatch={"Changes": changes})
    return zone_id


@pytest.fixture(scope="module")
def moto(faults: FaultState) -> Iterator[MotoServer]:
    server = MotoServer(faults, SimClock(time_scale=0.6))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dns_server(moto: MotoServer) -> Iterator[tuple[SimDnsServer, AddressPlan]]:
    assert moto.endpoint_url is not None
    _seed(sim_client("route53", "us-east-1", moto.endpoint_url, read_timeout=3))
    server, plan = simulation_dns_server(
        moto.endpoint_url, ZONE, {"us-east-1": (EAST_ALB, EAST_PORT),
                                  "us-west-2": (WEST_ALB, WEST_PORT)},
        moto.runtime.health.region_is_healthy, max_age_s=MAX_AGE_S, seed=7)
    with server:
        yield server, plan


@pytest.fixture(scope="module")
def server(dns_server: tuple[SimDnsServer, AddressPlan]) -> SimDnsServer:
    return dns_server[0]


@pytest.fixture(scope="module")
def plan(dns_server: tuple[SimDnsServer, AddressPlan]) -> AddressPlan:
    return dns_server[1]


@pytest.fixture(scope="module")
def zone(server: SimDnsServer) -> CachedZone:
    assert isinstance(server.resolver.zone, CachedZone)
    return server.resolver.zone


@pytest.fixture
def ns(server: SimDnsServer, faults: FaultState) -> Iterator[Nameserver]:
    yield Nameserver("127.0.0.1", server.port, "simulated")
    for region in REGIONS:
        faults.restore_region(region)
    faults.impair_route53_control_plane(False)


def _address(plan: AddressPlan, alb: str) -> tuple[str, ...]:
    return plan.addresses(alb)


def _until(ns: Nameserver, name: str, wanted: tuple[str, ...], deadline_s: float = 5.0) -> Any:
    deadline = time.monotonic() + deadline_s
    while True:
        seen = query(ns, name)
        if seen.addresses == wanted or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def test_failover_answers_follow_the_health_checks(ns: Nameserver, plan: AddressPlan,
                                                   faults: FaultState) -> None:
    east, west = _address(plan, EAST_ALB), _address(plan, WEST_ALB)
    assert east != west
    first = _until(ns, f"api.{ZONE}", east)
    assert (first.rcode, first.addresses, first.ttl) == ("NOERROR", east, 60)

    faults.region_outage("us-east-1")  # Route 53 is global: it still answers
    assert _until(ns, f"api.{ZONE}", west).addresses == west
    assert query(ns, f"api.{ZONE}", tcp=True).addresses == west

    faults.restore_region("us-east-1")
    assert _until(ns, f"api.{ZONE}", east).addresses == east


def test_endpoint_resolver_connects_where_the_answer_points(ns: Nameserver, plan: AddressPlan,
                                                            faults: FaultState) -> None:
    resolver = DnsResolver([ns], connect_to=plan_connect_to(plan))
    east = resolver.resolve(f"api.{ZONE}", 443)
    assert (east.host, east.port) == ("127.0.0.1", EAST_PORT)
    assert "region us-east-1" in east.detail and EAST_ALB in east.detail
    assert east.ttl_s == query(ns, f"api.{ZONE}").ttl is not None  # the answer's TTL, kept
    faults.region_outage("us-east-1")
    _until(ns, f"api.{ZONE}", _address(plan, WEST_ALB))
    west = resolver.resolve(f"api.{ZONE}", 443)
    assert (west.host, west.port) == ("127.0.0.1", WEST_PORT)
    assert f"DNS {_address(plan, WEST_ALB)[0]} via simulated 127.0.0.1:" in west.detail
    with pytest.raises(NotFound):
        resolver.resolve(f"nope.{ZONE}", 443)


def test_weighted_answers_follow_weights_and_skip_unhealthy(ns: Nameserver, plan: AddressPlan,
                                                            faults: FaultState) -> None:
    groups = {"us-east-1": _address(plan, EAST_ALB), "us-west-2": _address(plan, WEST_ALB)}
    _until(ns, f"api.{ZONE}", groups["us-east-1"])  # both regions healthy again in the cache
    sample = sample_answers(ns, f"weighted.{ZONE}", 200)
    shares = sample.shares(groups)
    assert abs(shares["us-east-1"] - 0.75) < 0.1, str(sample)
    assert abs(shares["us-west-2"] - 0.25) < 0.1, str(sample)
    assert not sample.failures

    faults.set_endpoint("us-east-1", http_status=503)
    deadline = time.monotonic() + 5.0  # Route 53's checkers take interval x threshold
    while sample_answers(ns, f"weighted.{ZONE}", 20).shares(groups)["us-west-2"] < 1.0:
        assert time.monotonic() < deadline, "the unhealthy east record is still answered"
        time.sleep(0.05)


def test_plain_records_cname_nxdomain_nodata_and_refused(ns: Nameserver,
                                                         plan: AddressPlan) -> None:
    plain = query(ns, f"plain.{ZONE}")
    assert (plain.addresses, plain.ttl) == (("127.0.0.1", "127.0.0.2"), 300)
    assert query(ns, f"www.{ZONE}").addresses == ("127.0.0.1", "127.0.0.2")

    missing = dns.query.udp(dns.message.make_query(f"nope.{ZONE}", "A"), ns.address,
                            port=ns.port, timeout=2)
    assert missing.rcode() == dns.rcode.NXDOMAIN
    soa = missing.authority[0]
    assert soa[0].mname.to_text() == "ns-2048.awsdns-64.com."  # moto's zone SOA
    nodata = query(ns, f"plain.{ZONE}", "AAAA")
    assert (nodata.rcode, nodata.addresses) == ("NOERROR", ())

    assert query(ns, "example.org").rcode == "REFUSED"
    assert query(ns, WEST_ALB).addresses == _address(plan, WEST_ALB)  # the target, for clients


def test_impaired_route53_control_plane_keeps_the_last_answers(
        ns: Nameserver, zone: CachedZone, plan: AddressPlan, faults: FaultState) -> None:
    east = _address(plan, EAST_ALB)
    assert _until(ns, f"api.{ZONE}", east).addresses == east
    faults.impair_route53_control_plane(True)
    zone.invalidate()
    assert query(ns, f"api.{ZONE}").addresses == east
    assert zone.last_error is not None


def test_unsupported_routing_is_servfail_and_seeded_weights_repeat() -> None:
    latency = RecordSet(f"lat.{ZONE}.", "A", "other", set_identifier="x", values=("1.2.3.4",))
    weighted = tuple(RecordSet(f"w.{ZONE}.", "A", "weighted", set_identifier=region,
                                   weight=weight, alias=Alias(alb, ALB_ZONE_ID, False))
                     for region, alb, weight in (("e", EAST_ALB, 50), ("w", WEST_ALB, 50)))
    data = ZoneData(ZONE, (latency, *weighted))
    plan = AddressPlan()
    plan.register(EAST_ALB)
    plan.register(WEST_ALB)

    def answers(seed: int) -> list[str]:
        resolver = ZoneResolver(lambda: data, alias_addresses=plan.addresses, seed=seed)
        return [str(resolver.resolve(DNSRecord.question(f"w.{ZONE}"), None).rr[0].rdata)
                for _ in range(30)]

    assert answers(3) == answers(3)
    assert len(set(answers(3))) == 2
    reply = ZoneResolver(lambda: data).resolve(DNSRecord.question(f"lat.{ZONE}"), None)
    assert reply.header.rcode == RCODE.SERVFAIL
    any_query = ZoneResolver(lambda: data).resolve(DNSRecord.question(ZONE, "ANY"), None)
    assert any_query.header.rcode == RCODE.NOTIMP


def test_stop_is_bounded_and_releases_the_port() -> None:
    server = SimDnsServer(ZoneResolver(lambda: ZoneData(ZONE, ()))).start()
    port = server.port
    assert query(Nameserver("127.0.0.1", port), f"x.{ZONE}").rcode == "NXDOMAIN"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    server.stop()  # twice is harmless


def test_routing_when_nothing_is_healthy_or_weights_are_zero() -> None:
    def record(kind: str, ident: str, **extra: Any) -> RecordSet:
        return RecordSet(f"r.{ZONE}.", "A", kind, set_identifier=ident,  # type: ignore[arg-type]
                             health_check_id=f"hc-{ident}", values=(ident,), **extra)

    def sick(_check: str) -> bool:
        return False

    rng = random.Random(1)
    pair = [record("failover", "b", failover="SECONDARY"), record("failover", "a",
                                                                   failover="PRIMARY")]
    assert choose(pair, sick, lambda _name: True, rng).set_identifier == "a"
    zero = [record("weighted", "a", weight=0), record("weighted", "b", weight=0)]
    assert {choose(zero, lambda _c: True, lambda _n: True, rng).set_identifier
            for _ in range(40)} == {"a", "b"}
    mixed = [record("weighted", "a", weight=0), record("weighted", "b", weight=5)]
    assert {choose(mixed, sick, lambda _n: True, rng).set_identifier for _ in range(20)} == {"b"}
    assert choose(mixed, lambda c: c == "hc-a", lambda _n: True, rng).set_identifier == "a"
