"""One SIMULATED Kafka broker (nafka, adapted) on 127.0.0.1 in its own thread and event loop.

The broker serves the Kafka protocol on an ephemeral port (kept across a stop and start when
it is still free); its records live in one SQLite file, so a broker stopped by a simulated
region outage comes back with its data, as an MSK cluster does. Other threads reach its log
in-process through ``call`` (run in the broker's loop, bounded): the simulated replicator
reads and appends that way, and consumers waiting in a fetch are woken as by a produce.

Every wait is bounded; a broker that is stopped, stopping or too slow raises
``KafkaSimError``. Not supported: what nafka does not support (``nafka_compat``), more than
one broker per cluster, any address but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from maip_drlib.errors import DRError
from maip_drlib.sim.kafka.nafka_compat import CompatBroker, StoredRecord

T = TypeVar("T")
HOST = "127.0.0.1"
_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0
_CALL_TIMEOUT_S = 5.0


class KafkaSimError(DRError):
    """The simulated Kafka broker could not do what was asked (an environment error, exit 4)."""

    exit_code = 4


class SimKafkaBroker:
    """A simulated broker named after its MSK cluster; see the module docstring."""

    def __init__(self, name: str, region: str, data_file: Path):
        self.name = name
        self.region = region
        self.data_file = data_file
        self.port: int | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: CompatBroker | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` (also while stopped: a client then gets refused)."""
        if self.port is None:
            raise KafkaSimError(f"the simulated Kafka broker of {self.name} never started")
        return f"{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._broker is not None

    def start(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        """Serve (on the previous port if it is free, else a new one); no-op when running."""
        with self._lock:
            if self._broker is not None:
                return
            try:
                self._start(self.port or 0, timeout_s)
            except OSError:
                if not self.port:
                    raise
                self._start(0, timeout_s)  # the old port was taken meanwhile

    def _start(self, port: int, timeout_s: float) -> None:
        started: concurrent.futures.Future[CompatBroker] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._serve, args=(loop, port, started),
                                  name=f"sim-kafka-{self.name}", daemon=True)
        thread.start()
        try:
            broker = started.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError as error:
            raise KafkaSimError(f"the simulated Kafka broker of {self.name} did not start "
                                f"within {timeout_s:.0f} s") from error
        self._loop, self._broker, self._thread = loop, broker, thread
        self.port = int(broker.socket_addr[1])

    def _serve(self, loop: asyncio.AbstractEventLoop, port: int,
               started: concurrent.futures.Future[CompatBroker]) -> None:
        asyncio.set_event_loop(loop)
        try:
            broker = CompatBroker(file=str(self.data_file), port=port)
            loop.run_until_complete(broker.start())
        except BaseException as error:  # handed to start() in the caller's thread
            started.set_exception(error)
            loop.close()
            return
        started.set_result(broker)
        loop.run_until_complete(broker.finished.wait())
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()  # fetches and group joins still waiting
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Stop serving (connections closed, new ones refused); no-op when stopped."""
        with self._lock:
            loop, broker, thread = self._loop, self._broker, self._thread
            self._loop = self._broker = self._thread = None
        if loop is None or broker is None or thread is None:
            return
        # A loop gone or stuck: the thread is a daemon, and the join below is bounded.
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(broker.stop(), loop).result(timeout=timeout_s)
        thread.join(timeout=timeout_s)

    def call(self, action: Callable[[CompatBroker], T], timeout_s: float = _CALL_TIMEOUT_S) -> T:
        """Run ``action(broker)`` in the broker's loop; KafkaSimError when it is not running."""
        loop, broker = self._loop, self._broker
        if loop is None or broker is None:
            raise KafkaSimError(f"the simulated Kafka broker of {self.name} is stopped")

        async def run() -> T:
            return action(broker)

        try:
            return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=timeout_s)
        except (RuntimeError, sqlite3.ProgrammingError, concurrent.futures.TimeoutError) as error:
            raise KafkaSimError(f"the simulated Kafka broker of {self.name} did not answer: "
                                f"{error}") from error

    # The log, in-process (for the simulated replicator) -------------------------------

    def end_offsets(self) -> dict[str, int]:
        """Topic -> log end offset (the next record's offset), for every topic with records."""
        def ends(broker: CompatBroker) -> dict[str, int]:
            rows = broker.store.db.execute(
                "SELECT topic, max(offset) + 1 FROM record GROUP BY topic").fetchall()
            return {str(topic): int(end) for topic, end in rows}

        return self.call(ends)

    def read(self, topic: str, offset: int, limit: int = 500) -> list[Any]:
        """Up to ``limit`` records of ``topic`` from ``offset`` (nafka's ``BrokerRecord``)."""
        return self.call(lambda broker: broker.store.get_records(topic, offset, limit=limit))

    def append(self, topic: str, records: Sequence[StoredRecord]) -> int:
        """Append ``records`` to ``topic``, wake its waiting consumers; the first offset."""
        def add(broker: CompatBroker) -> int:
            [(_, first)] = broker.store.add_records([(topic, list(records))])
            broker.notify([topic])
            return int(first)

        return self.call(add)
