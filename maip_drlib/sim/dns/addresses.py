"""Addresses the simulated DNS gives to alias targets (load balancers) it does not host.

In the simulation every endpoint listens on 127.0.0.1 with its own port, so an A record cannot
tell the regions apart by itself. An ``AddressPlan`` gives each registered target (an ALB DNS
name, with its region and the loopback port that really serves it) its own address from a
loopback network (127.100.0.0/24 by default): answers differ per region, a client that
connects to such an address directly is refused on this host (nothing leaves the machine), and
``lookup(address)`` tells a client where to connect instead (127.0.0.1 and the port).

Not supported: IPv6 addresses (AAAA answers are empty), more than the network's host
addresses, removing a registration.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass

DEFAULT_NETWORK = "127.100.0.0/24"


def _name(dns_name: str) -> str:
    return dns_name.strip().rstrip(".").lower().removeprefix("dualstack.")


@dataclass(frozen=True)
class PlannedTarget:
    """One alias target: its DNS name, region, planned addresses and the real loopback port."""

    dns_name: str
    region: str | None
    addresses: tuple[str, ...]
    port: int | None = None


class AddressPlan:
    """Alias target DNS name -> planned addresses, and back (thread-safe)."""

    def __init__(self, network: str = DEFAULT_NETWORK):
        self._network = ipaddress.IPv4Network(network)
        if not self._network.is_loopback:
            raise ValueError(f"address plan network must be loopback, got {network}")
        self._free = iter(self._network.hosts())
        self._lock = threading.Lock()
        self._by_name: dict[str, PlannedTarget] = {}
        self._by_address: dict[str, PlannedTarget] = {}

    def register(self, dns_name: str, region: str | None = None, *, port: int | None = None,
                 count: int = 1) -> PlannedTarget:
        """Give ``dns_name`` ``count`` addresses (idempotent: a known name keeps its own)."""
        if count < 1:
            raise ValueError("count must be >= 1")
        key = _name(dns_name)
        with self._lock:
            known = self._by_name.get(key)
            if known is not None:
                return known
            try:
                addresses = tuple(str(next(self._free)) for _ in range(count))
            except StopIteration:
                raise ValueError(f"address plan {self._network} is exhausted") from None
            planned = PlannedTarget(key, region, addresses, port)
            self._by_name[key] = planned
            for address in addresses:
                self._by_address[address] = planned
            return planned

    def addresses(self, dns_name: str, record_type: str = "A") -> tuple[str, ...]:
        """The planned addresses of ``dns_name`` (empty when unknown or not ``A``)."""
        if record_type != "A":
            return ()
        with self._lock:
            known = self._by_name.get(_name(dns_name))
        return known.addresses if known is not None else ()

    def target(self, dns_name: str) -> PlannedTarget | None:
        with self._lock:
            return self._by_name.get(_name(dns_name))

    def targets(self) -> tuple[PlannedTarget, ...]:
        """Every registered target, in registration order."""
        with self._lock:
            return tuple(self._by_name.values())

    def lookup(self, address: str) -> PlannedTarget | None:
        """Which target an answered address stands for (None: not planned here)."""
        with self._lock:
            return self._by_address.get(address)
