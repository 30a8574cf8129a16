"""Data-plane probes and the "accepts writes" action against a real PostgreSQL pair.

The pair (a writer standing for us-east-1, its streaming standby for us-west-2) is started by
a module-scoped ``PostgresFleet`` on 127.0.0.1; tests that need it skip, naming where binaries
were looked for, when none are found. Credentials from Secrets Manager go through the bare
moto server of ``tests/lib/conftest.py``. RDS IAM auth tokens are generated (locally, by
botocore) but cannot be accepted by the simulated PostgreSQL: only their shape is tested.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config
from maip_cli_helpers import kubeconfig_text

from maip_drlib.actions.postgres import accepts_writes
from maip_drlib.config import DatabaseAccess, Topology
from maip_drlib.config_loader import describe_config, load_config
from maip_drlib.errors import CheckFailed, ConfigError, NotFound, Unreachable
from maip_drlib.evidence.redact import default_redactor
from maip_drlib.probes.postgres import (
    NOT_CONFIGURED,
    WITHHELD,
    DatabaseAccessDenied,
    DbConnectionSpec,
    DbEndpoint,
    DbLogin,
    DbSettings,
    NotConfigured,
    StandbyLagFact,
    connect,
    connection_spec,
    database_access,
    database_role,
    iam_login,
    rds_endpoint,
    secret_login,
    standby_lag,
)
from maip_drlib.regions import RegionHandles
from maip_drlib.rpo.rds import rds_store
from maip_drlib.sim.postgres import PostgresFleet, find_binaries, search_places

pytestmark = pytest.mark.sim

EAST, WEST = "us-east-1", "us-west-2"
NO_POSTGRES = "no PostgreSQL binaries found; looked in: " + "; ".join(search_places())
SETTINGS = DbSettings(sslmode="disable", connect_timeout_s=2, statement_timeout_s=5)
CATCH_UP_S = 15.0
SETTLE_S = 0.5  # a healthy link delivers a commit in milliseconds


@pytest.fixture(scope="module")
def fleet() -> Iterator[PostgresFleet]:
    if find_binaries() is None:
        pytest.skip(NO_POSTGRES)
    with PostgresFleet() as started:
        started.start_writer("writer")
        started.start_standby("standby", "writer")
        yield started


def spec(fleet: PostgresFleet, name: str, region: str, *, password: str | None = None,
         settings: DbSettings = SETTINGS) -> DbConnectionSpec:
    server = fleet.server(name)
    login = DbLogin(fleet.credentials.username,
                    fleet.credentials.password if password is None else password)
    return DbConnectionSpec(DbEndpoint(region, name, server.host, server.port), login, settings)


@pytest.fixture
def writer(fleet: PostgresFleet) -> DbConnectionSpec:
    return spec(fleet, "writer", EAST)


@pytest.fixture
def standby(fleet: PostgresFleet) -> DbConnectionSpec:
    return spec(fleet, "standby", WEST)


def wait_caught_up(standby: DbConnectionSpec, writer: DbConnectionSpec) -> StandbyLagFact:
    deadline = time.monotonic() + CATCH_UP_S
    while True:
        lag = standby_lag(standby, writer)
        if lag.caught_up or time.monotonic() > deadline:
            return lag
        time.sleep(0.05)


# -- writer or standby, lag ------------------------------------------------------------------


def test_the_writer_and_the_standby_are_told_apart(writer, standby) -> None:
    first, second = database_role(writer), database_role(standby)
    assert (first.role, first.in_recovery) == ("writer", False)
    assert (second.role, second.in_recovery) == ("standby", True)
    assert "standby" in str(second) and WEST in str(second) and second.instance == "standby"


def test_lag_is_zero_when_caught_up_and_real_behind_a_cut_link(fleet, writer, standby) -> None:
    accepts_writes(writer, f"lag-{uuid.uuid4().hex[:8]}")
    lag = wait_caught_up(standby, writer)
    assert lag.caught_up and lag.lag_s == 0.0 and lag.receiving is True
    assert lag.replay_age_s is not None and lag.writer_lsn and lag.replay_lsn

    fleet.cut_replication("standby")
    try:
        accepts_writes(writer, f"lag-{uuid.uuid4().hex[:8]}")
        time.sleep(SETTLE_S)
        behind = standby_lag(standby, writer)
        assert behind.lsn_distance_bytes is not None and behind.lsn_distance_bytes > 0
        assert behind.receiving is False
        assert behind.lag_s is not None and behind.lag_s >= SETTLE_S - 0.1
        assert "WAL distance" in str(behind) and WEST in str(behind)
    finally:
        fleet.restore_replication("standby")
    assert wait_caught_up(standby, writer).caught_up


def test_lag_without_a_readable_writer_says_the_distance_is_unknown(fleet, standby) -> None:
    alone = standby_lag(standby)
    assert alone.lsn_distance_bytes is None and "no writer given" in alone.note
    gone = DbConnectionSpec(DbEndpoint(EAST, "writer", "127.0.0.1", _closed_port()),
                            standby.login, SETTINGS)
    unread = standby_lag(standby, gone)
    assert unread.lsn_distance_bytes is None and "writer not read" in unread.note
    assert unread.replay_age_s is not None  # the replay time alone is still given


def test_lag_of_a_writer_says_it_is_not_a_standby(writer) -> None:
    fact = standby_lag(writer)
    assert not fact.in_recovery and "not a standby" in str(fact)


# -- accepts writes ----------------------------------------------------------------------------


def test_the_writer_accepts_a_committed_write_and_the_standby_refuses(writer, standby) -> None:
    drill = f"writes-{uuid.uuid4().hex[:8]}"
    accepted = accepts_writes(writer, drill)
    assert accepted.drill_id == drill and accepted.region == EAST and accepted.seq > 0
    assert "accepts writes" in str(accepted)
    with pytest.raises(CheckFailed) as refused:
        accepts_writes(standby, drill)
    text = str(refused.value)
    assert "does not accept writes" in text and f"region={WEST}" in text
    assert "resource=standby" in text and "read-only" in text


# -- errors, bounded ------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_port_is_unreachable_naming_region_instance_and_observation() -> None:
    down = DbConnectionSpec(DbEndpoint(EAST, "maip-prod-postgres", "127.0.0.1", _closed_port()),
                            DbLogin("maipadmin", "irrelevant-password"), SETTINGS)
    started = time.monotonic()
    with pytest.raises(Unreachable) as error:
        database_role(down)
    assert time.monotonic() - started < 5
    text = str(error.value)
    assert "maip-prod-postgres" in text and EAST in text and "pg_is_in_recovery" in text
    assert "\n" not in text and "irrelevant-password" not in text
    assert error.value.region == EAST and error.value.target == "maip-prod-postgres"


def test_a_server_that_never_answers_times_out_within_the_connect_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never speaks
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    silent = DbConnectionSpec(DbEndpoint(WEST, "silent", "127.0.0.1",
                                         listener.getsockname()[1]),
                              DbLogin("maipadmin", "x"), SETTINGS)
    started = time.monotonic()
    try:
        with pytest.raises(Unreachable, match="silent"):
            database_role(silent)
        assert time.monotonic() - started < 2 + 3  # connect_timeout (2 s) plus slack
    finally:
        stop.set()
        thread.join(2)
        for item in held:
            item.close()
        listener.close()


def test_a_statement_past_its_timeout_is_cut_and_named(fleet) -> None:
    quick = spec(fleet, "writer", EAST, settings=DbSettings(
        sslmode="disable", connect_timeout_s=2, statement_timeout_s=0.3))
    started = time.monotonic()
    with pytest.raises(Unreachable, match="statement timeout") as error, \
            connect(quick, observation="a slow query") as connection:
        connection.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 3
    assert "a slow query" in str(error.value) and EAST in str(error.value)


def test_a_wrong_password_is_refused_and_never_shown(fleet) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    with pytest.raises(DatabaseAccessDenied) as error:
        database_role(spec(fleet, "writer", EAST, password=wrong))
    assert error.value.exit_code == 2 and "login refused" in str(error.value)
    assert wrong not in str(error.value) and wrong not in repr(error.value)


# -- credentials from Secrets Manager and IAM ------------------------------------------------


def _store_secret(handles: RegionHandles, region: str, name: str, document: object) -> None:
    handles.by_name(region).client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps(document) if not isinstance(document, str)
        else document)


def test_credentials_from_a_secret_reach_the_database_and_are_never_logged(
        fleet, handles: RegionHandles, caplog: pytest.LogCaptureFixture) -> None:
    password = fleet.credentials.password
    server = fleet.server("standby")
    _store_secret(handles, WEST, "maip/prod/db-credentials", {
        "engine": "postgres", "host": "ignored.example", "port": 5432, "dbname": "postgres",
        "username": fleet.credentials.username, "password": password})
    caplog.set_level(logging.DEBUG)  # after the test's own set-up call, which logs its body
    access = DatabaseAccess(sslmode="disable", secret_ids=((EAST, "absent"),
                                                           (WEST, "maip/prod/db-credentials")))
    endpoint = DbEndpoint(WEST, "standby", server.host, server.port)
    built = connection_spec(handles.secondary, access, "standby", endpoint=endpoint)

    fact = database_role(built)
    lag = standby_lag(built)
    assert fact.role == "standby" and built.login.method == "secret"
    with pytest.raises(DatabaseAccessDenied) as refused:
        database_role(DbConnectionSpec(endpoint, DbLogin("maipadmin", password + "x"),
                                       SETTINGS))

    shown = [caplog.text, repr(built), str(built), repr(built.login), str(built.login),
             repr(fact), str(fact), repr(lag), str(lag), str(refused.value)]
    assert all(password not in text for text in shown)
    assert WITHHELD in caplog.text  # the DEBUG log was on, and withheld the body
    assert password not in default_redactor().text(f"the password is {password}")


def test_a_missing_or_malformed_secret_is_named_without_its_content(
        handles: RegionHandles) -> None:
    with pytest.raises(NotFound, match="absent"):
        secret_login(handles.primary, "absent")
    _store_secret(handles, EAST, "not-json", "hunter2-not-json")
    with pytest.raises(CheckFailed) as malformed:
        secret_login(handles.primary, "not-json")
    assert "hunter2" not in str(malformed.value) and "not-json" in str(malformed.value)
    _store_secret(handles, EAST, "no-password", {"username": "maipadmin"})
    with pytest.raises(CheckFailed, match="lacks a username or password"):
        secret_login(handles.primary, "no-password")


def test_an_iam_auth_token_is_generated_for_the_endpoint(handles: RegionHandles) -> None:
    """Only generated: the simulated PostgreSQL has no IAM plugin to accept it."""
    endpoint = DbEndpoint(EAST, "maip-prod-postgres", "db.example.internal", 5432)
    login = iam_login(handles.primary, endpoint, "maip_dr")
    assert login.method == "iam" and login.username == "maip_dr"
    assert "Action=connect" in login.password and "DBUser=maip_dr" in login.password
    assert login.password.startswith("db.example.internal:5432/")
    assert login.password not in repr(login) and login.password not in str(login)


def test_the_endpoint_is_read_from_rds(handles: RegionHandles) -> None:
    # Set-up through a patient client: moto can take seconds to create an instance on a
    # loaded machine, and a retried create would be refused as a duplicate.
    patient = handles.primary.session.client(
        "rds", endpoint_url=handles.primary.connection.endpoint_url,
        config=Config(read_timeout=60, retries={"total_max_attempts": 1}))
    patient.create_db_instance(
        DBInstanceIdentifier="maip-prod-postgres", Engine="postgres",
        DBInstanceClass="db.t3.micro", MasterUsername="maip",
        MasterUserPassword="not-a-secret1", AllocatedStorage=20)
    found = rds_endpoint(handles.primary, "maip-prod-postgres")
    assert found.region == EAST and found.instance == "maip-prod-postgres"
    assert found.host and found.port == 5432
    with pytest.raises(NotFound):
        rds_endpoint(handles.secondary, "maip-prod-postgres-replica")


# -- "not configured" ------------------------------------------------------------------------

LIVE = """
[targets.prod]
kind = "live"
[targets.prod.regions.us-east-1]
[targets.prod.regions.us-west-2]
"""


def test_a_live_target_without_database_access_reports_not_configured(
        tmp_path: Path, handles: RegionHandles) -> None:
    path = tmp_path / "live.toml"
    path.write_text(LIVE)
    config = load_config(path)
    target = config.target("prod")
    assert target.database is None
    with pytest.raises(NotConfigured) as missing:
        database_access(target)
    assert str(missing.value).startswith(NOT_CONFIGURED) and "prod" in str(missing.value)
    assert missing.value.status == NOT_CONFIGURED and missing.value.exit_code != 0
    with pytest.raises(NotConfigured):
        connection_spec(handles.primary, None, "maip-prod-postgres")
    store = rds_store(Topology(), None)
    with pytest.raises(NotConfigured):
        store.read(handles.secondary, "drill")
    with pytest.raises(NotConfigured):
        store.writer(handles.primary, "drill", interval_s=1.0, ttl_s=60.0)
    assert "database: not configured" in describe_config(config)


def test_database_access_keys_load(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not parsed by the loader\n")
    (tmp_path / "kube.yaml").write_text(kubeconfig_text())
    path = tmp_path / "ok.toml"
    path.write_text(LIVE + """
