"""Listeners on the simulated DNS server's planned addresses, for clients that connect where
the DNS answer points (a ``live``-kind target aimed at ``maip-dr sim up``).

The data plane's DNS server answers each ALB with its own planned loopback address
(127.100.0.x, ``maip_drlib.sim.dns.addresses``) while that ALB's endpoint listens on 127.0.0.1
and a port of its own. A simulated target maps the answer through the control server's plan;
a live target has no control URL and connects to the answered address, as production clients
do. ``PlannedListeners`` listens on every planned address on one port (443 when this process
may bind it, else one port free on all of them) and relays each TCP connection unchanged (TLS
stays end to end, the certificate is the endpoint's own) to the endpoint of that address's
ALB. When that endpoint refuses (its region is in outage) the relay resets the client's
connection at once; a hanging endpoint hangs the client as it would.

Only loopback addresses are ever bound. Not supported: systems where 127.0.0.0/8 beyond
127.0.0.1 is not on the loopback interface (Linux has all of it; macOS needs an alias per
address), IPv6, a plan that changes after ``start`` (the simulation plans each ALB once).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
from collections.abc import Mapping

from maip_drlib.loopback import is_loopback_host

BACKEND_HOST = "127.0.0.1"
PREFERRED_PORT = 443
CONNECT_TIMEOUT_S = 2.0
# A relayed connection that moves no byte for this long is closed (the endpoints' own hang
# fault is bounded at 120 s).
IDLE_TIMEOUT_S = 300.0
_PORT_ATTEMPTS = 20
_JOIN_TIMEOUT_S = 5.0


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset (SO_LINGER 0): the client sees its connection refused
    mid-way, not an orderly empty answer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until ``source`` ends or fails; then end ``sink``'s writing side."""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class PlannedListeners:
    """Relays ``address:port`` -> ``127.0.0.1:backend port`` for each planned address."""

    def __init__(self, backends: Mapping[str, int], *, preferred_port: int = PREFERRED_PORT):
        for address in backends:
            if not is_loopback_host(address):
                raise ValueError(f"planned listeners bind loopback only, got {address!r}")
        if not backends:
            raise ValueError("no planned address to listen on")
        self._backends = dict(backends)
        self._preferred_port = preferred_port
        self._listeners: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.port = 0

    def start(self) -> int:
        """Bind every address on one port and serve; returns the port."""
        self._listeners = self._bind_all()
        self.port = self._listeners[0].getsockname()[1]
        for listener in self._listeners:
            address = listener.getsockname()[0]
            thread = threading.Thread(target=self._accept, args=(listener,), daemon=True,
                                      name=f"planned-listener-{address}:{self.port}")
            thread.start()
            self._threads.append(thread)
        return self.port

    def _bind_all(self) -> list[socket.socket]:
        addresses = sorted(self._backends)
        candidates = [self._preferred_port] + [0] * _PORT_ATTEMPTS
        last: OSError | None = None
        for candidate in candidates:
            bound: list[socket.socket] = []
            port = candidate
            try:
                for address in addresses:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    bound.append(sock)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((address, port))
                    port = sock.getsockname()[1]
                    sock.listen(64)
                    sock.settimeout(0.2)
                return bound
            except OSError as error:
                if error.errno not in (errno.EACCES, errno.EADDRINUSE, errno.EPERM):
                    for sock in bound:
                        sock.close()
                    raise
                last = error
                for sock in bound:
                    sock.close()
        raise OSError(f"no port free on every planned address {', '.join(addresses)}: {last}")

    def _accept(self, listener: socket.socket) -> None:
        backend_port = self._backends[listener.getsockname()[0]]
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client, backend_port), daemon=True,
                             name=f"planned-relay-{backend_port}").start()

    def _relay(self, client: socket.socket, backend_port: int) -> None:
        try:
            backend = socket.create_connection((BACKEND_HOST, backend_port),
                                               timeout=CONNECT_TIMEOUT_S)
        except OSError:
            _reset(client)
            return
        for sock in (client, backend):
            sock.settimeout(IDLE_TIMEOUT_S)
        with self._lock:
            if self._stopping.is_set():
                _reset(client)
                backend.close()
                return
            self._connections.update((client, backend))
        upstream = threading.Thread(target=_pump, args=(client, backend), daemon=True)
        upstream.start()
        _pump(backend, client)
        upstream.join(IDLE_TIMEOUT_S)
        with self._lock:
            self._connections.difference_update((client, backend))
        client.close()
        backend.close()

    def stop(self) -> None:
        """Stop listening and drop every relayed connection."""
        self._stopping.set()
        for listener in self._listeners:
            with contextlib.suppress(OSError):
                listener.close()
        with self._lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(_JOIN_TIMEOUT_S)
        self._threads.clear()
