"""A loopback HTTP receiver for webhook tests: scripted answers, every request recorded.

Only 127.0.0.1; every handler that is told to hang waits on an event that ``serve`` sets when
it ends, so no thread outlives its test. Used by ``tests/notify`` (fixture ``receiver``) and
``tests/operations``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """``answers``: one per request (an HTTP status, or ("hang", seconds)); the last repeats."""

    port: int
    answers: list[Any] = field(default_factory=lambda: [200])
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/services/T0SIM/B0SIM/not-a-real-hook-0123456789") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next_answer(self) -> Any:
        with self.lock:
            index = min(len(self.requests), len(self.answers)) - 1
            return self.answers[max(index, 0)]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "json": json.loads(body or b"null")})
            answer = receiver.next_answer()
            if isinstance(answer, tuple) and answer[0] == "hang":
                receiver.release.wait(answer[1])
                answer = 200
            try:
                self.send_response(int(answer))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextlib.contextmanager
def serve() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (a free port) for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    state = Receiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
