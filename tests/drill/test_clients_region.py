"""Which region clients reach, judged from a DNS answer as a live target gets it: no region
in the answer's text, so the answered address is matched against each region's ALB
addresses (the simulation's answers name the region; the DNS wiring tests cover those)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from maip_drlib.config import RegionConnection, Target, Topology
from maip_drlib.drill import clients_landing, deadlines, outcome_checks
from maip_drlib.drill.context import DrillContext
from maip_drlib.errors import CheckFailed
from maip_drlib.resolvers import ResolvedAddress

pytestmark = pytest.mark.unit

DR_ALB_ADDRESS = "198.51.100.7"  # TEST-NET-2: never dialled, getaddrinfo is replaced


class _Answer:
    def __init__(self, address: str, ttl_s: float | None = 60.0):
        self.address = address
        self.ttl_s = ttl_s

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        return ResolvedAddress(host=self.address, port=port,
                               detail=f"DNS {self.address} via 192.0.2.53:53", ttl_s=self.ttl_s)


def _ctx(answer: str, monkeypatch: pytest.MonkeyPatch) -> DrillContext:
    topology = Topology()
    albs = {"us-east-1": "primary-alb.us-east-1.elb.amazonaws.com",
            "us-west-2": "dr-alb.us-west-2.elb.amazonaws.com"}
    monkeypatch.setattr(clients_landing.elb_probes, "load_balancer", lambda handle, name: (
        SimpleNamespace(dns_name=albs[handle.region])))
    addresses = {albs["us-east-1"]: "203.0.113.9", albs["us-west-2"]: DR_ALB_ADDRESS}

    def getaddrinfo(host: str, port: int, *args: object) -> list[tuple]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (addresses[host], port))]

    monkeypatch.setattr(clients_landing.socket, "getaddrinfo", getaddrinfo)
    handles = SimpleNamespace(primary=SimpleNamespace(region="us-east-1"),
                              secondary=SimpleNamespace(region="us-west-2"))
    target = Target(name="prod", kind="live",
                    primary=RegionConnection(region="us-east-1", kube_context="p"),
                    secondary=RegionConnection(region="us-west-2", kube_context="s"))
    return DrillContext(handles=handles, topology=topology, target=target,  # type: ignore[arg-type]
                        resolver=_Answer(answer))


def test_an_answer_of_the_dr_albs_address_is_the_dr_region(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx(DR_ALB_ADDRESS, monkeypatch)
    region, how = clients_landing.clients_region(ctx)
    assert region == "us-west-2" and "dr-alb.us-west-2" in how
    assert "198.51.100.7" in outcome_checks.clients_resolve_to(ctx, "secondary")
    with pytest.raises(CheckFailed, match="expected=us-east-1"):
        outcome_checks.clients_resolve_to(ctx, "primary")


def test_an_answer_of_no_alb_is_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx("192.0.2.99", monkeypatch)
    assert clients_landing.clients_region(ctx)[0] is None
    with pytest.raises(CheckFailed, match="matches no ALB"):
        outcome_checks.clients_resolve_to(ctx, "secondary")


def test_clients_get_the_answers_ttl_plus_a_margin_to_follow_a_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx(DR_ALB_ADDRESS, monkeypatch)
    assert clients_landing.clients_answer(ctx)[2] == 60.0
    assert deadlines.clients_switch_deadline_s(60.0) == 60.0 + deadlines.DNS_TTL_MARGIN_S
    # No TTL (the system's or the simulation's control resolver): the stage's own deadline;
    # a TTL longer than that deadline does not extend it.
    assert deadlines.clients_switch_deadline_s(None) == deadlines.CLIENTS_SWITCH_DEADLINE_S
    assert deadlines.clients_switch_deadline_s(86400.0) == deadlines.CLIENTS_SWITCH_DEADLINE_S
