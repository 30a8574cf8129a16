"""PostgreSQL actions (game days only): the suite's canary table, and "accepts writes".

The suite owns one small table, ``maip_dr.canaries`` (created with its schema when missing,
in the database the target's ``DatabaseAccess`` names), never business data: one row per
canary, keyed by drill id, kind (``rpo``: the paced RPO canaries of ``maip_drlib.rpo.rds``;
``write``: "accepts writes" checks) and sequence number, with the writer's clock
(``written_at``, epoch seconds), the region and instance written to, the server's commit
time and an expiry (``expires_at``). PostgreSQL has no TTL: rows past their expiry are
deleted whenever the table is ensured on a writer (each "accepts writes" check and each
canary writer start).

Mutating: like every action here, the caller owns the guards (``require_execute`` and the
stage's own checks, ``maip_drlib.drill.guards``) and calls these only in game days; nothing in
readiness writes. Not supported: another schema or table name, databases where the login
may not create a schema (create ``maip_dr.canaries`` beforehand with the columns below and
grant INSERT, SELECT, DELETE on it), writes through a connection pooler in transaction mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maip_drlib.errors import CheckFailed
from maip_drlib.probes.postgres import DbConnectionSpec, connect

if TYPE_CHECKING:
    import psycopg

SCHEMA = "maip_dr"
TABLE = f"{SCHEMA}.canaries"
KIND_RPO = "rpo"
KIND_WRITE = "write"
DEFAULT_TTL_S = 7 * 86400.0

_CREATE = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " drill_id text NOT NULL,"
    " kind text NOT NULL,"
    " seq bigint NOT NULL,"
    " written_at double precision NOT NULL,"
    " written_in text NOT NULL,"
    " instance text NOT NULL,"
    " committed_at timestamptz NOT NULL DEFAULT now(),"
    " expires_at timestamptz NOT NULL,"
    " PRIMARY KEY (drill_id, kind, seq))",
)
INSERT_SQL = (
    f"INSERT INTO {TABLE} (drill_id, kind, seq, written_at, written_in, instance, expires_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, to_timestamp(%s)) RETURNING committed_at"
)


def ensure_canary_table(connection: psycopg.Connection[Any]) -> None:
    """Create the schema and table when missing; delete expired rows (a writer only)."""
    import psycopg

    found = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()
    if not (found and found[0]):
        for statement in _CREATE:
            try:
                connection.execute(statement)
            except psycopg.errors.UniqueViolation:  # created by a concurrent session
                continue
    connection.execute(f"DELETE FROM {TABLE} WHERE expires_at < now()")


@dataclass(frozen=True)
class WriteAccepted:
    """A write the database committed and returned on a new session."""

    region: str
    instance: str
    drill_id: str
    seq: int
    written_at: float
    elapsed_s: float

    def __str__(self) -> str:
        return (f"PostgreSQL {self.instance} ({self.region}) accepts writes: canary "
                f"{self.drill_id}/{KIND_WRITE}/{self.seq} committed and read back in "
                f"{self.elapsed_s:.3f}s")


def accepts_writes(spec: DbConnectionSpec, drill_id: str, *, ttl_s: float = DEFAULT_TTL_S,
                   clock: Callable[[], float] = time.time) -> WriteAccepted:
    """Commit one row into the canary table of ``spec`` and read it back on a new session.

    Raises ``CheckFailed`` when the database refuses the write (read-only: a standby) or the
    row is not there afterwards, ``Unreachable`` when it does not answer in time.
    """
    if not drill_id:
        raise ValueError("drill_id must not be empty")
    started = time.monotonic()
    written_at = round(clock(), 3)
    seq = time.time_ns() // 1000  # unique per check within a drill (microseconds)
    observation = f"accepts writes (insert into {TABLE})"
    with connect(spec, read_only=False, observation=observation) as connection:
        ensure_canary_table(connection)
        connection.execute(INSERT_SQL, (drill_id, KIND_WRITE, seq, written_at, spec.region,
                                        spec.instance, written_at + ttl_s))
    with connect(spec, observation=f"read back canary {drill_id}/{KIND_WRITE}/{seq}") as again:
        row = again.execute(
            f"SELECT written_at FROM {TABLE} WHERE drill_id = %s AND kind = %s AND seq = %s",
            (drill_id, KIND_WRITE, seq)).fetchone()
    if row is None:
        raise CheckFailed("committed write not found on a new session", region=spec.region,
                          resource=spec.instance, expected=f"canary {drill_id}/{seq}",
                          observed="no such row")
    return WriteAccepted(region=spec.region, instance=spec.instance, drill_id=drill_id,
                         seq=seq, written_at=written_at,
                         elapsed_s=round(time.monotonic() - started, 3))

