"""The store interface of RPO canaries, the registry of stores, and the bounded settle-and-measure.

A store (``RpoStore``) makes a paced canary writer for the primary and reads one drill's
canaries in DR. ``STORES`` maps a store name to a factory over the ``Topology``: DynamoDB.
RDS (``rpo.rds.rds_store``: the suite's canary table on each region's database) and MSK
(``rpo.msk.msk_store``: a canary topic on the primary cluster, read on the topic the
replicator copies it to in DR) need the target's data-plane access, so they are built from
the target (``drill.rpo_check``), not looked up here; without that access ``rpo_report``
lists them as "not measured".

Not supported: stores whose canaries cannot be read back by drill id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from maip_drlib.config import Topology
from maip_drlib.errors import ConfigError, Unreachable
from maip_drlib.rpo.dynamodb import DynamoDbCanaryStore, RegionClients
from maip_drlib.rpo.measure import Canary, RpoMeasurement, measure_rpo
from maip_drlib.rpo.writer import PacedCanaryWriter

DEFAULT_POLL_S = 0.2


class RpoStore(Protocol):
    """One data store whose RPO canaries can measure."""

    name: str

    def writer(self, primary: RegionClients, drill_id: str, *, interval_s: float,
               ttl_s: float) -> PacedCanaryWriter: ...

    def read(self, secondary: RegionClients, drill_id: str) -> list[Canary]: ...


StoreFactory = Callable[[Topology], RpoStore]

STORES: dict[str, StoreFactory] = {
    "dynamodb": lambda topology: DynamoDbCanaryStore(topology.canary_table),
}


def register_store(name: str, factory: StoreFactory) -> None:
    """Add (or replace) a store by name."""
    STORES[name] = factory


def store_for(name: str, topology: Topology) -> RpoStore:
    factory = STORES.get(name)
    if factory is None:
        raise ConfigError(f"no RPO canary store {name!r}; known: {', '.join(sorted(STORES))}")
    return factory(topology)


def wait_and_measure(store: RpoStore, secondary: RegionClients, drill_id: str,
                     acknowledged: Sequence[Canary], *, interval_s: float, settle_s: float,
                     poll_s: float = DEFAULT_POLL_S) -> RpoMeasurement:
    """Read DR until every acknowledged canary is there or ``settle_s`` passed, then measure.

    From a live region, in-flight replication may still land; from a region in outage the
    missing canaries never arrive, so the wait ends at ``settle_s`` (its deadline). A DR read
    that does not answer is retried until the deadline, then ``Unreachable`` is raised with
    the last error.
    """
    if settle_s < 0 or poll_s <= 0:
        raise ValueError("settle_s must be >= 0 and poll_s > 0")
    wanted = {canary.seq for canary in acknowledged}
    started = time.monotonic()
    deadline = started + settle_s
    found: list[Canary] | None = None
    last_error: Unreachable | None = None
    while True:
        try:
            found = store.read(secondary, drill_id)
            last_error = None
        except Unreachable as error:
            last_error = error
        if found is not None and wanted <= {canary.seq for canary in found}:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(poll_s, remaining))
    waited = round(time.monotonic() - started, 3)
    if found is None:
        assert last_error is not None
        raise Unreachable(
            f"RPO canaries of drill {drill_id} could not be read in {secondary.region} "
            f"within {settle_s:.1f} s: {last_error}", region=secondary.region,
            target=store.name, elapsed_s=waited) from last_error
    return measure_rpo(acknowledged, found, interval_s, store=store.name, waited_s=waited)
