"""Where and as whom the suite connects to an RDS instance's PostgreSQL.

The endpoint (``rds_endpoint``), a login from Secrets Manager (``secret_login``: the only
``get_secret_value`` of the suite's database access) or an RDS IAM token (``iam_login``), the
target's settings (``DbSettings``) and the whole ``DbConnectionSpec`` with its bounded libpq
options. Also the two refusals (``NotConfigured``, ``DatabaseAccessDenied``) and the filter that
withholds botocore's DEBUG log of a secret-bearing response body (installed on import). Not
supported: client certificates, RDS Proxy, Aurora cluster endpoints, token refresh.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import ClientError

from maip_drlib.config import (
    DEFAULT_DB_CONNECT_TIMEOUT_S,
    DEFAULT_DB_NAME,
    DEFAULT_DB_STATEMENT_TIMEOUT_S,
    DatabaseAccess,
    Target,
)
from maip_drlib.errors import CheckFailed, DRError, NotFound
from maip_drlib.evidence.redact import default_redactor
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes import rds as rds_probes
from maip_drlib.regions import RegionHandle

APPLICATION_NAME = "maip-dr"
NOT_CONFIGURED = "not configured"
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