[targets.prod.database]
dbname = "maip"
sslrootcert = "ca.pem"
statement_timeout_s = 3
[targets.prod.database.secret_ids]
us-east-1 = "maip/prod/db-credentials"
us-west-2 = "maip/prod-dr/db-credentials"

[targets.iam]
kind = "sim"
control_url = "http://127.0.0.1:1"
[targets.iam.regions.us-east-1]
endpoint_url = "http://127.0.0.1:1"
kubeconfig = "kube.yaml"
[targets.iam.regions.us-west-2]
endpoint_url = "http://127.0.0.1:1"
kubeconfig = "kube.yaml"
[targets.iam.database]
iam_user = "maip_dr"
""")
    config = load_config(path)
    prod = config.target("prod").database
    assert prod is not None and prod.sslmode == "verify-full" and prod.dbname == "maip"
    assert prod.secret_id(WEST) == "maip/prod-dr/db-credentials" and prod.auth == "secret"
    assert prod.sslrootcert == tmp_path / "ca.pem" and prod.statement_timeout_s == 3.0
    iam = config.target("iam").database
    assert iam is not None and iam.auth == "iam" and iam.sslmode == "disable"
    assert iam.secret_id(EAST) is None
    assert "IAM auth as maip_dr" in describe_config(config)


@pytest.mark.parametrize(("database", "culprit"), [
    ('sslmode = "disable"\niam_user = "u"', "targets.prod.database.sslmode"),
    # require / verify-ca do not check the host name: a live password could go to anyone
    ('sslmode = "require"\niam_user = "u"', "targets.prod.database.sslmode"),
    ('sslmode = "verify-ca"\niam_user = "u"', "targets.prod.database.sslmode"),
    ('iam_user = "u"\nsecret_ids = { us-east-1 = "a", us-west-2 = "b" }',
     "targets.prod.database.iam_user"),
    ('dbname = "maip"', "targets.prod.database.secret_ids"),
    ('secret_ids = { us-east-1 = "a" }', "targets.prod.database.secret_ids.us-west-2"),
    ('secret_ids = { us-east-1 = "a", us-west-2 = "b", eu-west-1 = "c" }',
     "targets.prod.database.secret_ids.eu-west-1"),
    ('iam_user = "u"\ndbname = "drop table"', "targets.prod.database.dbname"),
    ('iam_user = "u"\nconnect_timeout_s = 0', "targets.prod.database.connect_timeout_s"),
    ('iam_user = "u"\npassword = "x"', "targets.prod.database.password"),
    ('iam_user = "u"\nsslrootcert = "missing.pem"', "targets.prod.database.sslrootcert"),
    ('iam_user = ""', "targets.prod.database.iam_user"),
])
def test_bad_database_keys_are_one_line_naming_the_key(tmp_path: Path, database: str,
                                                       culprit: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(LIVE + "[targets.prod.database]\n" + database + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert f": {culprit}: " in message and message.isprintable()


def test_an_embedded_target_takes_no_database_table(tmp_path: Path) -> None:
    path = tmp_path / "embedded.toml"
    path.write_text('[targets.e]\nkind = "embedded"\n[targets.e.database]\niam_user = "u"\n')
    with pytest.raises(ConfigError, match=r"targets\.e\.database: unknown key"):
        load_config(path)
