"""Patch: DynamoDB global tables replicate their ITEMS, after the simulated replication lag.

moto 5.2.5: every region's table is a separate ``Table`` object; an item written in one region
is never seen in another (``dynamodb_global_tables`` creates the member tables, not the items).

Production (global tables 2019.11.21): every write to one replica is applied to every other
replica asynchronously, typically within a second (``ReplicationLatency``); writes are
delivered in order per replica pair; a write the source region acknowledged but had not yet
shipped when that region failed stays there until the region comes back.

This patch wraps ``DynamoDBBackend.put_item`` / ``update_item`` / ``delete_item`` (so also
``BatchWriteItem``, which calls them): after the original succeeds on a table that is a member
of a global table, the resulting item image (or its absence, for a delete) is queued for every
other member region, due ``FaultState.lag_seconds["dynamodb"]`` REAL seconds later (read at
write time; not scaled by ``time_scale``, because canaries measure RPO with the wall clock).
One background thread delivers the queue in due order; per (table, source, destination) the
due times never decrease, so a shorter lag set later cannot overtake an earlier write. A
delivery is held while its source or destination region is in outage, and delivered once both
are back (the writes "in the dead region"). Every DynamoDB request and every delivery run
under one lock, so a query never sees a table changing under it.

Not supported: ``TransactWriteItems`` and PartiQL writes (not replicated), conflict resolution
between concurrent writes to the same key in two regions (the later DELIVERY wins, not the
later write timestamp), TTL expiry, replication of a write made before the table became
global, and deliveries across a server restart (``MotoServer.start`` installs a new runtime:
queued deliveries of the old one are dropped). ``stop_delivery()`` ends the thread (bounded);
the next replicated write starts it again. Each delivery made is recorded with its delay
(``take_deliveries``): the simulation's ``ReplicationLatency`` is published from these only.
"""

from __future__ import annotations

import collections
import copy
import heapq
import inspect
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method
from maip_drlib.sim.aws.patches.dynamodb_global_tables import member_regions, replica_regions

PATCH_NAME = "dynamodb_item_replication"
LAG_STORE = "dynamodb"
# How often held deliveries (a region in outage) are looked at again, in seconds.
HELD_POLL_S = 0.05
_STOP_TIMEOUT_S = 2.0

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "pending_deliveries", "stop_delivery",
           "take_deliveries"]

# Serialises every DynamoDB request with every delivery (moto's tables have no locks).
_REQUEST_LOCK = threading.RLock()


@dataclass(order=True)
class _Delivery:
    due: float
    order: int
    account_id: str = field(compare=False)
    table: str = field(compare=False)
    source: str = field(compare=False)
    destination: str = field(compare=False)
    hash_key: Any = field(compare=False)
    range_key: Any = field(compare=False)
    item: Any = field(compare=False)  # a deep copy of moto's Item; None: the item was deleted
    owner: Any = field(compare=False)  # the SimRuntime that was current at write time
    written: float = field(compare=False, default=0.0)  # monotonic time of the write


