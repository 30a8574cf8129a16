"""The SIMULATED MSK Replicator: a thread copying records between the simulated brokers.

Every ``period_s`` it reads what to copy (``ReplicationSpec``s, from the simulated MSK API)
and, for each replication whose replicator is ``RUNNING`` while the ``replication-cut`` fault
is off and both brokers serve, copies the records of every matching source topic that are at
least the ``msk`` lag fault old (``sim fault lag --store msk``; the age is measured from the
record's timestamp, in real seconds) to the target topic (``<alias>.<topic>`` or the same
name), in order, keeping key, value, timestamp and headers and adding an ``__mskmr`` header
(its value here is the source cluster alias; production's value is not documented: rely only
on the key). A replicator not RUNNING, a cut, or a broker down (region outage) stops the copy;
it resumes from where it stopped (its position per topic is kept in memory).

``take_figures`` gives what CloudWatch's ``ReplicationLatency`` and ``MessageLag`` would say
from what was actually copied: the largest delay (copy time minus record timestamp) of the
records copied since the last take, else the age of the oldest record waiting, else 0; and
the number of records waiting (source log end minus position, as last seen).

In the rounds it copies, it also syncs the translated committed offsets of the consumer
groups it replicates (``group_sync``: where each copied batch landed is noted as it is
appended). It reads and appends in-process (``SimKafkaBroker.call``), not through the Kafka
protocol. Not supported: topic configuration copy, more than one partition, compression,
exactly-once, replicating a replicated topic back (bidirectional setups).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.kafka.broker import KafkaSimError, SimKafkaBroker
from maip_drlib.sim.kafka.group_sync import GroupSync, OffsetMap
from maip_drlib.sim.kafka.nafka_compat import StoredRecord, decode_headers
from maip_drlib.sim.kafka.replication_spec import MSKMR_HEADER, ReplicationSpec

_PERIOD_S = 0.25
_STOP_TIMEOUT_S = 5.0
_BATCH = 500

BrokerFor = Callable[[str], "SimKafkaBroker | None"]


@dataclass(frozen=True)
class ReplicatorFigures:
    """What the replicator's CloudWatch metrics report (see the module docstring)."""

    replication_latency_ms: float
    message_lag: int
    copied_total: int


@dataclass
class _Progress:
    copied_total: int = 0
    max_delay_ms: float | None = None  # since the last take
    waiting: int = 0
    oldest_waiting_ms: int | None = None  # timestamp of the oldest record waiting


class SimReplicator:
    """Copies records per ``specs()``; see the module docstring."""

    def __init__(self, specs: Callable[[], list[ReplicationSpec]], broker_for: BrokerFor,
                 faults: FaultState, period_s: float = _PERIOD_S):
        self._specs = specs
        self._broker_for = broker_for
        self._faults = faults
        self.period_s = period_s
        self._positions: dict[tuple[str, str, str], int] = {}  # (replicator, source, topic)
        self._progress: dict[str, _Progress] = {}
        self.offset_map = OffsetMap()
        self._groups = GroupSync()
        self._lock = threading.Lock()  # the figures
        self._round = threading.Lock()  # one copy round at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sim-msk-replicator",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.copy_once()
            self._stop.wait(self.period_s)

    def copy_once(self) -> int:
        """One round (also what the thread runs): copy what is due; the records copied."""
        with self._round:
            return self._copy_round()

    def _copy_round(self) -> int:
        snapshot = self._faults.snapshot()
        lag_ms = snapshot.lag_seconds.get("msk", 0.0) * 1000.0
        copied = 0
        try:
            specs = self._specs()
        except (KeyError, RuntimeError) as error:  # the simulated API is going away
            self._note(f"reading the replicators: {error}")
            return 0
        for spec in specs:
            source = self._broker_for(spec.source_cluster_arn)
            target = self._broker_for(spec.target_cluster_arn)
            if source is None or not source.running:
                continue  # nothing to read: the figures stay as last seen
            if (spec.state != "RUNNING" or snapshot.replication_cut or target is None
                    or not target.running):
                target = None  # stopped: only count what waits
            try:
                copied += self._copy(spec, source, target, lag_ms)
                if target is not None:
                    self._groups.sync(spec, source, target, self.offset_map)
            except KafkaSimError:
                continue  # a broker went down during the round: the next round resumes
        return copied

    def _copy(self, spec: ReplicationSpec, source: SimKafkaBroker,
              target: SimKafkaBroker | None, lag_ms: float) -> int:
        copied = waiting = 0
        delays: list[float] = []
        oldest: int | None = None
        for topic, end in sorted(source.end_offsets().items()):
            if not spec.copies(topic):
                continue
            key = (spec.replicator_name, spec.source_cluster_arn, topic)
            position = self._positions.get(key, 0)
            while position < end:
                records = source.read(topic, position, limit=_BATCH)
                now_ms = time.time() * 1000.0
                due = []
                for record in records if target is not None else ():
                    if now_ms - record.timestamp < lag_ms:
                        break
                    due.append(record)
                if due and target is not None:
                    first = target.append(spec.target_topic(topic), [StoredRecord(
                        offset=index, timestamp=record.timestamp, key=record.key,
                        value=record.value,
                        headers=[*decode_headers(record.headers),
                                 (MSKMR_HEADER, spec.source_alias.encode())],
                    ) for index, record in enumerate(due)])
                    self.offset_map.note(key, position, first, len(due))
                    delays += [now_ms - record.timestamp for record in due]
                    position += len(due)
                    self._positions[key] = position
                    copied += len(due)
                if len(due) < len(records) or not records:
                    if len(due) < len(records):
                        first_waiting = records[len(due)].timestamp
                        oldest = first_waiting if oldest is None else min(oldest, first_waiting)
                    break
            waiting += max(0, end - position)
        self._record(spec.replicator_name, copied, delays, waiting, oldest)
        return copied

    def _record(self, name: str, copied: int, delays: list[float], waiting: int,
                oldest: int | None) -> None:
        with self._lock:
            progress = self._progress.setdefault(name, _Progress())
            progress.copied_total += copied
            if delays:
                worst = max(delays)
                progress.max_delay_ms = max(progress.max_delay_ms or 0.0, worst)
            progress.waiting = waiting
            progress.oldest_waiting_ms = oldest

    def take_figures(self, replicator_name: str) -> ReplicatorFigures | None:
        """The figures since the last take (None: this replicator never copied nor waited)."""
        with self._lock:
            progress = self._progress.get(replicator_name)
            if progress is None:
                return None
            latency = progress.max_delay_ms
            progress.max_delay_ms = None
            if latency is None and progress.oldest_waiting_ms is not None:
                latency = max(0.0, time.time() * 1000.0 - progress.oldest_waiting_ms)
            return ReplicatorFigures(replication_latency_ms=latency or 0.0,
                                     message_lag=progress.waiting,
                                     copied_total=progress.copied_total)

    def _note(self, message: str) -> None:
        with contextlib.suppress(IndexError):
            if self.errors and self.errors[-1] == message:
                return
        self.errors.append(message)
