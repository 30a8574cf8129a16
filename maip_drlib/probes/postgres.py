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
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from maip_drlib.config import (
    DEFAULT_DB_CONNECT_TIMEOUT_S,
    DEFAULT_DB_NAME,
    DEFAULT_DB_STATEMENT_TIMEOUT_S,
    DatabaseAccess,
    Target,
)
from maip_drlib.errors import CheckFailed, DRError, NotFound, Unreachable
from maip_drlib.evidence.redact import default_redactor
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "maip-dr"
NOT_CONFIGURED = "not configured"
_AUTH_STATES = frozenset({"28P01", "28000"})
_AUTH_WORDS = ("password authentication failed", "PAM authentication failed",
               "no pg_hba.conf entry", "authentication failed")
_KEEPALIVE_IDLE_S = 5
_KEEPALIVE_INTERVAL_S = 2
_KEEPALIVE_COUNT = 3


_SECRET_BODY_MARKERS = ('"SecretString"', '"SecretBinary"')
_BODY_LOGGER = "botocore.parsers"
WITHHELD = "<response body withheld: it carries a secret value>"


class _WithholdSecretBodies(logging.Filter):
    """Withhold a log record's text when it would print a secret-bearing response body.

    Works on both shapes a record can have here: arguments still apart (``args``), or the
    message already formatted at creation (a redacting record factory sets ``args`` None).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        texts = [str(record.msg)] + [
            value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray)
            else str(value) for value in args]
        if any(mark in text for text in texts for mark in _SECRET_BODY_MARKERS):
            record.msg, record.args = f"Response body: {WITHHELD}", None
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger(_BODY_LOGGER)
    if not any(isinstance(item, _WithholdSecretBodies) for item in logger.filters):
        logger.addFilter(_WithholdSecretBodies())


_install_log_filter()


class NotConfigured(DRError):
    """The target has no database access configured: no verdict, never a pass (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, target: str | None = None):
        self.target = target
        self.status = NOT_CONFIGURED
        super().__init__(f"{NOT_CONFIGURED}: {message}")


class DatabaseAccessDenied(DRError):
    """The database refused the login or a privilege: fix the credentials (exit 2)."""

    exit_code = 2

    def __init__(self, message: str, *, region: str, instance: str):
        self.region = region
        self.instance = instance
        super().__init__(message)


# -- where and as whom ---------------------------------------------------------------------


@dataclass(frozen=True)
class DbEndpoint:
    """An RDS instance's address: where its PostgreSQL listens."""

    region: str
    instance: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.instance} ({self.region}) at {self.host}:{self.port}"


@dataclass(frozen=True)
class DbLogin:
    """A database user and its password or IAM token (hidden from ``repr`` and ``str``)."""

    username: str
    password: str = field(repr=False)
    method: Literal["secret", "iam", "given"] = "given"
    source: str = ""  # the secret id, or "IAM token": a name, never the value

    def __str__(self) -> str:
        return f"{self.username} ({self.method}{': ' + self.source if self.source else ''})"


@dataclass(frozen=True)
class DbSettings:
    """Connection settings apart from the login (from the target's ``DatabaseAccess``)."""

    dbname: str = DEFAULT_DB_NAME
    sslmode: str = "prefer"
    sslrootcert: Path | None = None
    connect_timeout_s: float = DEFAULT_DB_CONNECT_TIMEOUT_S
    statement_timeout_s: float = DEFAULT_DB_STATEMENT_TIMEOUT_S

    @classmethod
    def from_access(cls, access: DatabaseAccess) -> DbSettings:
        return cls(dbname=access.dbname, sslmode=access.sslmode,
                   sslrootcert=access.sslrootcert, connect_timeout_s=access.connect_timeout_s,
                   statement_timeout_s=access.statement_timeout_s)


