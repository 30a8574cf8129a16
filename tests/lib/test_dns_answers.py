"""The library's DNS answers (dnspython) against the simulation's DNS server on 127.0.0.1.

The server answers a zone from a callable (no moto here), so health flips are immediate and
the timings below are about the wait itself. No test asks any resolver but 127.0.0.1.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flippable_zone import FlippableZone, alias

from maip_drlib.dns_answers import (
    DnsAnswerNotSeen,
    Nameserver,
    authoritative_nameservers,
    parse_nameserver,
    query,
    sample_answers,
    system_nameservers,
    wait_for_answer,
    weights_within,
)
from maip_drlib.errors import ConfigError
from maip_drlib.sim.dns import AddressPlan, SimDnsServer, ZoneResolver
from maip_drlib.sim.dns.records import RecordSet

pytestmark = pytest.mark.sim

ZONE = "example.test."
API = f"api.{ZONE}"
EAST_ALB = "east-alb-1.us-east-1.elb.amazonaws.com"
WEST_ALB = "dr-alb-1.us-west-2.elb.amazonaws.com"


def _zone() -> FlippableZone:
    """The failover pair, the zone's NS records and an 80/20 weighted pair."""
    return FlippableZone(ZONE, API, EAST_ALB, WEST_ALB, extra=(
        RecordSet(ZONE, "NS", "simple", values=(f"ns1.{ZONE}",), ttl=172800),
        RecordSet(f"ns1.{ZONE}", "A", "simple", values=("127.0.0.1",), ttl=300),
        RecordSet(f"shift.{ZONE}", "A", "weighted", set_identifier="e", weight=80,
                      alias=alias(EAST_ALB)),
        RecordSet(f"shift.{ZONE}", "A", "weighted", set_identifier="w", weight=20,
                      alias=alias(WEST_ALB)),
    ))


@pytest.fixture(scope="module")
def plan() -> AddressPlan:
    plan = AddressPlan()
    plan.register(EAST_ALB, "us-east-1")
    plan.register(WEST_ALB, "us-west-2")
    return plan


@pytest.fixture(scope="module")
def zone() -> FlippableZone:
    return _zone()


@pytest.fixture(scope="module")
def server(zone: FlippableZone, plan: AddressPlan) -> Iterator[SimDnsServer]:
    resolver = ZoneResolver(zone, alias_addresses=plan.addresses, alias_ttl=1, seed=11)
    with SimDnsServer(resolver) as running:
        yield running


@pytest.fixture
def ns(server: SimDnsServer, zone: FlippableZone) -> Iterator[Nameserver]:
    zone.primary_healthy = True
    yield parse_nameserver(server.nameserver, label="simulated")
    zone.primary_healthy = True


