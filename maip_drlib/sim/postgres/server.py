"""One PostgreSQL server of the simulation: a data directory and its postmaster process.

The postmaster is started directly (no ``pg_ctl``) as the server user, in its own session,
listening on 127.0.0.1 only (TCP; no Unix socket), with settings for a small, fast test
server: ``fsync=off`` (an abrupt stop kills processes, never the machine, so acknowledged
commits survive in the page cache; a power loss is not simulated), small memory, a WAL
reserve so a standby whose link was cut can catch up after the link is restored.
Stopping is ``fast`` (clean), ``immediate`` (SIGQUIT: no checkpoint, crash recovery at the
next start) or ``kill`` (SIGKILL to the postmaster and every child: a lost host).
Not supported: TLS, Unix sockets, other addresses than 127.0.0.1, archiving, replication slots.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Literal

import psycopg

from maip_drlib.sim.postgres.binaries import PgBinaries
from maip_drlib.sim.postgres.credentials import MasterCredentials
from maip_drlib.sim.postgres.errors import PostgresSimError, wait_until
from maip_drlib.sim.postgres.processes import stop_postmaster
from maip_drlib.sim.postgres.runas import ServerUser, child_env

LOOPBACK = "127.0.0.1"
StopMode = Literal["fast", "immediate", "kill"]
_STOP_SIGNALS: dict[str, signal.Signals] = {
    "fast": signal.SIGINT,
    "immediate": signal.SIGQUIT,
    "kill": signal.SIGKILL,
}
_LOG_TAIL = 1500
# Bounds every statement of the simulation's own connections (pg_promote waits inside one).
_STATEMENT_TIMEOUT_MS = 60_000
_BIND_ERRORS = ("could not bind", "Address already in use", "could not create any TCP/IP")


class PortInUse(PostgresSimError):
    """The server could not listen on its port (another process took it)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def server_settings(name: str, port: int, major: int) -> dict[str, str]:
    """The ``-c`` settings of every start (they override whatever a base backup copied)."""
    settings = {
        "listen_addresses": LOOPBACK,
        "port": str(port),
        "unix_socket_directories": "",
        "cluster_name": name,
        "fsync": "off",
        "shared_buffers": "16MB",
        "max_connections": "40",
        "wal_level": "replica",
        "max_wal_senders": "8",
        "wal_keep_size": "256MB",
        "hot_standby": "on",
        "wal_retrieve_retry_interval": "200ms",
        "wal_receiver_status_interval": "1s",
        "autovacuum": "off",
        "max_worker_processes": "4",
        "max_parallel_workers": "0",
        "password_encryption": "scram-sha-256",
        "log_destination": "stderr",
        "logging_collector": "off",
        "log_connections": "off",
        "log_statement": "none",
        "log_min_error_statement": "panic",
    }
    if major >= 18:
        settings["io_method"] = "sync"  # no I/O worker processes
    return settings


class PgServer:
    """A server: ``start``, ``stop``, ``connect``; its role is whatever its data says."""

    def __init__(
        self,
        name: str,
        *,
        binaries: PgBinaries,
        user: ServerUser,
        credentials: MasterCredentials,
        data_dir: Path,
        log_path: Path,
        port: int,
    ):
        self.name = name
        self.host = LOOPBACK
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self._binaries = binaries
        self._user = user
        self._credentials = credentials
        self._process: subprocess.Popen[bytes] | None = None
        self.last_start_s: float | None = None
        self._last_error = "none yet"
        self._log_offset = 0

    def __repr__(self) -> str:
        return f"PgServer({self.name!r}, port={self.port}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    def start(self, *, timeout_s: float) -> float:
        """Start the postmaster and wait until it accepts connections; seconds taken."""
        if self.running:
            raise PostgresSimError(f"server {self.name}: already running")
        started = time.monotonic()
        argv = [str(self._binaries.tool("postgres")), "-D", str(self.data_dir)]
        for key, value in server_settings(self.name, self.port, self._binaries.major).items():
            argv += ["-c", f"{key}={value}"]
        self._last_error = "none yet"
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            try:
                self._process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=self.data_dir.parent, env=child_env(), start_new_session=True,
                    **self._user.popen_kwargs(),
                )
            except OSError as error:
                raise PostgresSimError(f"server {self.name}: could not start: {error}") from error
        try:
            wait_until(f"server {self.name} on port {self.port} accepts connections",
                       self._ready, timeout_s=timeout_s)
        except PostgresSimError as error:
            self.stop("kill", timeout_s=5.0)
            if isinstance(error, PortInUse) or "exited while starting" in str(error):
                raise
            raise PostgresSimError(
                f"{error}; last connection error: {self._last_error}; log: {self.log_tail()}"
            ) from error
        except BaseException:
            self.stop("kill", timeout_s=5.0)
            raise
        self.last_start_s = time.monotonic() - started
        return self.last_start_s

    def _ready(self) -> bool:
        process = self._process
        if process is None or process.poll() is not None:
            tail = self.log_tail()
            error = PortInUse if any(text in tail for text in _BIND_ERRORS) else PostgresSimError
            raise error(f"server {self.name} exited while starting: {tail}")
        try:
            with self.connect(timeout_s=2.0):
                return True
        except psycopg.OperationalError as error:
            self._last_error = str(error).strip()[-_LOG_TAIL:]
            return False

    def stop(self, mode: StopMode = "fast", *, timeout_s: float = 15.0) -> bool:
        """Stop the server (see the module docstring); True when ``mode`` alone sufficed."""
        process, self._process = self._process, None
        if process is None:
            return True
        return stop_postmaster(process, _STOP_SIGNALS[mode], timeout_s=timeout_s)

    def connect(self, *, dbname: str = "postgres", timeout_s: float = 3.0) -> psycopg.Connection:
        """A new autocommit connection as the master user (the caller closes it)."""
        return psycopg.connect(
            host=self.host, port=self.port, dbname=dbname, user=self._credentials.username,
            password=self._credentials.password, connect_timeout=max(2, round(timeout_s)),
            autocommit=True, application_name="maip-dr-sim",
            options=f"-c statement_timeout={_STATEMENT_TIMEOUT_MS}",
        )

    def in_recovery(self) -> bool:
        """``pg_is_in_recovery()``: True for a standby, False for a writer."""
        with self.connect() as connection:
            row = connection.execute("SELECT pg_is_in_recovery()").fetchone()
        return bool(row and row[0])

    def log_tail(self) -> str:
        """The end of the server's log since its last start (PostgreSQL's own messages)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return text.strip()[-_LOG_TAIL:] or "(empty log)"
