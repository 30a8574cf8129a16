"""A real DNS server on 127.0.0.1, UDP and TCP on one ephemeral port, in background threads.

``SimDnsServer(resolver).start()`` binds UDP on a free loopback port, TCP on the same port
(another pair is tried if that TCP port is taken) and serves with dnslib's request handler;
``stop()`` shuts both down and joins their threads (bounded). ``nameserver`` is the
``127.0.0.1:PORT`` a client configures. ``route53_dns_server`` builds one that answers a
Route 53 hosted zone read through a boto3 client (the simulation's moto endpoint).

Not supported: any address but 127.0.0.1, IPv6, a fixed port, DNS over TLS/HTTPS, zone
transfers, restarting a stopped server (make a new one). A TCP client that sends nothing is
dropped after ``TCP_IDLE_S``.
"""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any

from dnslib.server import DNSHandler, TCPServer, UDPServer

from maip_drlib.sim.dns.answers import DEFAULT_ALIAS_TTL, AliasAddresses, ZoneResolver
from maip_drlib.sim.dns.routing import TargetHealth
from maip_drlib.sim.dns.zone import CachedZone, route53_zone_source

LOOPBACK = "127.0.0.1"
TCP_IDLE_S = 5.0
_BIND_ATTEMPTS = 20
_STOP_TIMEOUT_S = 5.0
_POLL_S = 0.1


class _QuietLogger:
    """dnslib's logger interface, silent: a drill's console is not a query log."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("log_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


class _UdpServer(UDPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


class _TcpServer(TCPServer):
    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.settimeout(TCP_IDLE_S)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


class SimDnsServer:
    """Serves ``resolver`` (dnslib's resolver interface) on 127.0.0.1, UDP and TCP."""

    def __init__(self, resolver: Any):
        self.resolver = resolver
        self._servers: list[Any] = []
        self._threads: list[threading.Thread] = []
        self.port = 0

    @property
    def nameserver(self) -> str:
        """``127.0.0.1:PORT``, what a client is configured with."""
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> SimDnsServer:
        if self._servers:
            raise RuntimeError("SimDnsServer already started")
        udp, tcp = self._bind_pair()
        for server in (udp, tcp):
            server.resolver = self.resolver
            server.logger = _QuietLogger()
        self._servers = [udp, tcp]
        self.port = int(udp.server_address[1])
        for server, kind in ((udp, "udp"), (tcp, "tcp")):
            thread = threading.Thread(target=server.serve_forever,
                                      kwargs={"poll_interval": _POLL_S},
                                      name=f"sim-dns-{kind}-{self.port}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    @staticmethod
    def _bind_pair() -> tuple[Any, Any]:
        for _ in range(_BIND_ATTEMPTS):
            udp = _UdpServer((LOOPBACK, 0), DNSHandler)
            try:
                tcp = _TcpServer((LOOPBACK, udp.server_address[1]), DNSHandler)
            except OSError as error:
                udp.server_close()
                if error.errno != errno.EADDRINUSE:
                    raise
                continue
            return udp, tcp
        raise OSError(errno.EADDRINUSE, "no loopback port free for both UDP and TCP")

    def stop(self) -> None:
        """Stop serving (bounded); safe to call twice."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=_STOP_TIMEOUT_S)
        self._servers = []
        self._threads = []

    def __enter__(self) -> SimDnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def route53_dns_server(client: Any, zone_name: str, *,
                       alias_addresses: AliasAddresses | None = None,
                       target_healthy: TargetHealth | None = None,
                       max_age_s: float = 0.5, alias_ttl: int = DEFAULT_ALIAS_TTL,
                       seed: int | None = None) -> SimDnsServer:
    """A (not yet started) server answering ``zone_name`` from Route 53 through ``client``.

    ``client`` is a boto3 Route 53 client with short timeouts; the zone is re-read at most
    every ``max_age_s`` seconds.
    """
    kwargs: dict[str, Any] = {"alias_ttl": alias_ttl, "seed": seed}
    if alias_addresses is not None:
        kwargs["alias_addresses"] = alias_addresses
    if target_healthy is not None:
        kwargs["target_healthy"] = target_healthy
    zone = CachedZone(route53_zone_source(client, zone_name), max_age_s=max_age_s)
    return SimDnsServer(ZoneResolver(zone, **kwargs))
