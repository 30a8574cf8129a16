"""DNS answers for one hosted zone, computed per query from a ``ZoneSource`` (dnslib resolver).

``ZoneResolver.resolve(request, handler)`` is dnslib's resolver interface. For a name in the
zone it answers authoritatively (AA set, no recursion):

- record sets of the asked type are routed (``routing.choose``: simple, failover honouring
  health checks, weighted in proportion); plain values are answered with the record's TTL;
- an alias answers under the asked name: an alias to a name in the zone is followed (up to
  ``MAX_CHAIN`` steps), any other target (a load balancer) gets the addresses
  ``alias_addresses(target, type)`` gives, with ``alias_ttl`` (Route 53 uses the target's TTL,
  60 s for a load balancer);
- a CNAME answers any other type, and is followed when it points into the zone;
- a name with records of other types only: NOERROR with no answer (the SOA in authority);
- a name without records: NXDOMAIN (the SOA in authority).

Names outside the zone are REFUSED, except (``serve_alias_targets``) the alias targets that
``alias_addresses`` knows, so that a client can learn the expected addresses of a load
balancer through the same server. A zone that cannot be read, and routing this server does
not evaluate, answer SERVFAIL (``last_error`` says why).

Not supported: ANY queries (NOTIMP), opcodes other than QUERY (NOTIMP), wildcard records,
delegations to sub-zones (NS below the apex are answered as plain data), DNSSEC, EDNS client
subnet, latency/geolocation/multivalue routing (SERVFAIL), TTL countdown (every answer carries
the full TTL).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from typing import Any

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

from maip_drlib.sim.dns.records import RecordSet, fqdn
from maip_drlib.sim.dns.routing import TargetHealth, choose
from maip_drlib.sim.dns.zone import ZoneData, ZoneSource

AliasAddresses = Callable[[str, str], tuple[str, ...]]

MAX_CHAIN = 8
DEFAULT_ALIAS_TTL = 60
# moto 5.2.5 stores the apex SOA value as the repr of a dict: "{'Value': '<soa rdata>'}".
_WRAPPED_VALUE = re.compile(r"""^\{\s*'Value'\s*:\s*'(?P<value>[^']*)'\s*\}$""")


def _no_addresses(_name: str, _record_type: str) -> tuple[str, ...]:
    return ()


def _always_healthy(_name: str) -> bool:
    return True


def _unwrap(value: str) -> str:
    match = _WRAPPED_VALUE.match(value.strip())
    return match.group("value") if match else value


class ZoneResolver:
    """dnslib resolver answering for one zone; thread-safe (``seed`` makes weights repeatable)."""

    def __init__(self, zone: ZoneSource, *, alias_addresses: AliasAddresses = _no_addresses,
                 target_healthy: TargetHealth = _always_healthy,
                 alias_ttl: int = DEFAULT_ALIAS_TTL, seed: int | None = None,
                 serve_alias_targets: bool = True):
        self.zone = zone
        self._alias_addresses = alias_addresses
        self._target_healthy = target_healthy
        self._alias_ttl = alias_ttl
        self._serve_alias_targets = serve_alias_targets
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.last_error: str | None = None

    # dnslib's interface -----------------------------------------------------------------

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply(ra=0, aa=1)
        if request.header.opcode != 0 or request.q.qtype == QTYPE.ANY:
            reply.header.rcode = RCODE.NOTIMP
            return reply
        qname = str(request.q.qname)
        qtype = QTYPE.get(request.q.qtype, str(request.q.qtype))
        try:
            zone = self.zone()
            if zone.contains(qname):
                self._in_zone(zone, reply, qname, qtype)
            else:
                self._outside(reply, qname, qtype)
        except Exception as error:  # a DNS server answers SERVFAIL, never crashes a thread
            self.last_error = f"{qname} {qtype}: {type(error).__name__}: {error}"
            reply = request.reply(ra=0, aa=0)
            reply.header.rcode = RCODE.SERVFAIL
        return reply

    # Answers ---------------------------------------------------------------------------

    def _outside(self, reply: DNSRecord, qname: str, qtype: str) -> None:
        known = self._alias_addresses(qname, "A") if self._serve_alias_targets else ()
        if not known:
            reply.header.aa = 0
            reply.header.rcode = RCODE.REFUSED
            return
        for rr in self._address_rrs(qname, qname, qtype):
            reply.add_answer(rr)

    def _in_zone(self, zone: ZoneData, reply: DNSRecord, qname: str, qtype: str) -> None:
        owner = qname
        for _ in range(MAX_CHAIN):
            records = zone.named(owner)
            if not records:
                if owner == qname:
                    reply.header.rcode = RCODE.NXDOMAIN
                    self._add_soa(zone, reply)
                return
            same = [record for record in records if record.type == qtype]
            cname = [record for record in records if record.type == "CNAME"]
            if not same and cname and qtype != "CNAME":
                target = fqdn(cname[0].values[0]) if cname[0].values else ""
                reply.add_answer(*RR.fromZone(f"{owner} {cname[0].ttl or 0} IN CNAME {target}"))
                if not target or not zone.contains(target):
                    return
                owner = target
                continue
            if not same:
                self._add_soa(zone, reply)
                return
            answers = self._routed(zone, owner, same, qtype)
            if not answers:
                self._add_soa(zone, reply)
            for rr in answers:
                reply.add_answer(rr)
            return
        raise RecursionError(f"CNAME chain from {qname} longer than {MAX_CHAIN}")

    def _routed(self, zone: ZoneData, owner: str, records: list[RecordSet],
                qtype: str) -> list[RR]:
        """The answer RRs (under ``owner``) for these record sets, aliases followed."""
        for _ in range(MAX_CHAIN):
            with self._rng_lock:
                chosen = choose(records, zone.healthy, self._target_healthy, self._rng)
            if chosen.alias is None:
                return self._value_rrs(owner, chosen, qtype)
            target = fqdn(chosen.alias.dns_name)
            if not zone.contains(target):
                return self._address_rrs(owner, target, qtype)
            records = [r for r in zone.named(target) if r.type == qtype]
            if not records:
                return []
        raise RecursionError(f"alias chain from {owner} longer than {MAX_CHAIN}")

    def _value_rrs(self, owner: str, record: RecordSet, qtype: str) -> list[RR]:
        ttl = record.ttl if record.ttl is not None else 0
        rrs: list[RR] = []
        for value in record.values:
            rrs.extend(RR.fromZone(f"{owner} {ttl} IN {qtype} {_unwrap(value)}"))
        return rrs

    def _address_rrs(self, owner: str, target: str, qtype: str) -> list[RR]:
        if qtype not in ("A", "AAAA"):
            return []
        rdata_class = A if qtype == "A" else AAAA
        return [RR(owner, getattr(QTYPE, qtype), rdata=rdata_class(address), ttl=self._alias_ttl)
                for address in self._alias_addresses(target.rstrip("."), qtype)]

    def _add_soa(self, zone: ZoneData, reply: DNSRecord) -> None:
        soa = next((r for r in zone.named(zone.zone) if r.type == "SOA" and r.values), None)
        if soa is not None:
            try:
                reply.add_auth(*RR.fromZone(
                    f"{zone.zone} {soa.ttl or 0} IN SOA {_unwrap(soa.values[0])}"))
                return
            except Exception:  # an unreadable SOA value: synthesize one below
                pass
        reply.add_auth(*RR.fromZone(
            f"{zone.zone} 60 IN SOA ns.{zone.zone} hostmaster.{zone.zone} 1 7200 900 1209600 60"))

