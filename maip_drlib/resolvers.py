"""Pluggable address resolution for the public endpoint, and the choice of one per target.

``SystemResolver`` asks the operating system (``socket.getaddrinfo``). ``SimulationResolver``
asks a running simulation's control server, ``GET {control_url}/dns/resolve?name=<hostname>``,
which answers ``{"name", "address", "port", "region", "alb_dns_name"}``: that is how the
simulated Route 53 decision (failover, weights) reaches a client on loopback.
``maip_drlib.dns_answers.DnsResolver`` asks real DNS servers (dnspython).

``resolver_for(target)`` is the one place that chooses: a target with ``dns_nameservers`` gets a
``DnsResolver`` over them; else a target with a control URL (a simulation) the
``SimulationResolver``; else the ``SystemResolver``. A live ``DnsResolver`` connects to the
address the answer gives, as clients do. A simulated one maps the answered address through
the control server's address plan (``SimulationAddressPlan``, ``GET /dns/plan``): the
simulation's DNS server answers each ALB with its own planned loopback address (127.100.0.x)
while the ALB's endpoint really listens on 127.0.0.1 and its own port. That mapping is the
only simulated piece; real ALBs listen on the answered address itself.

Not supported: DNS record types other than address lookups, DNSSEC, choosing among several
addresses (the first is used), a control URL that is not loopback, and resolvers given as host
names. ``requests`` and dnspython are imported when first used (import time matters).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from maip_drlib.errors import ConfigError, NotFound, Unreachable
from maip_drlib.loopback import is_loopback_host

if TYPE_CHECKING:
    from maip_drlib.config import Target

# Every simulated endpoint listens on this address (and its own port).
SIMULATION_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ResolvedAddress:
    """Where to connect for a hostname, and how the answer was obtained."""

    host: str
    port: int
    detail: str = ""
    # The answer's TTL when a DNS server gave one (DnsResolver); None otherwise.
    ttl_s: float | None = None

    def __str__(self) -> str:
        text = f"{self.host}:{self.port}"
        return f"{text} ({self.detail})" if self.detail else text


class Resolver(Protocol):
    def resolve(self, hostname: str, port: int) -> ResolvedAddress: ...


class SystemResolver:
    """The operating system's resolver (first TCP address)."""

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        try:
            answers = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NotFound(f"cannot resolve {hostname}: {error.strerror or error}") from error
        if not answers:
            raise NotFound(f"cannot resolve {hostname}: no address")
        address = answers[0][4]
        return ResolvedAddress(host=str(address[0]), port=int(address[1]), detail="system DNS")


class SimulationResolver:
    """Asks the simulation's loopback control server what ``hostname`` resolves to now."""

    def __init__(self, control_url: str, *, timeout_s: float = 2.0):
        self.control_url = _loopback_control_url(control_url)
        self.timeout_s = timeout_s

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        url = f"{self.control_url}/dns/resolve"
        response = _control_get(url, self.timeout_s, params={"name": hostname},
                                not_found=f"simulated DNS has no answer for {hostname}")
        try:
            answer = response.json()
            host, answer_port = str(answer["address"]), int(answer.get("port") or port)
        except (ValueError, KeyError, TypeError) as error:
            raise Unreachable(f"simulation DNS at {url} gave an unreadable answer: {error}",
                              target="simulation control") from error
        detail = "simulated DNS"
        if answer.get("region"):
            detail += f", region {answer['region']}"
        if answer.get("alb_dns_name"):
            detail += f", ALB {answer['alb_dns_name']}"
        return ResolvedAddress(host=host, port=answer_port, detail=detail)


def _loopback_control_url(control_url: str) -> str:
    if not is_loopback_host(urlsplit(control_url).hostname):
        raise ConfigError(f"simulation control URL must be loopback, got {control_url!r}",
                          key="control_url")
    return control_url.rstrip("/")


class SimulationAddressPlan:
    """``connect_to`` of a ``DnsResolver`` against a simulation's DNS server (simulated).

    The simulation's DNS server answers each ALB with a planned loopback address that nothing
    listens on; its control server's ``GET /dns/plan`` says, per planned address, the ALB, its
    region and the loopback port its endpoint really listens on. A call maps an answered
    address to ``(127.0.0.1, that port, "ALB <name>, region <region>")``, or None when the
    address is not planned (then the client connects to it as answered). The plan is fetched
    on the first call and fetched again when an address is missing from it (a restarted
    simulation plans anew). A control server that does not answer is ``Unreachable``; one
    without a plan (data plane off) is ``NotFound``.
    """

    def __init__(self, control_url: str, *, timeout_s: float = 2.0):
        self.control_url = _loopback_control_url(control_url)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._plan: dict[str, dict[str, Any]] | None = None

    def __call__(self, address: str, port: int) -> tuple[str, int, str] | None:
        with self._lock:
            plan = self._plan
        entry = plan.get(address) if plan is not None else None
        if entry is None:
            plan = self.fetch()
            entry = plan.get(address)
        if entry is None:
            return None
        planned_port = entry.get("port")
        what = (f"ALB {entry.get('alb_dns_name') or 'unknown'}, "
                f"region {entry.get('region') or 'unknown'}")
        return SIMULATION_HOST, int(planned_port) if planned_port else port, what

    def fetch(self) -> dict[str, dict[str, Any]]:
        """The control server's plan now: planned address -> {port, region, alb_dns_name}."""
        url = f"{self.control_url}/dns/plan"
        response = _control_get(url, self.timeout_s)
        try:
            addresses = response.json()["addresses"]
            plan = {str(address): dict(entry) for address, entry in addresses.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise Unreachable(f"simulation control at {url} gave an unreadable DNS plan: "
                              f"{error}", target="simulation control") from error
        with self._lock:
            self._plan = plan
        return plan


def _control_get(url: str, timeout_s: float, *, params: dict[str, str] | None = None,
                 not_found: str | None = None) -> Any:
    """GET ``url`` of a simulation's control server: the 200 response, or ``Unreachable``
    (no answer, an unexpected status) or ``NotFound`` (404; ``not_found`` is its message)."""
    import requests

    try:
        response = requests.get(url, params=params, timeout=timeout_s)
    except requests.RequestException as error:
        raise Unreachable(f"simulation control at {url} did not answer: {error}",
                          target="simulation control") from error
    if response.status_code == 404:
        raise NotFound(not_found or f"simulation control at {url}: {_error_text(response)}")
    if response.status_code != 200:
        raise Unreachable(f"simulation control at {url} answered HTTP {response.status_code}: "
                          f"{_error_text(response)}", target="simulation control")
    return response


def _error_text(response: Any) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200].replace("\n", " ") or "no detail"


def resolver_for(target: Target, *, timeout_s: float = 2.0) -> Resolver:
    """The resolver the drill uses for ``target`` (module docstring: which, and why)."""
    if target.dns_nameservers:
        from maip_drlib.dns_answers import DnsResolver, parse_nameserver

        label = "simulated" if target.simulated else ""
        try:
            nameservers = [parse_nameserver(text, label=label)
                           for text in target.dns_nameservers]
        except ConfigError as error:
            raise ConfigError(str(error).removeprefix("resolvers: "),
                              key=f"targets.{target.name}.dns_nameservers") from None
        connect_to = (SimulationAddressPlan(target.control_url, timeout_s=timeout_s)
                      if target.simulated and target.control_url else None)
        return DnsResolver(nameservers, timeout_s=timeout_s, connect_to=connect_to)
    if target.control_url:
        return SimulationResolver(target.control_url, timeout_s=timeout_s)
    return SystemResolver()
