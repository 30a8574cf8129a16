"""One DNS question to one resolver, as a client asks it (dnspython), never raising.

``Nameserver`` and ``parse_nameserver`` (``ADDRESS[:PORT]``, ``[v6]:PORT``),
``system_nameservers`` (resolv.conf), ``query`` (timeouts, refusals and error codes are
``DnsObservation``s that say so) and ``authoritative_nameservers`` (a zone's NS hosts, resolved
through a resolver you name). Not supported: DNSSEC validation, DNS over TLS/HTTPS, search
domains (names are absolute), record types other than address-like ones.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from maip_drlib.errors import CheckFailed, ConfigError

DEFAULT_MARGIN_S = 10.0
DEFAULT_QUERY_TIMEOUT_S = 2.0
Require = Literal["all", "any"]
# answered address, port -> (host, port, what it is) to connect to instead; None: as answered.
ConnectTo = Callable[[str, int], tuple[str, int, str] | None]


@dataclass(frozen=True)
class Nameserver:
    """A resolver to ask: address, port and what it is (``system``, an NS host name...)."""

    address: str
    port: int = 53
    label: str = ""

    def __post_init__(self) -> None:
        ipaddress.ip_address(self.address)  # a resolver is an address, never a host name
        if not 0 < self.port < 65536:
            raise ValueError(f"nameserver port out of range: {self.port}")

    def __str__(self) -> str:
        where = f"[{self.address}]:{self.port}" if ":" in self.address else \
            f"{self.address}:{self.port}"
        return f"{self.label} {where}" if self.label else where


def parse_nameserver(text: str, *, default_port: int = 53, label: str = "") -> Nameserver:
    """``127.0.0.1:5353``, ``10.0.0.2``, ``[::1]:53`` or ``::1`` -> ``Nameserver``."""
    text = text.strip()
    try:
        if text.startswith("["):
            address, _, rest = text[1:].partition("]")
            port = int(rest.removeprefix(":")) if rest else default_port
        elif text.count(":") == 1:
            address, port_text = text.split(":")
            port = int(port_text)
        else:
            address, port = text, default_port
        return Nameserver(address, port, label)
    except ValueError as error:
        raise ConfigError(f"not a resolver address[:port]: {text!r} ({error})",
                          key="resolvers") from error


def system_nameservers(filename: str | None = None) -> tuple[Nameserver, ...]:
    """The resolvers of the system configuration (resolv.conf), labelled ``system``."""
    resolver = (dns.resolver.Resolver(filename=filename) if filename
                else dns.resolver.Resolver())
    return tuple(Nameserver(str(address), int(resolver.port), "system")
                 for address in resolver.nameservers)


@dataclass(frozen=True)
class DnsObservation:
    """One answer: who was asked what, the response code and the addresses it gave."""

    resolver: str
    name: str
    record_type: str
    rcode: str
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    error: str | None = None
    elapsed_ms: float = 0.0

    def matches(self, expected: Iterable[str]) -> bool:
        """Answered, with at least one address, every one of them expected."""
        wanted = set(expected)
        return self.rcode == "NOERROR" and bool(self.addresses) and \
            set(self.addresses) <= wanted

    def __str__(self) -> str:
        seen = ",".join(self.addresses) or "no address"
        text = f"{self.resolver}: {self.name} {self.record_type} -> {self.rcode} {seen}"
        if self.ttl is not None:
            text += f" (ttl {self.ttl})"
        return f"{text}: {self.error}" if self.error else text


def query(nameserver: Nameserver, name: str, record_type: str = "A", *,
          timeout_s: float = DEFAULT_QUERY_TIMEOUT_S, tcp: bool = False) -> DnsObservation:
    """Ask ``nameserver`` once (UDP, TCP when truncated or ``tcp``); never raises for DNS."""
    qname = dns.name.from_text(name)
    rdtype = dns.rdatatype.from_text(record_type)
    message = dns.message.make_query(qname, rdtype)
    started = time.monotonic()

    def observed(rcode: str, **fields: object) -> DnsObservation:
        return DnsObservation(resolver=str(nameserver), name=qname.to_text(),
                              record_type=record_type, rcode=rcode,
                              elapsed_ms=(time.monotonic() - started) * 1000.0,
                              **fields)  # type: ignore[arg-type]

    try:
        if tcp:
            response = dns.query.tcp(message, nameserver.address, timeout=timeout_s,
                                     port=nameserver.port)
        else:
            response, _ = dns.query.udp_with_fallback(message, nameserver.address,
                                                      timeout=timeout_s, port=nameserver.port)
    except dns.exception.Timeout:
        return observed("TIMEOUT", error=f"no answer within {timeout_s:g}s")
    except (dns.exception.DNSException, OSError) as error:
        return observed("ERROR", error=f"{type(error).__name__}: {error}")
    addresses: list[str] = []
    ttls: list[int] = []
    for rrset in response.answer:
        if rrset.rdtype == rdtype:
            addresses.extend(rdata.to_text() for rdata in rrset)
            ttls.append(int(rrset.ttl))
    return observed(dns.rcode.to_text(response.rcode()), addresses=tuple(sorted(addresses)),
                    ttl=min(ttls) if ttls else None)


def authoritative_nameservers(zone: str, via: Sequence[Nameserver], *, port: int = 53,
                              timeout_s: float = DEFAULT_QUERY_TIMEOUT_S
                              ) -> tuple[Nameserver, ...]:
    """Each NS host of ``zone`` as a ``Nameserver`` (IPv4), asked through ``via``.

    NotFound-like outcomes are a ``CheckFailed`` naming what was seen.
    """
    seen: list[str] = []
    for resolver in via:
        hosts = _ns_hosts(resolver, zone, timeout_s)
        if not hosts:
            seen.append(f"{resolver}: no NS for {zone}")
            continue
        found: list[Nameserver] = []
        for host in hosts:
            answer = query(resolver, host, "A", timeout_s=timeout_s)
            seen.append(str(answer))
            found.extend(Nameserver(address, port, f"authoritative {host.rstrip('.')}")
                         for address in answer.addresses)
        if found:
            return tuple(dict.fromkeys(found))
    raise CheckFailed(f"no authoritative name server of {zone} could be resolved",
                      resource=zone, expected="NS hosts with addresses", observed="; ".join(seen))


def _ns_hosts(resolver: Nameserver, zone: str, timeout_s: float) -> tuple[str, ...]:
    message = dns.message.make_query(dns.name.from_text(zone), dns.rdatatype.NS)
    try:
        response, _ = dns.query.udp_with_fallback(message, resolver.address, timeout=timeout_s,
                                                  port=resolver.port)
    except (dns.exception.DNSException, OSError):
        return ()
    return tuple(sorted(rdata.to_text() for rrset in response.answer
                        if rrset.rdtype == dns.rdatatype.NS for rdata in rrset))
