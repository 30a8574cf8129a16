"""Small facts about a simulated server, read over SQL: role and replication lag.

Used by the tests and the simulation's own views; the DR library's data-plane probes (which
also work live) are separate. Not supported: lag of a standby whose writer is down (the LSN
distance needs the writer; the replay timestamp alone is then reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from maip_drlib.sim.postgres.errors import wait_until
from maip_drlib.sim.postgres.server import PgServer


@dataclass(frozen=True)
class StandbyLag:
    """How far a standby is behind its writer.

    ``lsn_distance_bytes``: WAL the writer has written that the standby has not replayed
    (None when the writer was not reachable). ``replay_timestamp``: commit time of the last
    transaction the standby replayed (None before the first). ``receiving``: whether its WAL
    receiver is streaming right now.
    """

    in_recovery: bool
    lsn_distance_bytes: int | None
    replay_timestamp: datetime | None
    receiving: bool


def standby_lag(writer: PgServer | None, standby: PgServer) -> StandbyLag:
    """The lag of ``standby`` behind ``writer`` (each read over its own connection)."""
    with standby.connect() as connection:
        row = connection.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(),"
            " pg_last_xact_replay_timestamp(),"
            " EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')"
        ).fetchone()
    assert row is not None
    in_recovery, replay_lsn, replay_timestamp, receiving = row
    distance: int | None = None
    if writer is not None and replay_lsn is not None:
        try:
            with writer.connect() as connection:
                lsn_row = connection.execute(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (replay_lsn,)
                ).fetchone()
        except psycopg.OperationalError:
            lsn_row = None
        if lsn_row is not None and lsn_row[0] is not None:
            distance = max(0, int(lsn_row[0]))
    return StandbyLag(bool(in_recovery), distance, replay_timestamp, bool(receiving))


def wait_caught_up(writer: PgServer, standby: PgServer, *, timeout_s: float) -> StandbyLag:
    """Wait until ``standby`` has replayed everything ``writer`` has written; bounded."""

    def caught_up() -> StandbyLag | None:
        lag = standby_lag(writer, standby)
        return lag if lag.lsn_distance_bytes == 0 else None

    return wait_until(f"standby {standby.name} catches up with {writer.name}", caught_up,
                      timeout_s=timeout_s)
