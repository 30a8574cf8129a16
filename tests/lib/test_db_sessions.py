"""The services' sessions on a writer (``probes.db_sessions``) against a real PostgreSQL.

A module-scoped ``PostgresFleet`` writer on 127.0.0.1 (skipped, naming where binaries were
looked for, when none are found). The services' user and an operator's session are opened by
the test itself: the simulated services hold no database sessions.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

from maip_drlib.drill.guards import FencingEvidence
from maip_drlib.probes.db_sessions import services_sessions
from maip_drlib.probes.postgres import DbConnectionSpec, DbEndpoint, DbLogin, DbSettings, connect
from maip_drlib.sim.postgres import PostgresFleet, find_binaries, search_places

pytestmark = pytest.mark.sim

SERVICES_USER = "maip_services"
SETTINGS = DbSettings(sslmode="disable", connect_timeout_s=2, statement_timeout_s=5)


@pytest.fixture(scope="module")
def writer() -> Iterator[tuple[DbConnectionSpec, str]]:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries found; looked in: " + "; ".join(search_places()))
    with PostgresFleet() as fleet:
        server = fleet.start_writer("writer")
        login = DbLogin(fleet.credentials.username, fleet.credentials.password)
        spec = DbConnectionSpec(DbEndpoint("us-east-1", "writer", server.host, server.port),
                                login, SETTINGS)
        password = secrets.token_hex(12)
        with connect(spec, read_only=False) as connection:
            connection.execute(f"CREATE ROLE {SERVICES_USER} LOGIN PASSWORD '{password}'")
        yield spec, password


def _session(spec: DbConnectionSpec, user: str, password: str,
             application: str) -> psycopg.Connection:
    return psycopg.connect(host=spec.endpoint.host, port=spec.endpoint.port, user=user,
                           password=password, dbname=SETTINGS.dbname, sslmode="disable",
                           application_name=application, autocommit=True)


def test_only_the_services_users_sessions_count_when_configured(writer) -> None:
    spec, password = writer
    assert not services_sessions(spec, SERVICES_USER).sessions
    operator = _session(spec, spec.login.username, spec.login.password, "psql")
    try:
        found = services_sessions(spec, SERVICES_USER)
        assert not found.sessions  # an operator's session is not the services'
        assert f"database user {SERVICES_USER}" in str(found)
        service = _session(spec, SERVICES_USER, password, "merchant-api")
        try:
            found = services_sessions(spec, SERVICES_USER)
            assert [item.user for item in found.sessions] == [SERVICES_USER]
            fencing = FencingEvidence("us-east-1", sessions=tuple(map(str, found.sessions)),
                                      session_scope=found.scope)
            assert not fencing.fenced and SERVICES_USER in str(fencing)
            everyone = services_sessions(spec, None)
            assert {item.user for item in everyone.sessions} == {
                SERVICES_USER, spec.login.username}
            assert "services_user not configured" in str(everyone)
        finally:
            service.close()
    finally:
        operator.close()
    assert not services_sessions(spec, None).sessions  # the suite's own session never counts
