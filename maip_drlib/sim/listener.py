"""A threaded HTTP(S) server on 127.0.0.1 that can stop listening and listen again.

A simulated region outage closes the listening socket, so clients get a real "connection
refused"; restoring the region listens again on the same port. Not supported: addresses
other than 127.0.0.1, HTTP/2, keep-alive across a close of the listener.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"
_REBIND_DEADLINE_S = 5.0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.ssl_context is None:
            return sock, address
        sock.settimeout(10)
        return self.ssl_context.wrap_socket(sock, server_side=True), address

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that goes away (reset, TLS abort) is normal in fault drills: stay quiet.
        return


class RestartableServer:
    """Serves ``handler_class`` on 127.0.0.1; ``close_listener``/``listen`` toggle refusal."""

    def __init__(
        self,
        handler_class: type[BaseHTTPRequestHandler],
        *,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
        name: str = "server",
    ):
        self._handler_class = handler_class
        self._ssl_context = ssl_context
        self._port = port
        self._name = name
        self._lock = threading.Lock()
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def scheme(self) -> str:
        return "https" if self._ssl_context else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self._port}"

    @property
    def listening(self) -> bool:
        return self._server is not None

    def listen(self) -> None:
        """Start listening (on the same port as before, once one was chosen)."""
        with self._lock:
            if self._server is not None:
                return
            deadline = time.monotonic() + _REBIND_DEADLINE_S
            while True:
                try:
                    server = _QuietServer((LOOPBACK, self._port), self._handler_class)
                    break
                except OSError as error:
                    if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            server.ssl_context = self._ssl_context
            self._port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1},
                name=f"{self._name}:{self._port}", daemon=True,
            )
            self._thread.start()

    def close_listener(self) -> None:
        """Stop listening: new connections are refused until ``listen`` is called."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def stop(self) -> None:
        self.close_listener()


def send_json(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              content_type: str = "application/json") -> None:
    """Write one complete response; a client that already left is ignored."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