@dataclass(frozen=True)
class DbConnectionSpec:
    """Everything ``connect`` needs for one instance; its ``repr`` holds no secret."""

    endpoint: DbEndpoint
    login: DbLogin
    settings: DbSettings = field(default_factory=DbSettings)

    @property
    def region(self) -> str:
        return self.endpoint.region

    @property
    def instance(self) -> str:
        return self.endpoint.instance

    def __str__(self) -> str:
        return f"PostgreSQL {self.endpoint} as {self.login.username}"

    def connect_kwargs(self, *, read_only: bool) -> dict[str, Any]:
        """libpq parameters (the password included: never log the result)."""
        settings = self.settings
        statement_ms = max(1, int(settings.statement_timeout_s * 1000))
        options = [f"-c statement_timeout={statement_ms}", f"-c lock_timeout={statement_ms}",
                   f"-c idle_in_transaction_session_timeout={statement_ms * 3}"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        connect_s = max(2, math.ceil(settings.connect_timeout_s))  # libpq's floor is 2 s
        kwargs: dict[str, Any] = {
            "host": self.endpoint.host, "port": self.endpoint.port, "dbname": settings.dbname,
            "user": self.login.username, "password": self.login.password,
            "sslmode": settings.sslmode, "connect_timeout": connect_s,
            "application_name": APPLICATION_NAME, "options": " ".join(options),
            "keepalives": 1, "keepalives_idle": _KEEPALIVE_IDLE_S,
            "keepalives_interval": _KEEPALIVE_INTERVAL_S,
            "keepalives_count": _KEEPALIVE_COUNT,
            # Sent data unacknowledged this long drops the connection (a black-holed peer).
            "tcp_user_timeout": int((connect_s + settings.statement_timeout_s) * 1000),
        }
        if settings.sslrootcert is not None:
            kwargs["sslrootcert"] = str(settings.sslrootcert)
        return kwargs


def rds_endpoint(handle: RegionHandle, instance: str) -> DbEndpoint:
    """The endpoint RDS reports for ``instance`` (``describe_db_instances``)."""
    fact = rds_probes.db_instance(handle, instance)
    if not fact.endpoint or not fact.port:
        raise CheckFailed("RDS instance has no endpoint yet", region=handle.region,
                          resource=instance, expected="an endpoint address and port",
                          observed=f"status {fact.status}")
    return DbEndpoint(region=handle.region, instance=instance, host=fact.endpoint,
                      port=fact.port)


def secret_login(handle: RegionHandle, secret_id: str) -> DbLogin:
    """The login in Secrets Manager secret ``secret_id`` (the RDS credentials JSON)."""
    where = f"secret {secret_id} in {handle.region}"
    try:
        with aws_api(handle, "secretsmanager"):
            answer = handle.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise NotFound(f"{where} not found") from error
        raise
    text = answer.get("SecretString")
    if not isinstance(text, str):
        raise CheckFailed(f"{where} holds no text", region=handle.region, resource=secret_id,
                          expected="the RDS credentials JSON", observed="a binary secret")
    try:
        document = json.loads(text)
    except ValueError:
        document = None  # the text itself is never quoted: it may be the password
    if not isinstance(document, dict):
        raise CheckFailed(f"{where} is not JSON", region=handle.region, resource=secret_id,
                          expected="the RDS credentials JSON (username, password)",
                          observed="other text (not shown)")
    username, password = document.get("username"), document.get("password")
    if not (isinstance(username, str) and username and isinstance(password, str)
            and password):
        raise CheckFailed(f"{where} lacks a username or password", region=handle.region,
                          resource=secret_id, expected="string fields username and password",
                          observed="fields: " + ", ".join(sorted(map(str, document))))
    default_redactor().add(password)  # evidence and notifications mask it from now on
    return DbLogin(username=username, password=password, method="secret", source=secret_id)


def iam_login(handle: RegionHandle, endpoint: DbEndpoint, username: str) -> DbLogin:
    """A fresh RDS IAM auth token for ``username`` at ``endpoint`` (local presigning).

    The token is valid for 15 minutes and for new connections only; RDS accepts it over TLS
    only. It cannot be verified against a simulation (no IAM plugin there).
    """
    with aws_api(handle, "rds-db"):
        token = handle.client("rds").generate_db_auth_token(
            DBHostname=endpoint.host, Port=endpoint.port, DBUsername=username,
            Region=endpoint.region)
    return DbLogin(username=username, password=str(token), method="iam", source="IAM token")


def database_access(target: Target) -> DatabaseAccess:
    """The target's database access; ``NotConfigured`` when it has none."""
    if target.database is None:
        raise NotConfigured(
            f"target {target.name!r} ({target.kind}) has no database access "
            f"([targets.{target.name}.database], docs/data-plane.md); the database checks "
            "are reported not configured, never passed", target=target.name)
    return target.database


def connection_spec(handle: RegionHandle, access: DatabaseAccess | None, instance: str, *,
                    endpoint: DbEndpoint | None = None) -> DbConnectionSpec:
    """How to reach ``instance`` in ``handle``'s region with ``access``.

    ``endpoint`` defaults to what RDS reports. ``access`` None raises ``NotConfigured``.
    """
    if access is None:
        raise NotConfigured(f"no database access for {instance} in {handle.region}",
                            target=handle.target_name)
    found = endpoint or rds_endpoint(handle, instance)
    if access.iam_user:
        login = iam_login(handle, found, access.iam_user)
    else:
        secret_id = access.secret_id(handle.region)
        if secret_id is None:
            raise NotConfigured(f"no database secret for {handle.region}",
                                target=handle.target_name)
        login = secret_login(handle, secret_id)
    return DbConnectionSpec(endpoint=found, login=login,
                            settings=DbSettings.from_access(access))


# -- connections and error translation -----------------------------------------------------


def scrub(text: str, spec: DbConnectionSpec) -> str:
    """``text`` on one line, without the login's password (whatever a server echoes)."""
    secret = spec.login.password
    cleaned = text.replace(secret, "***") if secret else text
    return " ".join(cleaned.split())  # one line: libpq adds hints on new lines


def _is_auth_error(error: psycopg.Error) -> bool:
    return (getattr(error, "sqlstate", None) in _AUTH_STATES
            or any(word in str(error) for word in _AUTH_WORDS))


@contextmanager
def translated(spec: DbConnectionSpec, observation: str) -> Iterator[None]:
    """Turn driver errors inside into the library's typed errors naming ``observation``."""
    import psycopg  # imported when a database is used: importing this module stays cheap

    where = f"{spec.endpoint}: {observation}"
    started = time.monotonic()
    try:
        yield
    except psycopg.errors.QueryCanceled as error:
        raise Unreachable(
            f"{where}: no answer within the statement timeout "
            f"({spec.settings.statement_timeout_s:g}s): {scrub(str(error), spec)}",
            region=spec.region, target=spec.instance,
            elapsed_s=time.monotonic() - started) from error
    except psycopg.errors.ReadOnlySqlTransaction as error:
        raise CheckFailed(f"database does not accept writes: {observation}",
                          region=spec.region, resource=spec.instance,
                          expected="a writer that commits", observed="read-only (a standby, "
                          "in recovery, or a read-only session)") from error
    except psycopg.errors.InsufficientPrivilege as error:
        raise DatabaseAccessDenied(
            f"{where}: permission denied for {spec.login.username}: "
            f"{scrub(str(error), spec)}", region=spec.region,
            instance=spec.instance) from error
    except psycopg.OperationalError as error:
        if _is_auth_error(error):
            raise DatabaseAccessDenied(
                f"{where}: login refused for {spec.login}: {scrub(str(error), spec)}",
                region=spec.region, instance=spec.instance) from error
        raise Unreachable(f"{where}: {scrub(str(error), spec)}", region=spec.region,
                          target=spec.instance,
                          elapsed_s=time.monotonic() - started) from error
    except psycopg.Error as error:
        raise CheckFailed(f"{observation} failed", region=spec.region, resource=spec.instance,
                          observed=f"{getattr(error, 'sqlstate', None) or 'error'}: "
                          f"{scrub(str(error), spec)}") from error


@contextmanager
def connect(spec: DbConnectionSpec, *, read_only: bool = True,
            observation: str = "connect") -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to ``spec`` (read-only unless asked), closed on exit.

    Errors inside the block are translated too (see ``translated``).
    """
    import psycopg

    with translated(spec, observation):
        connection = psycopg.connect(**spec.connect_kwargs(read_only=read_only),
                                     autocommit=True)
        try:
            yield connection
        finally:
            connection.close()


# -- facts ---------------------------------------------------------------------------------


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
