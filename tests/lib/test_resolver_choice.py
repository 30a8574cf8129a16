"""Choosing the drill's resolver per target (``resolver_for``), the ``dns_nameservers`` key,
and the simulated address plan a ``DnsResolver`` maps through (``GET /dns/plan``).

No moto and no simulation: a DNS server answering a zone from a callable and the real control
server over a stand-in simulation, both on 127.0.0.1. No test asks any resolver but 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flippable_zone import FlippableZone
from maip_cli_helpers import kubeconfig_text

from maip_drlib.config import RegionConnection, Target
from maip_drlib.config_loader import describe_config, load_config
from maip_drlib.dns_answers import DnsResolver
from maip_drlib.errors import ConfigError, NotFound, Unreachable
from maip_drlib.facts import RecordSetFact
from maip_drlib.resolvers import (
    SimulationAddressPlan,
    SimulationResolver,
    SystemResolver,
    resolver_for,
)
from maip_drlib.sim.control import NO_DNS_PLAN, ControlServer
from maip_drlib.sim.dns import AddressPlan, SimDnsServer, ZoneResolver, plan_document

pytestmark = pytest.mark.sim

ZONE = "maip.example.com."
API = "api.maip.example.com"
EAST_ALB = "maip-prod-alb-1.us-east-1.elb.amazonaws.com"
WEST_ALB = "maip-prod-dr-alb-1.us-west-2.elb.amazonaws.com"
EAST_PORT, WEST_PORT = 18443, 28443  # where each ALB's endpoint "really" listens (not dialled)
REPO = Path(__file__).resolve().parents[2]

# -- the config key ------------------------------------------------------------------------------

SIM = """
[targets.practice]
kind = "sim"
control_url = "http://127.0.0.1:8999"
{extra}
[targets.practice.regions.us-east-1]
endpoint_url = "http://127.0.0.1:5000"
kubeconfig = "kube.yaml"
[targets.practice.regions.us-west-2]
endpoint_url = "http://127.0.0.1:5000"
kubeconfig = "kube.yaml"
"""

LIVE = """
[targets.prod]
kind = "live"
{extra}
[targets.prod.regions.us-east-1]
[targets.prod.regions.us-west-2]
"""


def _load(tmp_path: Path, template: str, extra: str) -> Any:
    """Load ``template`` from a file beside a loopback kubeconfig (a sim target names one)."""
    (tmp_path / "kube.yaml").write_text(kubeconfig_text("https://127.0.0.1:6443"))
    path = tmp_path / "maip-dr.toml"
    path.write_text(template.format(extra=extra))
    return load_config(path)


def test_dns_nameservers_load_normalised_for_sim_and_live(tmp_path: Path) -> None:
    sim = _load(tmp_path, SIM, 'dns_nameservers = ["127.0.0.1:5353", "[::1]:53"]')
    assert sim.target("practice").dns_nameservers == ("127.0.0.1:5353", "[::1]:53")
    live = _load(tmp_path, LIVE, 'dns_nameservers = ["10.0.0.2", "192.0.2.53:5353"]')
    assert live.target("prod").dns_nameservers == ("10.0.0.2:53", "192.0.2.53:5353")
    assert "    dns: 10.0.0.2:53, 192.0.2.53:5353" in describe_config(live)


def test_without_the_key_config_check_names_the_default_resolver(tmp_path: Path) -> None:
    sim = _load(tmp_path, SIM, "")
    assert sim.target("practice").dns_nameservers == ()
    assert "    dns: simulation control server (/dns/resolve)" in describe_config(sim)
    live = _load(tmp_path, LIVE, "")
    assert "    dns: system resolver" in describe_config(live)


@pytest.mark.parametrize(("template", "value", "expected"), [
    (SIM, '"127.0.0.1:5353"', "expected an array of ADDRESS[:PORT] strings, got a string"),
    (SIM, "[]", "expected at least one ADDRESS[:PORT]"),
    (SIM, "[53]", "item 1: expected an ADDRESS[:PORT] string, got an integer"),
    (SIM, '["127.0.0.1:5353", "dns.example:53"]', "item 2: expected an IP address"),
    (SIM, '["127.0.0.1:99999"]', "item 1: expected an IP address"),
    (SIM, '["127.0.0.1:"]', "item 1: expected an IP address"),
    (SIM, '["10.0.0.2"]', "item 1: expected a loopback resolver"),
    (SIM, '["127.0.0.1", "127.0.0.1:53"]', "item 2: 127.0.0.1:53 is listed twice"),
    (LIVE, '["not an address\\n"]', "item 1: expected an IP address"),
])
def test_bad_dns_nameservers_are_one_line_naming_the_key(tmp_path: Path, template: str,
                                                         value: str, expected: str) -> None:
    name = "practice" if template is SIM else "prod"
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, template, f"dns_nameservers = {value}")
    message = str(raised.value)
    assert raised.value.key == f"targets.{name}.dns_nameservers"
    assert f"targets.{name}.dns_nameservers: " in message and expected in message, message
    assert message.isprintable()  # one line


def test_an_embedded_target_takes_no_dns_nameservers(tmp_path: Path) -> None:
    path = tmp_path / "maip-dr.toml"
    path.write_text('[targets.e]\nkind = "embedded"\ndns_nameservers = ["127.0.0.1:53"]\n')
    with pytest.raises(ConfigError, match=r"targets\.e\.dns_nameservers: unknown key"):
        load_config(path)


# -- which resolver ------------------------------------------------------------------------------


def _target(kind: str, *, control_url: str | None = None,
            dns: tuple[str, ...] = ()) -> Target:
    return Target(name="t", kind=kind,  # type: ignore[arg-type]
                  primary=RegionConnection("us-east-1", "maip-prod"),
                  secondary=RegionConnection("us-west-2", "maip-prod-dr"),
                  control_url=control_url, dns_nameservers=dns)


def test_resolver_for_each_kind() -> None:
    assert isinstance(resolver_for(_target("live")), SystemResolver)
    simulated = resolver_for(_target("sim", control_url="http://127.0.0.1:9"))
    assert isinstance(simulated, SimulationResolver)
    live_dns = resolver_for(_target("live", dns=("10.0.0.2:53",)))
    assert isinstance(live_dns, DnsResolver) and live_dns.connect_to is None
    assert [str(ns) for ns in live_dns.nameservers] == ["10.0.0.2:53"]
    for kind in ("sim", "embedded"):
        sim_dns = resolver_for(_target(kind, control_url="http://127.0.0.1:9/",
                                       dns=("127.0.0.1:5353",)))
        assert isinstance(sim_dns, DnsResolver)
        assert [str(ns) for ns in sim_dns.nameservers] == ["simulated 127.0.0.1:5353"]
        assert isinstance(sim_dns.connect_to, SimulationAddressPlan)
        assert sim_dns.connect_to.control_url == "http://127.0.0.1:9"


def test_resolver_for_names_the_key_of_a_bad_nameserver() -> None:
    with pytest.raises(ConfigError) as raised:
        resolver_for(_target("live", dns=("resolver.example",)))
    assert raised.value.key == "targets.t.dns_nameservers"
    assert str(raised.value).startswith("targets.t.dns_nameservers: not a resolver")


def test_choosing_imports_neither_requests_nor_dnspython() -> None:
    code = ("import json, sys\n"
            "import maip_drlib.resolvers, maip_drlib.config_loader, maip_drlib.sim.envfile\n"
            "print(json.dumps([m for m in ('requests', 'dns', 'dns.resolver') "
            "if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# -- the address plan over the control server ------------------------------------------------


def _zone() -> FlippableZone:
    """The failover pair and one simple record."""
    return FlippableZone(ZONE, f"{API}.", EAST_ALB, WEST_ALB, extra=(
        RecordSetFact(f"plain.{ZONE}", "A", "simple", values=("192.0.2.10",), ttl=60),))


class PlaneStandIn:
    """What the control server reads of a data plane: the plan document (None: off)."""

    def __init__(self, plan: AddressPlan | None, nameserver: str = "") -> None:
        self.plan = plan
        self.nameserver = nameserver

    def dns_plan_document(self) -> dict[str, Any] | None:
        if self.plan is None:
            return None
        return {"simulated": True, "nameserver": self.nameserver,
                "addresses": plan_document(self.plan)}


class SimulationStandIn:
    def __init__(self) -> None:
        self.data_plane: PlaneStandIn | None = None
        self.faults = None

    def resolve(self, name: str) -> dict[str, Any]:
        raise LookupError(name)

    def status(self) -> dict[str, Any]:
        return {"simulated": True}


@pytest.fixture(scope="module")
def plan() -> AddressPlan:
    plan = AddressPlan()
    plan.register(EAST_ALB, "us-east-1", port=EAST_PORT)
    plan.register(WEST_ALB, "us-west-2", port=WEST_PORT)
    return plan


@pytest.fixture(scope="module")
def zone() -> FlippableZone:
    return _zone()


@pytest.fixture(scope="module")
def dns_server(zone: FlippableZone, plan: AddressPlan) -> Iterator[SimDnsServer]:
    with SimDnsServer(ZoneResolver(zone, alias_addresses=plan.addresses, alias_ttl=1)) as running:
        yield running


@pytest.fixture(scope="module")
def stand_in() -> SimulationStandIn:
    return SimulationStandIn()


@pytest.fixture(scope="module")
def control(stand_in: SimulationStandIn) -> Iterator[str]:
    server = ControlServer(stand_in)  # type: ignore[arg-type]
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def plane_on(stand_in: SimulationStandIn, plan: AddressPlan,
             dns_server: SimDnsServer) -> Iterator[PlaneStandIn]:
    stand_in.data_plane = PlaneStandIn(plan, dns_server.nameserver)
    yield stand_in.data_plane
    stand_in.data_plane = None


def test_dns_plan_route_serves_the_plan_marked_simulated(control: str, plan: AddressPlan,
                                                         plane_on: PlaneStandIn) -> None:
    east, west = plan.addresses(EAST_ALB)[0], plan.addresses(WEST_ALB)[0]
    document = requests.get(f"{control}/dns/plan", timeout=5).json()
    assert document["simulated"] is True and document["nameserver"] == plane_on.nameserver
    assert document["addresses"] == {
        east: {"port": EAST_PORT, "region": "us-east-1", "alb_dns_name": EAST_ALB},
        west: {"port": WEST_PORT, "region": "us-west-2", "alb_dns_name": WEST_ALB}}
    one = requests.get(f"{control}/dns/plan", params={"address": west}, timeout=5)
    assert one.json() == {"simulated": True, "address": west, "port": WEST_PORT,
                          "region": "us-west-2", "alb_dns_name": WEST_ALB}
    text = requests.get(f"{control}/dns/plan", params={"address": west,
                                                       "format": "connect-to"}, timeout=5)
    assert text.status_code == 200 and text.text == f"127.0.0.1:{WEST_PORT}"
    unknown = requests.get(f"{control}/dns/plan", params={"address": "192.0.2.10"}, timeout=5)
    assert unknown.status_code == 404 and "not in the simulated DNS plan" in \
        unknown.json()["error"]


def test_dns_plan_route_is_404_with_the_data_plane_off(control: str) -> None:
    answer = requests.get(f"{control}/dns/plan", timeout=5)
    assert answer.status_code == 404
    assert answer.json() == {"error": NO_DNS_PLAN, "simulated": True}
    with pytest.raises(NotFound, match=r"/dns/plan: no DNS address plan: the simulation's "
                                       "data plane is off"):
        SimulationAddressPlan(control)("127.100.0.1", 443)


def test_dns_resolver_maps_the_answer_through_the_plan(control: str, zone: FlippableZone,
                                                       plane_on: PlaneStandIn,
                                                       dns_server: SimDnsServer) -> None:
    target = _target("sim", control_url=control, dns=(dns_server.nameserver,))
    resolver = resolver_for(target)
    zone.primary_healthy = True
    try:
        east = resolver.resolve(API, 443)
        assert (east.host, east.port) == ("127.0.0.1", EAST_PORT)
        assert east.detail.startswith("DNS 127.100.0.")
        assert f"via simulated {dns_server.nameserver}, ALB {EAST_ALB}, region us-east-1" in \
            east.detail
        zone.primary_healthy = False
        west = resolver.resolve(API, 443)
        assert (west.host, west.port) == ("127.0.0.1", WEST_PORT)
        assert west.detail.endswith(f"ALB {WEST_ALB}, region us-west-2")
        # An address outside the plan is connected to as answered (as a real client does).
        plain = resolver.resolve(f"plain.{ZONE}", 443)
        assert (plain.host, plain.port, plain.detail) == (
            "192.0.2.10", 443, f"DNS 192.0.2.10 via simulated {dns_server.nameserver}")
        with pytest.raises(NotFound, match="NXDOMAIN"):
            resolver.resolve(f"missing.{ZONE}", 443)
    finally:
        zone.primary_healthy = True


def test_the_plan_is_fetched_lazily_once_and_again_on_a_miss(
        control: str, stand_in: SimulationStandIn) -> None:
    plan = AddressPlan()
    plan.register(EAST_ALB, "us-east-1", port=EAST_PORT)
    plan.register(WEST_ALB, "us-west-2", port=WEST_PORT)
    stand_in.data_plane = PlaneStandIn(plan)
    mapper = SimulationAddressPlan(control)
    fetched: list[int] = []
    real_fetch = mapper.fetch

    def counting_fetch() -> dict[str, dict[str, Any]]:
        fetched.append(1)
        return real_fetch()

    mapper.fetch = counting_fetch  # type: ignore[method-assign]
    east = plan.addresses(EAST_ALB)[0]
    assert mapper(east, 443) == ("127.0.0.1", EAST_PORT,
                                 f"ALB {EAST_ALB}, region us-east-1")
    assert mapper(plan.addresses(WEST_ALB)[0], 443)[1] == WEST_PORT  # type: ignore[index]
    assert len(fetched) == 1
    assert mapper("192.0.2.10", 443) is None  # a miss asks again
    assert len(fetched) == 2
    added = plan.register("late-alb-1.us-west-2.elb.amazonaws.com", "us-west-2", port=38443)
    try:
        assert mapper(added.addresses[0], 443) == (
            "127.0.0.1", 38443, "ALB late-alb-1.us-west-2.elb.amazonaws.com, region us-west-2")
        assert len(fetched) == 3
    finally:
        stand_in.data_plane = None


def test_an_unreachable_control_server_is_unreachable_and_must_be_loopback() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable, match="did not answer"):
        SimulationAddressPlan(f"http://127.0.0.1:{port}", timeout_s=1)("127.100.0.1", 443)
    with pytest.raises(ConfigError, match="must be loopback"):
        SimulationAddressPlan("http://10.0.0.5:8080")
