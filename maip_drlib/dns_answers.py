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

The parts: ``dns_query`` (resolvers and one question), ``dns_switch`` (waiting for the
switch), ``dns_weights`` (weighted answers); this module holds ``DnsResolver`` and re-exports
the parts' names.
"""

from __future__ import annotations

from collections.abc import Sequence

from maip_drlib.dns_query import (
    DEFAULT_MARGIN_S,
    DEFAULT_QUERY_TIMEOUT_S,
    ConnectTo,
    DnsObservation,
    Nameserver,
    Require,
    authoritative_nameservers,
    parse_nameserver,
    query,
    system_nameservers,
)
from maip_drlib.dns_switch import (
    DnsAnswerCheck,
    DnsAnswerNotSeen,
    wait_for_answer,
)
from maip_drlib.dns_weights import (
    WeightSample,
    sample_answers,
    weights_within,
)
from maip_drlib.errors import ConfigError, NotFound, Unreachable
from maip_drlib.resolvers import ResolvedAddress

__all__ = [
    "DEFAULT_MARGIN_S",
    "DEFAULT_QUERY_TIMEOUT_S",
    "ConnectTo",
    "DnsAnswerCheck",
    "DnsAnswerNotSeen",
    "DnsObservation",
    "DnsResolver",
    "Nameserver",
    "Require",
    "WeightSample",
    "authoritative_nameservers",
    "parse_nameserver",
    "query",
    "sample_answers",
    "system_nameservers",
    "wait_for_answer",
    "weights_within",
]


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
