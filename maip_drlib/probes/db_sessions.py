"""The services' sessions on a writer: the database half of "writes stopped" (fencing).

A planned failover may promote only once the platform's services have stopped writing: no
pod of theirs left (Terminating pods still hold their connections over their grace period)
and no session of theirs left on the old writer. With ``DatabaseAccess.services_user`` (TOML
``[targets.X.database] services_user``) only that database user's client sessions count;
without it every client session counts except the suite's own (application name
``probes.postgres.APPLICATION_NAME``), RDS's agent (``rdsadmin``) and replication, and the
evidence says so. Read-only: one ``pg_stat_activity`` query over the suite's connection.

Not supported: telling the services' sessions from an operator's psql session under the same
user (both count: fence both), sessions on other databases of the instance being told apart
(every database counts), terminating sessions (the drill never kills them).
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.probes import postgres as pg_probes

_SQL = (
    "SELECT pid, usename::text, coalesce(application_name, ''), state"
    " FROM pg_stat_activity"
    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    " AND datname IS NOT NULL AND coalesce(application_name, '') <> %s"
    " AND coalesce(usename::text, '') <> ALL(%s)"
)
_BY_USER = " AND usename = %s"


@dataclass(frozen=True)
class ServicesSessions:
    """The services' client sessions found on one writer, and whose were counted."""

    instance: str
    services_user: str | None
    sessions: tuple[pg_probes.SessionFact, ...]

    @property
    def scope(self) -> str:
        if self.services_user:
            return f"sessions of database user {self.services_user}"
        return ("sessions of every database user but the suite's and rdsadmin "
                "(services_user not configured)")

    def __str__(self) -> str:
        found = ", ".join(map(str, self.sessions[:10])) or "none"
        more = f" (+{len(self.sessions) - 10} more)" if len(self.sessions) > 10 else ""
        return f"{self.scope} on {self.instance}: {found}{more}"


def services_sessions(spec: pg_probes.DbConnectionSpec,
                      services_user: str | None) -> ServicesSessions:
    """The services' client sessions on ``spec``'s instance (module docstring)."""
    sql = _SQL + (_BY_USER if services_user else "")
    params: tuple[object, ...] = (pg_probes.APPLICATION_NAME,
                                  list(pg_probes.RDS_INTERNAL_USERS))
    if services_user:
        params += (services_user,)
    with pg_probes.connect(spec, observation="pg_stat_activity (services' sessions)") as conn:
        rows = conn.execute(sql, params).fetchall()
    found = tuple(pg_probes.SessionFact(pid=int(row[0]), user=str(row[1] or ""),
                                        application=str(row[2]), state=row[3]) for row in rows)
    return ServicesSessions(spec.instance, services_user, found)
