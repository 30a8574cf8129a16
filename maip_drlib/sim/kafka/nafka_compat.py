"""The one module that imports ``nafka``: its broker adapted to Python 3.11 (SIMULATED Kafka).

``nafka`` 0.1 (pinned exactly in the ``sim`` extra) is a small pure-Python Kafka broker built
on ``kafka-python``: Produce, Fetch, Metadata, ListOffsets and consumer groups, one partition
per topic, records in SQLite. As released it needs Python 3.12+ and 3.13+, and drops record
headers. This adapter changes exactly five things, each by a subclass (nafka itself is not
patched):

1. ``sqlite3.connect(autocommit=True)`` is 3.12+: the store connects with
   ``isolation_level=None`` instead, which on 3.11 is the same autocommit behaviour (no
   implicit transactions; nafka's explicit ``BEGIN IMMEDIATE`` / ``COMMIT`` still apply).
2. ``asyncio.Server.close_clients`` is 3.13+: the broker tracks its connections' writers and
   closes them on stop.
3. Record headers: nafka stores ``b''`` and fetches none; this store keeps them (a JSON list
   of ``[key, hex(value)]``) and fetches return them (the MSK Replicator's ``__mskmr`` header
   needs them).
4. A fetch's high watermark is the topic's log end offset (nafka answers the last offset
   fetched, one short).
5. ``PRAGMA synchronous=OFF``: a simulated broker's log need not survive a host crash, and
   every produce would otherwise wait for the disk.

Not supported (nafka's limits, kept): more than one partition per topic, TLS, SASL (so no IAM
authentication), transactions, idempotent producers' sequence checks, compaction, retention,
fetch sessions, any address but 127.0.0.1. ``tests/sim/test_kafka_broker.py`` proves a
``kafka-python`` producer and consumer group round trip through this adapter on 3.11.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from secrets import token_urlsafe
from typing import Any

from kafka.record.default_records import DefaultRecordBatchBuilder
from nafka.server import KafkaBroker
from nafka.store import SCHEMA, KafkaStore

NAFKA_VERSION = "0.1"

Headers = list[tuple[str, bytes]]


def encode_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> bytes:
    """Headers as stored in nafka's ``headers`` column (a JSON list of ``[key, hex]``)."""
    return json.dumps([[key, (value or b"").hex()] for key, value in (headers or ())]).encode()


def decode_headers(blob: bytes | None) -> Headers:
    """The stored headers back; nafka's own empty ``b''`` reads as no header."""
    if not blob:
        return []
    return [(str(key), bytes.fromhex(value)) for key, value in json.loads(blob)]


@dataclass(frozen=True)
class StoredRecord:
    """A record to append: what nafka's ``add_records`` reads from kafka-python's records."""

    offset: int  # relative to the batch
    timestamp: int  # milliseconds since the epoch
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()
    timestamp_type: int = 0  # CreateTime


class CompatStore(KafkaStore):  # type: ignore[misc]
    """nafka's store, connected the 3.11 way, keeping record headers."""

    def __init__(self, file: str = ":memory:") -> None:  # replaces nafka's (3.12+ connect)
        self.db = sqlite3.connect(file, isolation_level=None)
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(SCHEMA)

    def add_records(self, topics_records: Iterable[tuple[str, Iterable[Any]]]
                    ) -> list[tuple[str, int]]:
        answer = []
        with self.transaction():
            for topic, records in topics_records:
                start = self.next_offset(topic)
                self.db.executemany(
                    "INSERT INTO record VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(topic, start + record.offset, record.timestamp, record.timestamp_type,
                      record.key, record.value, encode_headers(record.headers))
                     for record in records])
                answer.append((topic, start))
        return answer


class CompatBroker(KafkaBroker):  # type: ignore[misc]
    """nafka's broker with the store above, its connections tracked, headers fetched."""

    def __init__(self, file: str = ":memory:", port: int | None = None) -> None:
        # nafka's __init__ builds its 3.12+ store: the same attributes, set here.
        self.cluster_id = token_urlsafe(16)
        self._port = port
        self.store = CompatStore(file)
        self.waiting: dict[str, set[asyncio.Event]] = {}
        self.finished = asyncio.Event()
        self._stop_tasks: set[asyncio.Task[Any]] = set()
        self.consumer_groups: dict[str, Any] = {}
        self._writers: set[asyncio.StreamWriter] = set()

    async def connection(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await super().connection(reader, writer)
        except (ConnectionError, OSError):
            pass  # the client went away, or the broker closed it on stop
        finally:
            self._writers.discard(writer)

    async def stop(self) -> None:
        """nafka's stop without ``close_clients`` (3.13+): close each tracked connection."""
        self.server.close()
        for writer in list(self._writers):
            writer.close()
        await self.server.wait_closed()
        self.store.close()
        self.finished.set()

    def notify(self, topics: Iterable[str]) -> None:
        """Wake consumers waiting in a fetch on ``topics`` (as nafka's produce does)."""
        for topic in topics:
            for event in self.waiting.get(topic, ()):
                event.set()

    def _get_records_since(self, topics: Any) -> list[Any]:
        answer = []
        for topic, partitions in topics:
            _, fetch_offset, _, max_bytes, *_ = partitions[0]
            records = self.store.get_records(topic, fetch_offset)
            if not records:
                continue
            builder = DefaultRecordBatchBuilder(
                magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                producer_epoch=-1, base_sequence=-1, batch_size=max_bytes)
            for record in records:
                builder.append(record.offset, record.timestamp, record.key, record.value,
                               decode_headers(record.headers))
            end = self.store.next_offset(topic)
            # partition, error, high watermark, last stable offset, log start, aborted, records
            answer.append((topic, [(0, 0, end, end, 0, None, builder.build())]))
        return answer
