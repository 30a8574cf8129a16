"""PostgreSQL data plane of the RDS instances: connect through the RDS endpoint, read facts.

How it connects: the instance's endpoint (``describe_db_instances``: ``Endpoint.Address`` and
``Endpoint.Port``, or given), a login from the target's ``DatabaseAccess`` -- the RDS
credentials JSON of a Secrets Manager secret (``username``, ``password``; ``host``, ``port``,
``dbname`` are optional and ignored: the endpoint comes from RDS), read with
``get_secret_value`` in this module only, or an RDS IAM auth token for a database user
(``generate_db_auth_token``: made locally, valid 15 minutes, for one new connection) -- and
bounded timeouts (connect, every statement, TCP keepalives and ``tcp_user_timeout``).
Probe sessions are read-only (``default_transaction_read_only``), except ``write_state``'s one
SELECT (that option would hide the server's own default); actions open read-write sessions
through the same ``connect``.

Facts: writer or standby (``pg_is_in_recovery()``); whether it takes writes
(``write_state``: also ``default_transaction_read_only``); the services' sessions
(``service_sessions``, ``pg_stat_activity``: fencing evidence of a planned failover); a
standby's real lag: the time since the last replayed commit
(``now() - pg_last_xact_replay_timestamp()`` on the standby) and the WAL distance
(``pg_wal_lsn_diff`` of the writer's ``pg_current_wal_lsn()`` and the standby's
``pg_last_wal_replay_lsn()``). Errors are the library's: ``Unreachable`` (no connection, no
answer within the timeouts), ``CheckFailed`` (an answer that is a verdict), ``NotFound``,
``DatabaseAccessDenied`` (login or privilege refused: exit 2) and ``NotConfigured`` (a target
without database access: the check is reported "not configured", never passed). Every
message names region, instance and observation.

Secrets: a password or token lives only in a ``DbLogin`` (hidden from its ``repr``) and in
the libpq connection; it is never logged, never in a fact, an error message or a ``repr``
(messages are scrubbed of it in case a server echoes it). A password read from Secrets
Manager is added to the process-wide redactor of the evidence layer, and botocore's DEBUG
log of a response body that carries a secret value is withheld (a filter on its parser's
logger, installed when this module is imported).

Not supported: IAM authentication against the simulation (its PostgreSQL has no IAM plugin;
a token is generated, never accepted there), TLS against the simulation, client
certificates, Aurora cluster endpoints, RDS Proxy, token refresh on a long-lived
connection (a new connection gets a new token), a lag figure when the writer is down (the
WAL distance needs the writer; the replay time alone is then given).

The parts: ``login`` (endpoint, credentials, settings, the connection spec, the two errors and
the filter on botocore's log), ``session`` (bounded connections and the translation of driver
errors), ``facts`` (writer or standby, writes, the services' sessions, a standby's real lag).
Callers import this package; its names are those of the parts.
"""

from __future__ import annotations

from maip_drlib.probes.postgres.facts import (
    RDS_INTERNAL_USERS,
    DbRoleFact,
    SessionFact,
    StandbyLagFact,
    WriteStateFact,
    database_role,
    service_sessions,
    standby_lag,
    write_state,
)
from maip_drlib.probes.postgres.login import (
    APPLICATION_NAME,
    NOT_CONFIGURED,
    WITHHELD,
    DatabaseAccessDenied,
    DbConnectionSpec,
    DbEndpoint,
    DbLogin,
    DbSettings,
    NotConfigured,
    connection_spec,
    database_access,
    iam_login,
    rds_endpoint,
    secret_login,
)
from maip_drlib.probes.postgres.session import connect, scrub, translated

__all__ = [
    "APPLICATION_NAME", "NOT_CONFIGURED", "RDS_INTERNAL_USERS", "WITHHELD",
    "DatabaseAccessDenied", "DbConnectionSpec", "DbEndpoint", "DbLogin", "DbRoleFact",
    "DbSettings", "NotConfigured", "SessionFact", "StandbyLagFact", "WriteStateFact", "connect",
    "connection_spec", "database_access", "database_role", "iam_login", "rds_endpoint", "scrub",
    "secret_login", "service_sessions", "standby_lag", "translated", "write_state",
]
