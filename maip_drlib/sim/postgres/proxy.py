"""A loopback TCP proxy whose link can be cut and restored: the simulated replication link.

One proxy per link: it listens on 127.0.0.1 (a free port) and forwards every connection to
one upstream port on 127.0.0.1. ``cut()`` resets every forwarded connection and resets each
new one as it arrives (the listener stays, so the port stays reserved); ``restore()``
forwards again. It runs an asyncio loop in one daemon thread; every call into it is bounded.
Not supported: other addresses than 127.0.0.1, a silent black hole (a cut resets; it never
stalls), bandwidth or latency shaping, TLS inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from maip_drlib.sim.postgres.errors import PostgresSimError

LOOPBACK = "127.0.0.1"
_CONNECT_TIMEOUT_S = 5.0
_CALL_TIMEOUT_S = 5.0
_CHUNK = 65536

T = TypeVar("T")


class LinkProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:upstream_port``; see the module docstring."""

    def __init__(self, upstream_port: int, *, name: str = "link"):
        self.name = name
        self._upstream_port = upstream_port
        self._cut = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.BaseTransport] = set()
        self._port = 0
        self._forwarded = 0

    @property
    def port(self) -> int:
        """The port clients connect to (0 before ``start``)."""
        return self._port

    @property
    def upstream_port(self) -> int:
        return self._upstream_port

    @property
    def is_cut(self) -> bool:
        return self._cut

    @property
    def forwarded_connections(self) -> int:
        """How many connections were forwarded so far (evidence that the link was used)."""
        return self._forwarded

    def start(self) -> int:
        """Listen on a free loopback port; returns it."""
        if self._loop is not None:
            raise PostgresSimError(f"proxy {self.name}: already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"pg-proxy-{self.name}", daemon=True
        )
        self._thread.start()
        try:
            self._server = self._call(asyncio.start_server(self._handle, LOOPBACK, 0))
        except BaseException:
            self.close()
            raise
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self._port

    def cut(self) -> None:
        """Reset every forwarded connection; reset new ones until ``restore``."""
        self._cut = True
        if self._loop is not None:
            self._call(self._abort_all())

    def restore(self) -> None:
        """Forward new connections again."""
        self._cut = False

    def close(self) -> None:
        """Stop listening, reset every connection, stop the thread (bounded)."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        if loop.is_running():
            with contextlib.suppress(PostgresSimError):
                self._call(self._shutdown())
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(_CALL_TIMEOUT_S)
        if thread is None or not thread.is_alive():
            loop.close()
        self._loop = self._thread = self._server = None

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(_CALL_TIMEOUT_S)
        except TimeoutError as error:
            future.cancel()
            raise PostgresSimError(
                f"proxy {self.name}: no answer from its loop within {_CALL_TIMEOUT_S:g}s"
            ) from error

    async def _abort_all(self) -> None:
        for transport in list(self._transports):
            _reset(transport)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._abort_all()
        # Aborted transports end the handlers; cancel only a handler that lingers.
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=_CALL_TIMEOUT_S / 2)
            for task in pending:
                task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._forward(reader, writer)
        except asyncio.CancelledError:
            # Only at shutdown. Ending normally keeps asyncio's stream callback quiet.
            _reset(writer.transport)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            _reset(writer.transport)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(LOOPBACK, self._upstream_port), _CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            _reset(writer.transport)
            return
        transports = (writer.transport, upstream_writer.transport)
        if self._cut:  # cut while connecting
            for transport in transports:
                _reset(transport)
            return
        self._transports.update(transports)
        self._forwarded += 1
        pumps = [
            asyncio.ensure_future(_pump(reader, upstream_writer)),
            asyncio.ensure_future(_pump(upstream_reader, writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for transport in transports:
                transport.abort()
                self._transports.discard(transport)
            await asyncio.gather(*pumps, return_exceptions=True)


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a broken link looks to both ends."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


async def _pump(source: asyncio.StreamReader, destination: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await source.read(_CHUNK):
            destination.write(chunk)
            await destination.drain()
