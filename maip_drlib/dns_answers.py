"""Real DNS answers, as clients get them: ask resolvers with dnspython, wait for the switch.

- ``Nameserver``: one resolver to ask (address, port, label). ``parse_nameserver`` reads
  ``ADDRESS[:PORT]`` (``[v6]:PORT``); ``system_nameservers`` the system's resolv.conf;
  ``authoritative_nameservers`` the zone's NS hosts, resolved through a resolver you name.
- ``query``: one question to one resolver, never raising: timeouts, refusals and error codes
  are ``DnsObservation``s that say so.
- ``wait_for_answer``: asks every resolver until each of them (or any, ``require="any"``)
  answers only addresses among the expected ones, within the record's TTL plus a margin
  (the suite's ``wait_for``); it returns a ``DnsAnswerCheck`` naming the name, the resolvers,
  the answers seen and the expected ones, or raises ``DnsAnswerNotSeen`` (a ``CheckFailed``)
  carrying the same check and its verdict.
- ``sample_answers``: N queries to one resolver, the observed proportions of each answer;
  ``WeightSample.shares`` groups them (region -> addresses) to compare with record weights.
- ``DnsResolver``: the suite's ``Resolver`` (``maip_drlib.resolvers``) over real DNS, so the
  endpoint checks connect to the address the answer gives (``connect_to`` maps an answered
  address to where it is really served, as the simulation needs).

In a simulation the resolver is the simulation's DNS server on 127.0.0.1; live, the system's
or named resolvers, optionally each authoritative name server of the zone (recursive resolvers
cache a weighted answer for its TTL: sample weights against authoritative servers).

Not supported: DNSSEC validation, DNS over TLS/HTTPS, EDNS client subnet, search domains
(names are absolute), resolvers that need a source address, record types other than
address-like ones (``A``, ``AAAA``; CNAME chains are followed in the answer), interrupting a
query mid-way (each has its own ``timeout_s``).
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from maip_drlib.errors import CheckFailed, ConfigError, NotFound, Unreachable, WaitTimeout
from maip_drlib.resolvers import ResolvedAddress
from maip_drlib.waits import WaitSpec, wait_for

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


# --- Waiting for the switch ------------------------------------------------------------------


@dataclass(frozen=True)
class DnsAnswerCheck:
    """Whether resolvers give the expected addresses for a name, and what they gave."""

    name: str
    record_type: str
    expected: tuple[str, ...]
    resolvers: tuple[str, ...]
    observations: tuple[DnsObservation, ...]
    passed: bool
    require: Require = "all"
    deadline_s: float = 0.0
    elapsed_s: float = 0.0
    polls: int = 0

    @property
    def verdict(self) -> str:
        seen = "; ".join(str(observation) for observation in self.observations) or "nothing"
        wanted = ",".join(self.expected) or "nothing"
        if self.passed:
            return (f"{self.name} {self.record_type} answers {wanted} from {self.require} of "
                    f"{len(self.resolvers)} resolver(s) after {self.elapsed_s:.1f}s: {seen}")
        return (f"{self.name} {self.record_type} does not answer {wanted} from {self.require} "
                f"of {len(self.resolvers)} resolver(s) within {self.deadline_s:g}s "
                f"({self.polls} polls); last seen: {seen}")

    def __str__(self) -> str:
        return self.verdict


class DnsAnswerNotSeen(CheckFailed):
    """The expected answer was not seen by the deadline; ``check`` has every detail."""

    def __init__(self, check: DnsAnswerCheck):
        self.check = check
        super().__init__(check.verdict)  # the verdict names the expected and the seen answers
        self.resource = f"DNS {check.name} {check.record_type}"
        self.expected = ",".join(check.expected)
        self.observed = "; ".join(str(o) for o in check.observations)

    def __reduce__(self) -> tuple[type[DnsAnswerNotSeen], tuple[DnsAnswerCheck]]:
        return (DnsAnswerNotSeen, (self.check,))


@dataclass(frozen=True)
class _Round:
    observations: tuple[DnsObservation, ...]

    def __str__(self) -> str:
        return "; ".join(str(observation) for observation in self.observations)


def wait_for_answer(
    name: str,
    expected: Iterable[str],
    resolvers: Sequence[Nameserver],
    *,
    ttl_s: float | None = None,
    margin_s: float = DEFAULT_MARGIN_S,
    record_type: str = "A",
    require: Require = "all",
    poll_initial_s: float = 0.2,
    poll_max_s: float = 2.0,
    timeout_s: float = DEFAULT_QUERY_TIMEOUT_S,
    tcp: bool = False,
    on_poll: Callable[[str, float], None] | None = None,
) -> DnsAnswerCheck:
    """Ask ``resolvers`` until they answer ``name`` with ``expected`` addresses only.

    The deadline is ``ttl_s`` (the record's TTL; None: the largest TTL of the first answers)
    plus ``margin_s``, counted from the first round. Returns the passing check as soon as a
    round matches; raises ``DnsAnswerNotSeen`` with the last round at the deadline. In a
    simulation pass ``ttl_s`` and ``margin_s`` already scaled to its clock.
    """
    wanted = tuple(sorted(set(expected)))
    if not wanted:
        raise ConfigError(f"no expected addresses given for {name}", key="expected")
    if not resolvers:
        raise ConfigError(f"no resolver to ask about {name}", key="resolvers")
    if require not in ("all", "any"):
        raise ConfigError(f"require must be 'all' or 'any', got {require!r}", key="require")
    labels = tuple(str(resolver) for resolver in resolvers)
    judge = all if require == "all" else any
    started = time.monotonic()
    polls = 0

    def observe() -> _Round:
        nonlocal polls
        polls += 1
        return _Round(tuple(query(resolver, name, record_type, timeout_s=timeout_s, tcp=tcp)
                            for resolver in resolvers))

    def success(round_: _Round) -> bool:
        return judge(observation.matches(wanted) for observation in round_.observations)

    def check(round_: _Round, passed: bool, deadline: float) -> DnsAnswerCheck:
        return DnsAnswerCheck(name=name, record_type=record_type, expected=wanted,
                              resolvers=labels, observations=round_.observations,
                              passed=passed, require=require, deadline_s=deadline,
                              elapsed_s=time.monotonic() - started, polls=polls)

    first = observe()
    ttls = [o.ttl for o in first.observations if o.ttl is not None]
    deadline = (ttl_s if ttl_s is not None else float(max(ttls, default=0))) + margin_s
    if success(first):
        return check(first, True, deadline)
    spec = WaitSpec(description=f"{name} {record_type} to answer {','.join(wanted)} from "
                                f"{require} of {', '.join(labels)}",
                    deadline_s=max(deadline - (time.monotonic() - started), 0.001),
                    poll_initial_s=poll_initial_s, poll_max_s=poll_max_s)
    progress = None if on_poll is None else (lambda r, elapsed: on_poll(str(r), elapsed))
    try:
        outcome = wait_for(spec, observe, success=success, on_poll=progress)
    except WaitTimeout as timeout:
        last = timeout.last_observed if isinstance(timeout.last_observed, _Round) else first
        raise DnsAnswerNotSeen(check(last, False, deadline)) from timeout
    return check(outcome.value, True, deadline)


# --- Weighted answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightSample:
    """N answers of one resolver for one name: how often each answer (address set) came."""

    resolver: str
    name: str
    record_type: str
    queries: int
    counts: Mapping[tuple[str, ...], int] = field(default_factory=dict)
    failures: Mapping[str, int] = field(default_factory=dict)

    @property
    def proportions(self) -> dict[str, float]:
        """Each answer (comma-joined addresses) -> its share of all queries."""
        return {",".join(answer): count / self.queries for answer, count in self.counts.items()}

    def shares(self, groups: Mapping[str, Iterable[str]]) -> dict[str, float]:
        """Share of all queries answered within each group's addresses (e.g. per region)."""
        result: dict[str, float] = {}
        for label, addresses in groups.items():
            allowed = set(addresses)
            hits = sum(count for answer, count in self.counts.items()
                       if answer and set(answer) <= allowed)
            result[label] = hits / self.queries
        return result

    def __str__(self) -> str:
        parts = [f"{share:.0%} {answer}" for answer, share in sorted(self.proportions.items())]
        parts += [f"{count} {rcode}" for rcode, count in sorted(self.failures.items())]
        return f"{self.resolver}: {self.name} {self.record_type} x{self.queries}: " + \
            ", ".join(parts)


def sample_answers(nameserver: Nameserver, name: str, queries: int = 100, *,
                   record_type: str = "A",
                   timeout_s: float = DEFAULT_QUERY_TIMEOUT_S) -> WeightSample:
    """Ask ``nameserver`` ``queries`` times and count the answers (failures by code)."""
    if queries < 1:
        raise ConfigError("sample at least one query", key="queries")
    counts: Counter[tuple[str, ...]] = Counter()
    failures: Counter[str] = Counter()
    for _ in range(queries):
        answer = query(nameserver, name, record_type, timeout_s=timeout_s)
        if answer.rcode == "NOERROR" and answer.addresses:
            counts[answer.addresses] += 1
        else:
            failures[answer.rcode] += 1
    return WeightSample(resolver=str(nameserver), name=name, record_type=record_type,
                        queries=queries, counts=dict(counts), failures=dict(failures))


def weights_within(sample: WeightSample, groups: Mapping[str, Iterable[str]],
                   weights: Mapping[str, int], tolerance: float = 0.1) -> tuple[bool, str]:
    """Whether each group's observed share is within ``tolerance`` of its weight share."""
    total = sum(weights.values())
    shares = sample.shares(groups)
    lines = []
    passed = True
    for label in groups:
        wanted = weights.get(label, 0) / total if total else 1 / len(groups)
        seen = shares.get(label, 0.0)
        ok = abs(seen - wanted) <= tolerance
        passed &= ok
        lines.append(f"{label} {seen:.0%} (weight share {wanted:.0%}){'' if ok else ' OFF'}")
    return passed, f"{sample.name} over {sample.queries} queries: " + ", ".join(lines)


# --- The endpoint checks' resolver -----------------------------------------------------------


class DnsResolver:
    """``Resolver.resolve(hostname, port)`` by asking ``nameservers`` in order (first answer).

    NXDOMAIN from every resolver is ``NotFound``; no answer at all is ``Unreachable`` (a wait
    polls through it). With several addresses the first (sorted) is used.
    """

    def __init__(self, nameservers: Sequence[Nameserver], *, record_type: str = "A",
                 timeout_s: float = DEFAULT_QUERY_TIMEOUT_S,
                 connect_to: ConnectTo | None = None):
        if not nameservers:
            raise ConfigError("no resolver configured", key="resolvers")
        self.nameservers = tuple(nameservers)
        self.record_type = record_type
        self.timeout_s = timeout_s
        self.connect_to = connect_to

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        seen: list[DnsObservation] = []
        for nameserver in self.nameservers:
            answer = query(nameserver, hostname, self.record_type, timeout_s=self.timeout_s)
            if answer.rcode == "NOERROR" and answer.addresses:
                address = answer.addresses[0]
                detail = f"DNS {address} via {nameserver}"
                mapped = self.connect_to(address, port) if self.connect_to else None
                if mapped is None:
                    return ResolvedAddress(host=address, port=port, detail=detail,
                                           ttl_s=answer.ttl)
                host, real_port, what = mapped
                return ResolvedAddress(host=host, port=real_port, detail=f"{detail}, {what}",
                                       ttl_s=answer.ttl)
            seen.append(answer)
        text = "; ".join(str(answer) for answer in seen)
        if seen and all(answer.rcode == "NXDOMAIN" for answer in seen):
            raise NotFound(f"cannot resolve {hostname}: {text}")
        raise Unreachable(f"no DNS answer for {hostname}: {text}", target="DNS")
