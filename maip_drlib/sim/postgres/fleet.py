"""The simulated databases: a writer, its streaming standbys, promotion, outage and rebuild.

A ``PostgresFleet`` owns one temporary directory, the servers in it (by name, e.g. one per
simulated RDS instance) and one ``LinkProxy`` per standby: a standby's ``primary_conninfo``
points at its link's port, never at the source directly, so ``cut_replication`` produces
real data loss (writes the writer acknowledged that never reached the standby). Every
server shares the fleet's master credentials (a standby is a physical copy of its source).
Everything listens on 127.0.0.1; every wait is bounded; ``close`` (also run when the fleet
is garbage-collected or the interpreter exits) stops every server and proxy and removes the
directory. Not supported: synchronous or logical replication, replication slots, pg_rewind
(a demoted writer is rebuilt from a base backup, as RDS builds a new replica), keeping a
server's data when its rebuild fails (the old data is discarded first).

The TLS part is ``fleet_tls``, the data folders (initdb, base backups) ``fleet_data_dirs``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path

import psycopg

from maip_drlib.sim.postgres.binaries import PgBinaries, find_binaries, search_places
from maip_drlib.sim.postgres.credentials import DEFAULT_MASTER_USERNAME, MasterCredentials
from maip_drlib.sim.postgres.errors import PostgresSimError, wait_until
from maip_drlib.sim.postgres.fleet_data_dirs import FleetDataDirs
from maip_drlib.sim.postgres.fleet_tls import FleetTls
from maip_drlib.sim.postgres.processes import reap_orphans
from maip_drlib.sim.postgres.proxy import LinkProxy
from maip_drlib.sim.postgres.runas import (
    ServerUser,
    binaries_for,
    check_traversable,
    server_user,
)
from maip_drlib.sim.postgres.server import PgServer, PortInUse, StopMode, free_port

DEFAULT_START_TIMEOUT_S = 30.0
DEFAULT_PROMOTE_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_PORT_ATTEMPTS = 3
_ROOT_PREFIX = "maip-dr-pg-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class _Resources:
    """What must be released, kept apart from the fleet so a finalizer can release it."""

    def __init__(self, root: Path):
        self.root = root
        self.servers: dict[str, PgServer] = {}
        self.links: dict[str, LinkProxy] = {}

    def release(self) -> None:
        # Each item is released even when another one fails.
        for link in list(self.links.values()):
            with contextlib.suppress(PostgresSimError, OSError):
                link.close()
        for server in list(self.servers.values()):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                server.stop("immediate", timeout_s=_STOP_TIMEOUT_S)
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresFleet(FleetTls, FleetDataDirs):
    """Writers and standbys on 127.0.0.1 for the simulation; see the module docstring."""

    def __init__(
        self,
        *,
        credentials: MasterCredentials | None = None,
        master_username: str = DEFAULT_MASTER_USERNAME,
        binaries: PgBinaries | None = None,
        create_user: bool = True,
        parent_dir: Path | None = None,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    ):
        found = binaries or find_binaries()
        if found is None:
            raise PostgresSimError(
                "no PostgreSQL binaries found; looked in: " + "; ".join(search_places())
            )
        self.credentials = credentials or MasterCredentials.generate(master_username)
        self.user: ServerUser = server_user(create=create_user)
        self.reaped_orphans = reap_orphans(self.user.uid, _ROOT_PREFIX)
        self.start_timeout_s = start_timeout_s
        self.timings: dict[str, float] = {}
        self._tls_settings: dict[str, str] | None = None  # enable_tls
        self._lock = threading.RLock()
        root = Path(tempfile.mkdtemp(prefix=_ROOT_PREFIX, dir=parent_dir))
        self._resources = _Resources(root)
        self._finalizer = weakref.finalize(self, self._resources.release)
        try:
            root.chmod(0o711)  # the server user traverses it, lists nothing
            check_traversable(root, self.user)
            self._data_root = root / "data"
            self._data_root.mkdir(mode=0o700)
            self.user.own(self._data_root)
            self._log_root = root / "logs"
            self._log_root.mkdir(mode=0o700)
            started = time.monotonic()
            self.binaries = binaries_for(found, self.user, root / "bin")
            self.timings["binaries"] = time.monotonic() - started
        except BaseException:
            self.close()
            raise

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> PostgresFleet:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every server and link, remove the directory; safe to call more than once."""
        with self._lock:
            self._finalizer()

    @property
    def root(self) -> Path:
        """The fleet's temporary directory (removed by ``close``)."""
        return self._resources.root

    @property
    def servers(self) -> Mapping[str, PgServer]:
        return dict(self._resources.servers)

    def server(self, name: str) -> PgServer:
        try:
            return self._resources.servers[name]
        except KeyError:
            raise PostgresSimError(f"no simulated database server named {name!r}") from None

    def link(self, name: str) -> LinkProxy:
        """The replication link into standby ``name``."""
        try:
            return self._resources.links[name]
        except KeyError:
            raise PostgresSimError(f"server {name!r} has no replication link") from None

    def pids(self) -> list[int]:
        """The postmaster pids of the running servers (for checks that nothing is left)."""
        return [pid for server in self.servers.values() if (pid := server.pid) is not None]

    # -- building servers -------------------------------------------------------------------

    def start_writer(self, name: str) -> PgServer:
        """``initdb`` a new writer with the master credentials and start it."""
        with self._lock:
            self._check_new(name)
            data_dir = self._data_root / name
            started = time.monotonic()
            self._initdb(data_dir)
            self._configure_tls(data_dir)
            self.timings[f"{name} initdb"] = time.monotonic() - started
            return self._start_new(name, data_dir)

    def start_standby(self, name: str, source: str, *, port: int | None = None) -> PgServer:
        """A new streaming standby of ``source``: base backup through its own link, start.

        ``port`` keeps an address (a rebuilt replica behind the same endpoint); by default a
        free port is chosen.
        """
        with self._lock:
            self._check_new(name)
            upstream = self.server(source)
            if not upstream.running:
                raise PostgresSimError(f"cannot build standby {name}: source {source} is down")
            link = LinkProxy(upstream.port, name=f"{source}->{name}")
            link.start()
            self._resources.links[name] = link
            data_dir = self._data_root / name
            started = time.monotonic()
            try:
                self._base_backup(data_dir, link.port, application_name=name)
            except BaseException:
                link.close()
                del self._resources.links[name]
                shutil.rmtree(data_dir, ignore_errors=True)
                raise
            self.timings[f"{name} base backup"] = time.monotonic() - started
            return self._start_new(name, data_dir, port=port)

    def rebuild_standby(self, name: str, source: str) -> PgServer:
        """Replace server ``name`` (whatever its state) by a new standby of ``source``.

        Its data is discarded and rebuilt by base backup; it keeps its port (its endpoint).
        """
        with self._lock:
            port = self.server(name).port
            self.remove(name)
            return self.start_standby(name, source, port=port)

    def remove(self, name: str) -> None:
        """Stop server ``name`` at once and delete its data and link."""
        with self._lock:
            server = self.server(name)
            server.stop("immediate", timeout_s=_STOP_TIMEOUT_S)
            link = self._resources.links.pop(name, None)
            if link is not None:
                link.close()
            del self._resources.servers[name]
            shutil.rmtree(server.data_dir, ignore_errors=True)
    # -- operations -------------------------------------------------------------------------

    def promote(self, name: str, *, timeout_s: float = DEFAULT_PROMOTE_TIMEOUT_S) -> float:
        """Promote standby ``name`` (``pg_promote``) and wait until it is a writer; seconds.

        Its replication link is closed: a promoted server follows nobody.
        """
        with self._lock:
            server = self.server(name)
            if not server.running:
                raise PostgresSimError(f"cannot promote {name}: the server is down")
            started = time.monotonic()
            try:
                with server.connect() as connection:
                    row = connection.execute(
                        "SELECT pg_promote(true, %s)", (max(1, int(timeout_s)),)
                    ).fetchone()
            except psycopg.Error as error:
                raise PostgresSimError(f"cannot promote {name}: {error}") from error
            if not (row and row[0]):
                raise PostgresSimError(f"server {name}: pg_promote() did not complete")
            wait_until(f"server {name} leaves recovery", lambda: not server.in_recovery(),
                       timeout_s=timeout_s)
            link = self._resources.links.pop(name, None)
            if link is not None:
                link.close()
            return time.monotonic() - started

    def cut_replication(self, name: str) -> None:
        """Cut the link into standby ``name``: its replication stops, writes go on."""
        self.link(name).cut()

    def restore_replication(self, name: str) -> None:
        """Restore the link into standby ``name``; it reconnects and catches up."""
        self.link(name).restore()

    def stop(self, name: str, mode: StopMode = "immediate") -> None:
        """Stop server ``name``; by default abruptly, as a region outage does."""
        with self._lock:
            self.server(name).stop(mode, timeout_s=_STOP_TIMEOUT_S)

    def start(self, name: str) -> PgServer:
        """Start a stopped server again from its data, on its port.

        A writer comes back as a writer (crash recovery, no demotion: split brain if its
        standby was promoted meanwhile); a standby comes back as a standby.
        """
        with self._lock:
            server = self.server(name)
            server.start(timeout_s=self.start_timeout_s)
            return server

    # -- internals --------------------------------------------------------------------------

    def _check_new(self, name: str) -> None:
        if not self._finalizer.alive:
            raise PostgresSimError("the simulated PostgreSQL fleet is closed")
        if not _NAME.match(name):
            raise ValueError(f"server name {name!r}: letters, digits, '.', '_' and '-' only")
        if name in self._resources.servers:
            raise PostgresSimError(f"a simulated database server named {name!r} exists")

    def _start_new(self, name: str, data_dir: Path, *, port: int | None = None) -> PgServer:
        attempts = 1 if port is not None else _PORT_ATTEMPTS
        for attempt in range(attempts):
            server = PgServer(
                name, binaries=self.binaries, user=self.user, credentials=self.credentials,
                data_dir=data_dir, log_path=self._log_root / f"{name}.log",
                port=port if port is not None else free_port(),
            )
            self._resources.servers[name] = server
            try:
                server.start(timeout_s=self.start_timeout_s)
            except PortInUse:
                if attempt + 1 == attempts:
                    raise
                continue
            self.timings[f"{name} start"] = server.last_start_s or 0.0
            return server
        raise AssertionError("unreachable")
