"""The fake Kubernetes API server: HTTPS on 127.0.0.1, bearer token, region faults.

A region outage ``refuse`` closes the listening socket (and drops open connections) so
clients get a real "connection refused"; when the outage ends the server listens again on
the SAME port. ``hang`` accepts connections (the TLS handshake completes) but answers no
request until the fault changes or ``hang_max_seconds`` pass, then closes; when the fault
clears in time the waiting request is answered. Faults come from a ``FaultState`` (with
``follow_faults``) and/or the explicit ``refuse()``, ``hang()`` and ``resume()`` methods.
A region's ``kube_api`` fault (refuse/hang of the Kubernetes API alone) is followed the same
way. Node readiness is NOT tied to outages: drive it with ``KubeCluster.set_nodes_ready`` or
the ``nodes_not_ready`` fault (the controller applies it).

Not supported: addresses other than 127.0.0.1, client certificates, HTTP/2.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import socketserver
import ssl
import threading
import time
from collections import deque
from http.server import ThreadingHTTPServer
from typing import Any, NamedTuple

from maip_drlib.sim.faults import FaultState, OutageMode
from maip_drlib.sim.kube.handler import ApiRequestHandler
from maip_drlib.sim.kube.state import KubeCluster

LOOPBACK = "127.0.0.1"
_HANDSHAKE_TIMEOUT_S = 10.0
_REBIND_DEADLINE_S = 5.0
_JOIN_TIMEOUT_S = 3.0


class RecordedRequest(NamedTuple):
    """What a request asked for (no headers besides Accept and Content-Type: no tokens)."""

    method: str
    path: str
    accept: str | None
    content_type: str | None


class _Listener(ThreadingHTTPServer):
    """One listening period; a new one is made after each ``refuse`` ends."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, api: FakeKubeApiServer, port: int):
        self.api = api
        super().__init__((LOOPBACK, port), ApiRequestHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skips HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = LOOPBACK, self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(_HANDSHAKE_TIMEOUT_S)
        try:
            connection = self.api.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.api._track(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        except (ssl.SSLError, OSError):
            pass  # a client that goes away, or a connection dropped by a fault
        finally:
            self.api._untrack(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # resets and TLS aborts are normal in fault drills


class FakeKubeApiServer:
    """Serves one ``KubeCluster`` over HTTPS with a bearer token, following region faults."""

    def __init__(self, cluster: KubeCluster, *, ssl_context: ssl.SSLContext, token: str,
                 region: str | None = None, faults: FaultState | None = None,
                 follow_faults: bool | None = None, port: int = 0,
                 hang_max_seconds: float = 120.0, default_watch_seconds: float = 60.0,
                 max_watch_seconds: float = 600.0, request_log_size: int = 500):
        if not token:
            raise ValueError("a bearer token is required")
        self.cluster = cluster
        self.ssl_context = ssl_context
        self.token = token
        self.region = region or cluster.region
        self.faults = faults
        self.follow_faults = faults is not None if follow_faults is None else follow_faults
        if self.follow_faults and faults is None:
            raise ValueError("follow_faults needs a FaultState")
        self.hang_max_seconds = hang_max_seconds
        self.default_watch_seconds = default_watch_seconds
        self.max_watch_seconds = max_watch_seconds
        self.requests: deque[RecordedRequest] = deque(maxlen=request_log_size)
        self._port = port
        self._manual_mode: OutageMode | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._mode_changed = threading.Condition()
        self._listener: _Listener | None = None
        self._serve_thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._connections: set[Any] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._started = False

    # Lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the server has not started")
        return self._port

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def listening(self) -> bool:
        return self._listener is not None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> FakeKubeApiServer:
        with self._lock:
            if self._started:
                raise RuntimeError("already started")
            self._started = True
            self._stop.clear()
            self._listen()
            self._apply_mode()
            if self.follow_faults:
                assert self.faults is not None
                self.faults.add_listener(self._on_fault_change)
                self._watcher = threading.Thread(target=self._follow_faults, daemon=True,
                                                 name=f"kube-api-faults-{self.region}")
                self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop listening, drop connections and join threads (bounded)."""
        self._stop.set()
        if self.faults is not None:
            self.faults.remove_listener(self._on_fault_change)
        with self._mode_changed:
            self._mode_changed.notify_all()
        with self._lock:
            self._close_listener()
        if self._watcher is not None:
            self._watcher.join(_JOIN_TIMEOUT_S)
        deadline = time.monotonic() + _JOIN_TIMEOUT_S
        for thread in list(self._handler_threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self._started = False

    def __enter__(self) -> FakeKubeApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Faults ------------------------------------------------------------------------------

    def refuse(self) -> None:
        """Close the listening socket until ``resume()`` (connection refused)."""
        self._set_manual_mode("refuse")

    def hang(self) -> None:
        """Accept connections but answer nothing until ``resume()``."""
        self._set_manual_mode("hang")

    def resume(self) -> None:
        """End a ``refuse()``/``hang()``; a fault in the FaultState still applies."""
        self._set_manual_mode(None)

    def outage_mode(self) -> OutageMode | None:
        if self._manual_mode is not None:
            return self._manual_mode
        if self.follow_faults and self.faults is not None:
            return self.faults.snapshot().kube_api_mode(self.region)
        return None

    def _set_manual_mode(self, mode: OutageMode | None) -> None:
        with self._lock:
            self._manual_mode = mode
            if self._started and not self.stopping:
                self._apply_mode()
        with self._mode_changed:
            self._mode_changed.notify_all()

    def _apply_mode(self) -> None:
        with self._lock:
            refusing = self.outage_mode() == "refuse"
            if refusing and self._listener is not None:
                self._close_listener()
            elif not refusing and self._listener is None and not self.stopping:
                self._listen()

    def _on_fault_change(self, _snapshot: object) -> None:
        """Fault listener: open or close the listening socket before the control returns."""
        if not self.stopping:
            self._apply_mode()
        with self._mode_changed:
            self._mode_changed.notify_all()

    def _follow_faults(self) -> None:
        assert self.faults is not None
        while not self.stopping:
            self._apply_mode()
            self.faults.wait_for_change(0.2)
            with self._mode_changed:
                self._mode_changed.notify_all()

    def admit(self, wait: bool = True) -> bool:
        """Whether to answer a request now; under ``hang`` wait (bounded) for a change."""
        deadline = time.monotonic() + self.hang_max_seconds
        while not self.stopping:
            mode = self.outage_mode()
            if mode is None:
                return True
            if mode == "refuse" or not wait:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._mode_changed:
                self._mode_changed.wait(min(remaining, 0.25))
        return False

    def record_request(self, method: str, path: str, accept: str | None,
                       content_type: str | None) -> None:
        self.requests.append(RecordedRequest(method, path, accept, content_type))

    # Listening socket and connections ----------------------------------------------------

    def _listen(self) -> None:
        deadline = time.monotonic() + _REBIND_DEADLINE_S
        while True:
            try:
                listener = _Listener(self, self._port)
                break
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                self._stop.wait(0.05)
        self._port = listener.server_address[1]
        thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True, name=f"kube-api-{self.region}-{self._port}")
        thread.start()
        self._listener, self._serve_thread = listener, thread

    def _close_listener(self) -> None:
        listener, thread = self._listener, self._serve_thread
        self._listener = self._serve_thread = None
        if listener is not None:
            listener.shutdown()
            listener.server_close()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT_S)
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def _track(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            self._handler_threads.add(threading.current_thread())

    def _untrack(self, connection: Any) -> None:
        with self._lock:
            self._connections.discard(connection)
            self._handler_threads.discard(threading.current_thread())
