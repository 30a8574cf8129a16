"""RDS canaries: committed into the PostgreSQL writer, read on the promoted DR database.

The same structure and results as ``maip_drlib.rpo.dynamodb``, so a summary shows both side
by side: ``RdsCanaryWriter`` (a ``PacedCanaryWriter``: seq 1, 2, 3 ... at a steady pace, each
an autocommit ``INSERT`` into ``maip_dr.canaries`` with kind ``rpo``; acknowledged when the
commit returned) stops at ``stop()`` or at the first write that fails for good (the writer
is gone: connection refused or reset, read-only, timeout); ``read_canaries`` reads one
drill's canaries on another database (the promoted replica); ``RdsCanaryStore`` is the
``RpoStore``, so ``wait_and_measure`` and ``measure_rpo`` give an ``RpoMeasurement`` with
``store="rds"``: the newest canary found with every earlier acknowledged one also found; RPO =
the last acknowledged canary's ``written_at`` minus that canary's (DESIGN.md section 5),
canaries lost counted.

Writing canaries is an ACTION (game days only; the caller owns ``require_execute``), into the
suite's own table, never business data. Not supported: reconnecting after a failed write (a
failed connection ends the writer: that is the outage), IAM tokens renewed during a writer's
life (its one connection is opened at ``start``), more than one writer per drill id.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maip_drlib.actions.postgres import INSERT_SQL, KIND_RPO, TABLE, ensure_canary_table
from maip_drlib.config import DatabaseAccess, Topology
from maip_drlib.errors import NotFound
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes.postgres import (
    DbConnectionSpec,
    connect,
    connection_spec,
    scrub,
    translated,
)
from maip_drlib.rpo.dynamodb import RegionClients
from maip_drlib.rpo.measure import Canary
from maip_drlib.rpo.writer import PacedCanaryWriter, WriteRejected

if TYPE_CHECKING:
    import psycopg

STORE = "rds"
# Refusals that do not mean the writer is gone: skip this canary and keep writing.
TRANSIENT_SQLSTATES = frozenset({
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
})
_CLOSE_TIMEOUT_S = 10.0


class RdsCanaryWriter(PacedCanaryWriter):
    """Writes RDS canaries into the writer ``spec`` names (one connection, autocommit)."""

    store = STORE

    def __init__(self, spec: DbConnectionSpec, drill_id: str, *, interval_s: float,
                 ttl_s: float, clock: Callable[[], float] = time.time):
        super().__init__(drill_id, interval_s=interval_s, ttl_s=ttl_s, clock=clock)
        self.spec = spec
        self.region = spec.region
        self._connection: psycopg.Connection[Any] | None = None

    def start(self) -> RdsCanaryWriter:
        """Connect and ensure the table (errors raise here, nothing written), then write."""
        if self._connection is not None:
            raise RuntimeError("this canary writer was already started; make a new one")
        import psycopg

        with translated(self.spec, f"start RDS canary writer into {TABLE}"):
            connection = psycopg.connect(**self.spec.connect_kwargs(read_only=False),
                                         autocommit=True)
            try:
                ensure_canary_table(connection)
            except BaseException:
                connection.close()
                raise
        self._connection = connection
        super().start()
        return self

    def stop(self, timeout_s: float = _CLOSE_TIMEOUT_S) -> bool:
        """Stop writing and close the connection; True if the thread ended in time."""
        import psycopg

        ended = super().stop(timeout_s)
        if ended and self._connection is not None:
            with contextlib.suppress(psycopg.Error):  # a broken connection closes anyway
                self._connection.close()
        return ended

    def _write(self, seq: int, written_at: float, expires_at: int) -> None:
        import psycopg

        assert self._connection is not None
        try:
            self._connection.execute(INSERT_SQL, (self.drill_id, KIND_RPO, seq, written_at,
                                                  self.region, self.spec.instance,
                                                  float(expires_at)))
        except psycopg.Error as error:  # refused, reset, read-only, timed out: the outage
            transient = getattr(error, "sqlstate", None) in TRANSIENT_SQLSTATES
            raise WriteRejected(self._describe(seq, error), transient=transient) from error

    def _describe(self, seq: int, error: psycopg.Error) -> str:
        state = getattr(error, "sqlstate", None) or type(error).__name__
        text = scrub(str(error), self.spec)
        return f"insert canary seq {seq} into {self.spec.endpoint}: {state}: {text}"


def read_canaries(spec: DbConnectionSpec, drill_id: str) -> list[Canary]:
    """Every RPO canary of ``drill_id`` on the database ``spec`` names, by seq (read-only).

    Raises ``NotFound`` when the canary table is not there, ``Unreachable`` when the
    database does not answer.
    """
    import psycopg

    observation = f"read RDS canaries of drill {drill_id}"
    with connect(spec, observation=observation) as connection:
        try:
            rows = connection.execute(
                f"SELECT seq, written_at FROM {TABLE} WHERE drill_id = %s AND kind = %s"
                " ORDER BY seq", (drill_id, KIND_RPO)).fetchall()
        except psycopg.errors.UndefinedTable as error:
            raise NotFound(f"canary table {TABLE} not found on {spec.endpoint}") from error
    return [Canary(seq=int(seq), written_at=float(at)) for seq, at in rows]


Locator = Callable[[RegionClients], DbConnectionSpec]


@dataclass(frozen=True)
class GivenRegion:
    """A region known only by name, for a store over given connection specs (no AWS)."""

    region: str
    target_name: str = "given"

    def client(self, service: str) -> Any:
        raise NotImplementedError(f"no AWS client for {service}: database endpoints given")


class RdsCanaryStore:
    """The ``RpoStore`` of RDS: canaries in the suite's table on the region's database.

    ``locate`` answers which database to use in a region (its connection spec); build it with
    ``rds_store`` (the topology's instance of each region, endpoint from RDS, credentials
    from the target) or ``for_specs`` (given specs, keyed by region).
    """

    name = STORE

    def __init__(self, locate: Locator):
        self.locate = locate

    @classmethod
    def for_specs(cls, specs: Mapping[str, DbConnectionSpec]) -> RdsCanaryStore:
        by_region = dict(specs)
        return cls(lambda place: by_region[place.region])

    def writer(self, primary: RegionClients, drill_id: str, *, interval_s: float,
               ttl_s: float) -> RdsCanaryWriter:
        return RdsCanaryWriter(self.locate(primary), drill_id, interval_s=interval_s,
                               ttl_s=ttl_s)

    def read(self, secondary: RegionClients, drill_id: str) -> list[Canary]:
        return read_canaries(self.locate(secondary), drill_id)


def rds_store(topology: Topology, access: DatabaseAccess | None) -> RdsCanaryStore:
    """The store over the topology's RDS instance in each region (``NotConfigured`` without
    ``access``, raised when a writer is made or canaries are read). In the primary region
    that is the writer of its two names (``probes.rds.primary_writer_name``: after a
    completed failback the writer may be ``topology.failback_replica``, the other name a
    stopped old writer)."""

    def locate(place: RegionClients) -> DbConnectionSpec:
        if place.region == topology.primary.region:
            instance = rds_probes.primary_writer_name(place, topology)  # type: ignore[arg-type]
        else:
            instance = topology.region(place.region).rds_instance
        return connection_spec(place, access, instance)  # type: ignore[arg-type]

    return RdsCanaryStore(locate)