class _Replicator:
    """The delivery queue (a heap by due time) and its thread."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._queue: list[_Delivery] = []
        self._order = itertools.count()
        self._last_due: dict[tuple[str, str, str, str], float] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False

    def schedule(self, table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
        owner = runtime.current()
        lag = max(0.0, float(owner.faults.snapshot().lag_seconds.get(LAG_STORE, 0.0)))
        now = time.monotonic()
        with self._changed:
            for destination in replica_regions(table):
                stream = (table.account_id, table.name, table.region_name, destination)
                due = max(now + lag, self._last_due.get(stream, 0.0))
                self._last_due[stream] = due
                heapq.heappush(self._queue, _Delivery(
                    due=due, order=next(self._order), account_id=table.account_id,
                    table=table.name, source=table.region_name, destination=destination,
                    hash_key=hash_key, range_key=range_key, item=copy.deepcopy(item),
                    owner=owner, written=now,
                ))
            self._ensure_thread()
            self._changed.notify_all()

    def pending(self) -> int:
        with self._changed:
            return len(self._queue)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="sim-dynamodb-replication",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> bool:
        """Stop the thread and drop what is queued and the deliveries not yet taken (they
        belong to this server: a later one publishes none of them); True if it ended within
        ``timeout_s``."""
        with self._changed:
            self._stopping = True
            self._queue.clear()
            self._last_due.clear()
            thread = self._thread
            self._changed.notify_all()
        ended = True
        if thread is not None:
            thread.join(timeout=timeout_s)
            ended = not thread.is_alive()
        _delivered.clear()
        return ended

    def _take_ready(self) -> tuple[list[_Delivery], float | None]:
        """Pop what is due and deliverable; the seconds to wait next (None: until notified)."""
        now = time.monotonic()
        ready: list[_Delivery] = []
        held: list[_Delivery] = []
        try:
            installed: Any = runtime.current()
        except RuntimeError:
            installed = None
        while self._queue and self._queue[0].due <= now:
            delivery = heapq.heappop(self._queue)
            if delivery.owner is not installed:
                continue  # a previous server's write: its backends are gone
            snapshot = delivery.owner.faults.snapshot()
            if snapshot.region_down(delivery.source) or snapshot.region_down(
                    delivery.destination):
                held.append(delivery)
            else:
                ready.append(delivery)
        for delivery in held:
            heapq.heappush(self._queue, delivery)
        if held:
            return ready, HELD_POLL_S
        if self._queue:
            return ready, max(0.0, self._queue[0].due - now)
        return ready, None

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._stopping:
                    return
                ready, wait_s = self._take_ready()
                if not ready:
                    self._changed.wait(wait_s)
                    continue
            for delivery in ready:
                _deliver(delivery)


_replicator = _Replicator()
# Deliveries made since the metric publisher last took them: (table, source, destination,
# delay in seconds). Bounded: a publisher that stops reading loses the oldest.
_DELIVERED_MAX = 10000
_delivered: collections.deque[tuple[str, str, str, float]] = collections.deque(
    maxlen=_DELIVERED_MAX)


def take_deliveries() -> list[tuple[str, str, str, float]]:
    """The deliveries made since the last call (table, source, destination, delay_s): the
    simulation's ``ReplicationLatency`` exists only for these, as DynamoDB's does."""
    taken = []
    while _delivered:
        taken.append(_delivered.popleft())
    return taken


def pending_deliveries() -> int:
    """How many replicated writes are queued (held ones included)."""
    return _replicator.pending()


def stop_delivery(timeout_s: float = _STOP_TIMEOUT_S) -> bool:
    """Stop the delivery thread (bounded), dropping queued writes; True if it ended."""
    return _replicator.stop(timeout_s)


def _deliver(delivery: _Delivery) -> None:
    from moto.dynamodb.models import dynamodb_backends

    with _REQUEST_LOCK:
        table = dynamodb_backends[delivery.account_id][delivery.destination].tables.get(
            delivery.table)
        if table is None or delivery.source not in member_regions(table):
            return  # the replica was removed meanwhile
        if delivery.item is None:
            table.delete_item(delivery.hash_key, delivery.range_key)
            return
        current = table.get_item(delivery.hash_key, delivery.range_key)
        if delivery.range_key is not None:
            table.items[delivery.hash_key][delivery.range_key] = delivery.item
        else:
            table.items[delivery.hash_key] = delivery.item
        if table.stream_shard is not None:
            table.stream_shard.add(current, delivery.item)
    _delivered.append((delivery.table, delivery.source, delivery.destination,
                       max(0.0, time.monotonic() - delivery.written)))


def _replicate_after(original: Any, key_of: Callable[[Any, dict[str, Any]], dict[str, Any]]
                     ) -> Any:
    signature = inspect.signature(original)

    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs).arguments
        table = self.get_table(bound["table_name"])
        if replica_regions(table):
            hash_key, range_key = self.get_keys_value(table, key_of(table, bound))
            _replicator.schedule(table, hash_key, range_key,
                                 table.get_item(hash_key, range_key))
        return result

    return write


def _put_key(table: Any, bound: dict[str, Any]) -> dict[str, Any]:
    attrs = bound["item_attrs"]
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: attrs[name] for name in names}


def _given_key(_table: Any, bound: dict[str, Any]) -> dict[str, Any]:
    return bound["key"]


def _serialised(original: Any) -> Any:
    def call_action(self: Any) -> Any:
        with _REQUEST_LOCK:
            return original(self)

    return call_action


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    replace_method(DynamoDBBackend, "put_item", lambda o: _replicate_after(o, _put_key))
    replace_method(DynamoDBBackend, "update_item", lambda o: _replicate_after(o, _given_key))
    replace_method(DynamoDBBackend, "delete_item", lambda o: _replicate_after(o, _given_key))
    replace_method(DynamoHandler, "call_action", _serialised)
