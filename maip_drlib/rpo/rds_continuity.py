"""Failback data continuity: what DR holds of a drill is on the new primary-region database.

Before traffic shifts back (failback stage 2 or 3), every row of the drill in the suite's
canary table on the DR database (the promoted instance: the RPO canaries that reached it and
the "accepts writes" rows written in DR during the outage) must be on the new database in the
primary region (``maip-prod-postgres-new``, a replica of the DR one, readable as a hot
standby). ``data_continuity`` reads both (read-only), waits a bounded ``settle_s`` for rows
still replicating, and raises ``CheckFailed`` naming the missing rows; a DR database with no
row written in DR for the drill fails too (nothing would prove continuity: run the
"accepts writes" action in DR first).

Not supported: business tables (only the suite's canary rows are compared), rows of other
drills, comparing row contents beyond their keys.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from maip_drlib.actions.postgres import TABLE
from maip_drlib.errors import CheckFailed, NotFound, Unreachable
from maip_drlib.probes.postgres import DbConnectionSpec, connect

DEFAULT_SETTLE_S = 30.0
DEFAULT_POLL_S = 0.2
_SHOWN = 10  # missing rows named in a message, at most

RowKey = tuple[str, int]  # (kind, seq)


@dataclass(frozen=True)
class ContinuityFact:
    """Rows of one drill in DR, and whether each is on the new primary-region database."""

    drill_id: str
    source: str  # "<instance> (<region>)"
    destination: str
    rows_in_source: int
    written_in_source: int  # rows written in the source's region (during the outage)
    missing: tuple[str, ...]  # "<kind>/<seq>" of rows not on the destination
    waited_s: float

    @property
    def passed(self) -> bool:
        return self.written_in_source > 0 and not self.missing

    def __str__(self) -> str:
        return (f"drill {self.drill_id}: {self.rows_in_source} canary rows on {self.source} "
                f"({self.written_in_source} written there), {len(self.missing)} missing on "
                f"{self.destination} after {self.waited_s:.1f}s")


def _rows(spec: DbConnectionSpec, drill_id: str) -> dict[RowKey, str]:
    import psycopg

    with connect(spec, observation=f"read canary rows of drill {drill_id}") as connection:
        try:
            found = connection.execute(
                f"SELECT kind, seq, written_in FROM {TABLE} WHERE drill_id = %s",
                (drill_id,)).fetchall()
        except psycopg.errors.UndefinedTable as error:
            raise NotFound(f"canary table {TABLE} not found on {spec.endpoint}") from error
    return {(str(kind), int(seq)): str(region) for kind, seq, region in found}


def data_continuity(source: DbConnectionSpec, destination: DbConnectionSpec, drill_id: str,
                    *, settle_s: float = DEFAULT_SETTLE_S,
                    poll_s: float = DEFAULT_POLL_S) -> ContinuityFact:
    """Check that ``destination`` holds every canary row of ``drill_id`` that ``source`` does.

    ``source`` is the DR database that served during the outage; ``destination`` the new
    database in the primary region. Polls ``destination`` until every row is there or
    ``settle_s`` passed (an unanswered read is retried until then). Returns the fact when it
    passed; raises ``CheckFailed`` (missing rows, or none written in DR) otherwise.
    """
    if settle_s < 0 or poll_s <= 0:
        raise ValueError("settle_s must be >= 0 and poll_s > 0")
    wanted = _rows(source, drill_id)
    written_here = sum(1 for region in wanted.values() if region == source.region)
    names = {"source": f"{source.instance} ({source.region})",
             "destination": f"{destination.instance} ({destination.region})"}
    if written_here == 0:
        raise CheckFailed(
            f"no row of drill {drill_id} was written on {names['source']}: nothing proves "
            "data continuity", region=source.region, resource=source.instance,
            expected=f">= 1 canary row written in {source.region} during the outage (the "
            "accepts-writes action)", observed=f"{len(wanted)} rows, none written there")
    started = time.monotonic()
    deadline = started + settle_s
    missing: list[RowKey] = sorted(wanted)
    last_error: Unreachable | None = None
    while True:
        try:
            present = _rows(destination, drill_id)
            missing = sorted(key for key in wanted if key not in present)
            last_error = None
        except (Unreachable, NotFound) as error:
            last_error = error if isinstance(error, Unreachable) else None
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
    waited = round(time.monotonic() - started, 3)
    if last_error is not None and missing:
        raise Unreachable(f"data continuity of drill {drill_id}: {names['destination']} not "
                          f"read within {settle_s:g}s: {last_error}", region=destination.region,
                          target=destination.instance, elapsed_s=waited) from last_error
    fact = ContinuityFact(drill_id=drill_id, rows_in_source=len(wanted),
                          written_in_source=written_here,
                          missing=tuple(f"{kind}/{seq}" for kind, seq in missing),
                          waited_s=waited, **names)
    if missing:
        shown = ", ".join(fact.missing[:_SHOWN]) + (" ..." if len(missing) > _SHOWN else "")
        raise CheckFailed(
            f"rows written in DR are missing on {names['destination']}",
            region=destination.region, resource=destination.instance,
            expected=f"all {len(wanted)} canary rows of drill {drill_id} from "
                     f"{names['source']}",
            observed=f"{len(missing)} missing after {waited:.1f}s: {shown}")
    return fact
