"""Facts PostgreSQL gives about an RDS instance, each read in one read-only session.

Writer or standby (``database_role``), whether it takes writes (``write_state``), the
services' sessions (``service_sessions``: fencing evidence) and a standby's real lag
(``standby_lag``: replay time and WAL distance to the writer). Not supported: a WAL distance
when the writer is down (the replay time alone is then given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from maip_drlib.errors import CheckFailed, Unreachable
from maip_drlib.probes.postgres.login import APPLICATION_NAME, DbConnectionSpec
from maip_drlib.probes.postgres.session import connect


@dataclass(frozen=True)
class DbRoleFact:
    """What a database says it is: a writer, or a standby in recovery."""

    region: str
    instance: str
    in_recovery: bool
    server_version: str

    @property
    def role(self) -> Literal["writer", "standby"]:
        return "standby" if self.in_recovery else "writer"

    def __str__(self) -> str:
        return (f"PostgreSQL {self.instance} ({self.region}): {self.role} "
                f"(pg_is_in_recovery={str(self.in_recovery).lower()}), "
                f"server {self.server_version}")


@dataclass(frozen=True)
class StandbyLagFact:
    """A standby's real lag behind its writer, read over SQL on both.

    ``replay_age_s``: seconds since the commit time of the last transaction the standby
    replayed (None before the first); it also grows while the writer is idle, so it is lag
    only while ``lsn_distance_bytes`` > 0. ``lsn_distance_bytes``: WAL the writer wrote that
    the standby has not replayed (None when the writer could not be read, see ``note``).
    ``receiving``: the WAL receiver streams (None when the user may not see it).
    """

    region: str
    instance: str
    in_recovery: bool
    replay_age_s: float | None
    replay_lsn: str | None
    writer_lsn: str | None
    lsn_distance_bytes: int | None
    receiving: bool | None
    writer: str | None = None
    note: str = ""

    @property
    def caught_up(self) -> bool:
        return self.lsn_distance_bytes == 0

    @property
    def lag_s(self) -> float | None:
        """Seconds behind: 0 when caught up, else the replay age (None when unknown)."""
        if self.caught_up:
            return 0.0
        return self.replay_age_s

    def __str__(self) -> str:
        if not self.in_recovery:
            return f"PostgreSQL {self.instance} ({self.region}): not a standby (a writer)"
        age = "none replayed" if self.replay_age_s is None else f"{self.replay_age_s:.3f}s"
        distance = ("unknown" if self.lsn_distance_bytes is None
                    else f"{self.lsn_distance_bytes} bytes")
        text = (f"PostgreSQL standby {self.instance} ({self.region}) behind "
                f"{self.writer or 'its writer'}: WAL distance {distance}, last replayed "
                f"commit {age} ago, receiving={self.receiving}")
        return f"{text} ({self.note})" if self.note else text


def database_role(spec: DbConnectionSpec) -> DbRoleFact:
    """Writer or standby, as the database itself says (``pg_is_in_recovery()``)."""
    observation = "pg_is_in_recovery()"
    with connect(spec, observation=observation) as connection:
        row = connection.execute(
            "SELECT pg_is_in_recovery(), current_setting('server_version')").fetchone()
    if row is None:
        raise CheckFailed(f"{observation} returned nothing", region=spec.region,
                          resource=spec.instance)
    return DbRoleFact(region=spec.region, instance=spec.instance, in_recovery=bool(row[0]),
                      server_version=str(row[1]))


@dataclass(frozen=True)
class WriteStateFact:
    """Whether a database takes writes: not in recovery and not read-only by default.

    ``default_read_only`` is the server's (or database's, or role's) own default, read on a
    session opened without the suite's read-only option.
    """

    region: str
    instance: str
    in_recovery: bool
    default_read_only: bool

    @property
    def accepts_writes(self) -> bool:
        return not (self.in_recovery or self.default_read_only)

    def __str__(self) -> str:
        verdict = "takes writes" if self.accepts_writes else "refuses writes"
        return (f"PostgreSQL {self.instance} ({self.region}) {verdict} "
                f"(pg_is_in_recovery={str(self.in_recovery).lower()}, "
                f"default_transaction_read_only={'on' if self.default_read_only else 'off'})")


def write_state(spec: DbConnectionSpec) -> WriteStateFact:
    """``pg_is_in_recovery()`` and ``default_transaction_read_only`` of ``spec``'s database.

    The session is opened WITHOUT the probes' ``default_transaction_read_only=on`` option
    (that option would hide the server's own setting) and runs one SELECT, nothing else.
    """
    observation = "pg_is_in_recovery(), default_transaction_read_only"
    with connect(spec, read_only=False, observation=observation) as connection:
        row = connection.execute(
            "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')"
        ).fetchone()
    if row is None:
        raise CheckFailed(f"{observation} returned nothing", region=spec.region,
                          resource=spec.instance)
    return WriteStateFact(region=spec.region, instance=spec.instance, in_recovery=bool(row[0]),
                          default_read_only=str(row[1]).lower() in ("on", "true", "1"))


# Sessions of the suite itself (its application name), of RDS's own agent and of
# replication never count as the services' sessions.
RDS_INTERNAL_USERS = ("rdsadmin",)
_SESSIONS_SQL = (
    "SELECT pid, usename::text, coalesce(application_name, ''), state"
    " FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    " AND datname IS NOT NULL AND coalesce(application_name, '') <> %s"
    " AND coalesce(usename::text, '') <> ALL(%s)"
)


@dataclass(frozen=True)
class SessionFact:
    """One client session on a database (``pg_stat_activity``), never its query text."""

    pid: int
    user: str
    application: str
    state: str | None

    def __str__(self) -> str:
        return (f"session {self.pid} of {self.user or '?'} "
                f"({self.application or 'no application name'}, {self.state or 'unknown'})")


def service_sessions(spec: DbConnectionSpec, *, users: tuple[str, ...] = ()
                     ) -> tuple[SessionFact, ...]:
    """Client sessions of the services on ``spec``'s database (``pg_stat_activity``).

    Every client session counts except this one, the suite's own (application name
    ``APPLICATION_NAME``), RDS's agent (``RDS_INTERNAL_USERS``) and replication; ``users``
    narrows it to those database users. Not supported: telling the services' sessions from
    an operator's psql session under the same user (both count: fence both).
    """
    with connect(spec, observation="pg_stat_activity") as connection:
        rows = connection.execute(_SESSIONS_SQL, (APPLICATION_NAME,
                                                  list(RDS_INTERNAL_USERS))).fetchall()
    found = tuple(SessionFact(pid=int(row[0]), user=str(row[1] or ""), application=str(row[2]),
                              state=row[3]) for row in rows)
    return tuple(item for item in found if not users or item.user in users)


_STANDBY_SQL = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
    " EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp()))::float8,"
    " (SELECT status FROM pg_stat_wal_receiver LIMIT 1),"
    " EXISTS (SELECT 1 FROM pg_stat_wal_receiver)"
)


def standby_lag(standby: DbConnectionSpec,
                writer: DbConnectionSpec | None = None) -> StandbyLagFact:
    """The lag of ``standby`` behind ``writer`` (each read over its own connection).

    A ``writer`` that cannot be read leaves the WAL distance unknown and says why in
    ``note``; the standby that cannot be read raises. A server that is not in recovery gives
    a fact with ``in_recovery`` False (the caller decides whether that is a failure).
    """
    with connect(standby, observation="replay position and time") as connection:
        row = connection.execute(_STANDBY_SQL).fetchone()
    assert row is not None
    in_recovery, replay_lsn, age, status, has_receiver = row
    receiving: bool | None = status == "streaming" if status is not None else (
        None if has_receiver else False)
    common: dict[str, Any] = {"region": standby.region, "instance": standby.instance,
                              "writer": writer.instance if writer else None}
    if not in_recovery:
        return StandbyLagFact(in_recovery=False, replay_age_s=None, replay_lsn=None,
                              writer_lsn=None, lsn_distance_bytes=None, receiving=False,
                              note="not in recovery", **common)
    writer_lsn, distance, note = None, None, ""
    if writer is None:
        note = "no writer given: WAL distance unknown"
    elif replay_lsn is None:
        note = "nothing replayed yet"
    else:
        try:
            with connect(writer, observation="pg_current_wal_lsn()") as connection:
                lsn_row = connection.execute(
                    "SELECT pg_current_wal_lsn()::text,"
                    " pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)::float8",
                    (replay_lsn,)).fetchone()
        except (Unreachable, CheckFailed) as error:
            note = f"writer not read: {error}"
        else:
            if lsn_row is not None:
                writer_lsn = lsn_row[0]
                distance = max(0, int(lsn_row[1]))
    return StandbyLagFact(in_recovery=True,
                          replay_age_s=None if age is None else max(0.0, round(age, 3)),
                          replay_lsn=replay_lsn, writer_lsn=writer_lsn,
                          lsn_distance_bytes=distance, receiving=receiving, note=note,
                          **common)
