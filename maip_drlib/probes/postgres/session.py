"""Bounded connections to PostgreSQL and the translation of driver errors.

``connect`` opens an autocommit connection from a ``DbConnectionSpec`` (read-only unless asked)
and closes it; ``translated`` turns psycopg's errors into the library's (``Unreachable``,
``CheckFailed``, ``DatabaseAccessDenied``) naming region, instance and observation, with the
password scrubbed (``scrub``). Not supported: connection pools, transactions spanning calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from maip_drlib.errors import CheckFailed, Unreachable
from maip_drlib.probes.postgres.login import DatabaseAccessDenied, DbConnectionSpec

if TYPE_CHECKING:
    import psycopg

_AUTH_STATES = frozenset({"28P01", "28000"})
_AUTH_WORDS = ("password authentication failed", "PAM authentication failed",
               "no pg_hba.conf entry", "authentication failed")


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