@pytest.fixture(scope="module")
def dead() -> Nameserver:
    """A loopback UDP port nobody serves (answers are refused at once)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Nameserver("127.0.0.1", port, "dead")


def east(plan: AddressPlan) -> tuple[str, ...]:
    return plan.addresses(EAST_ALB)


def west(plan: AddressPlan) -> tuple[str, ...]:
    return plan.addresses(WEST_ALB)


def test_wait_returns_as_soon_as_the_answer_moves(ns: Nameserver, zone: FlippableZone,
                                                  plan: AddressPlan) -> None:
    flip = threading.Timer(0.4, lambda: setattr(zone, "primary_healthy", False))
    flip.start()
    try:
        check = wait_for_answer(API, west(plan), [ns], ttl_s=10, margin_s=5,
                                poll_initial_s=0.05, poll_max_s=0.1)
    finally:
        flip.cancel()
    assert check.passed and check.polls > 1
    assert 0.3 < check.elapsed_s < 3.0, check.verdict  # the deadline is 15 s
    assert check.expected == west(plan) and check.resolvers == (str(ns),)
    assert check.observations[0].addresses == west(plan)
    assert "simulated 127.0.0.1:" in check.verdict and API in check.verdict


def test_wait_already_satisfied_needs_one_round(ns: Nameserver, plan: AddressPlan) -> None:
    check = wait_for_answer(API, east(plan), [ns], ttl_s=5)
    assert check.passed and check.polls == 1 and check.deadline_s == 15


def test_wait_fails_by_its_deadline_with_a_clear_verdict(ns: Nameserver,
                                                         plan: AddressPlan) -> None:
    started = time.monotonic()
    with pytest.raises(DnsAnswerNotSeen) as raised:
        wait_for_answer(API, west(plan), [ns], ttl_s=None, margin_s=0.3,
                        poll_initial_s=0.05, poll_max_s=0.1)
    elapsed = time.monotonic() - started
    check = raised.value.check
    assert not check.passed and check.deadline_s == pytest.approx(1.3)  # TTL 1 + margin
    assert 1.2 < elapsed < 4.0  # the deadline (1.3 s), plus one last round on a busy host
    verdict = str(raised.value)
    assert f"does not answer {west(plan)[0]}" in verdict
    assert f"-> NOERROR {east(plan)[0]} (ttl 1)" in verdict and "simulated" in verdict
    assert raised.value.expected == west(plan)[0]
    assert pickle.loads(pickle.dumps(raised.value)).check == check


def test_all_or_any_resolver_and_errors_are_observations(ns: Nameserver, dead: Nameserver,
                                                         plan: AddressPlan) -> None:
    refused = query(dead, API, timeout_s=0.5)
    assert refused.rcode in ("ERROR", "TIMEOUT") and refused.error
    check = wait_for_answer(API, east(plan), [dead, ns], require="any", ttl_s=1,
                            timeout_s=0.3)
    assert check.passed
    with pytest.raises(DnsAnswerNotSeen) as raised:
        wait_for_answer(API, east(plan), [ns, dead], ttl_s=0.2, margin_s=0.2, timeout_s=0.2,
                        poll_initial_s=0.05, poll_max_s=0.1)
    assert "dead 127.0.0.1:" in str(raised.value)


def test_weighted_sample_reports_observed_proportions(ns: Nameserver,
                                                      plan: AddressPlan) -> None:
    sample = sample_answers(ns, f"shift.{ZONE}", 100)
    groups = {"us-east-1": east(plan), "us-west-2": west(plan)}
    assert sum(sample.proportions.values()) == pytest.approx(1.0)
    passed, text = weights_within(sample, groups, {"us-east-1": 80, "us-west-2": 20}, 0.12)
    assert passed, text
    off, text = weights_within(sample, groups, {"us-east-1": 10, "us-west-2": 90}, 0.12)
    assert not off and "OFF" in text


def test_authoritative_name_servers_of_the_zone(ns: Nameserver, plan: AddressPlan) -> None:
    found = authoritative_nameservers(ZONE, [ns], port=ns.port)
    assert [(n.address, n.port) for n in found] == [("127.0.0.1", ns.port)]
    assert found[0].label == "authoritative ns1.example.test"
    assert query(found[0], API).addresses == east(plan)


def test_nameserver_configuration(tmp_path: Path) -> None:
    assert parse_nameserver("127.0.0.1:5353") == Nameserver("127.0.0.1", 5353)
    assert parse_nameserver("10.0.0.2") == Nameserver("10.0.0.2", 53)
    assert parse_nameserver("[::1]:5300") == Nameserver("::1", 5300)
    assert str(Nameserver("::1", 53, "v6")) == "v6 [::1]:53"
    for bad in ("resolver.example:53", "127.0.0.1:99999", "127.0.0.1:x"):
        with pytest.raises(ConfigError):
            parse_nameserver(bad)
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 192.0.2.53\nnameserver 2001:db8::53\n")
    assert [str(n) for n in system_nameservers(str(conf))] == [
        "system 192.0.2.53:53", "system [2001:db8::53]:53"]
    with pytest.raises(ConfigError):
        wait_for_answer(API, (), [parse_nameserver("127.0.0.1:53")])
