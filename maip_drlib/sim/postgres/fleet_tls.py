"""TLS of the simulated PostgreSQL fleet: certificate files, server settings, reload.

``FleetTls`` is a part of ``PostgresFleet`` (a base class): ``enable_tls`` writes the
certificate chain and key into the fleet's folder, puts ``ssl = on`` and the two paths into
every server's ``postgresql.auto.conf`` and waits until a running server serves TLS. Not
supported: changing the certificate twice, refusing connections without TLS.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from maip_drlib.sim.postgres.errors import PostgresSimError, wait_until
from maip_drlib.sim.postgres.server import PgServer

if TYPE_CHECKING:
    from maip_drlib.sim.postgres.binaries import PgBinaries
    from maip_drlib.sim.postgres.runas import ServerUser


class FleetTls:
    """The TLS part of ``PostgresFleet`` (its attributes are the fleet's)."""

    _lock: threading.RLock
    _tls_settings: dict[str, str] | None
    _resources: Any
    user: ServerUser
    binaries: PgBinaries
    start_timeout_s: float
    root: Path

    @property
    def tls_enabled(self) -> bool:
        """Whether the servers serve TLS (``enable_tls``)."""
        return self._tls_settings is not None

    def enable_tls(self, cert_chain_pem: bytes, key_pem: bytes) -> None:
        """Serve TLS with this certificate (chain first) and key, on every server.

        The files go into the fleet's directory (the key readable by the server user only);
        every server's ``postgresql.auto.conf`` gets ``ssl = on`` and the two paths, and a
        running server reloads its configuration (``pg_reload_conf()``; ``ssl`` is a reload
        setting) and is waited for until ``SHOW ssl`` reads ``on``. Writers started later get
        the same settings; standbys copy them with their base backup. Connections without
        TLS are still accepted (RDS refuses them only with ``rds.force_ssl``): the suite's
        live targets ask for ``verify-full``. Not supported: changing the certificate twice.
        """
        with self._lock:
            if self._tls_settings is not None:
                raise PostgresSimError("TLS is already enabled on the simulated PostgreSQL")
            folder = self.root / "tls"
            folder.mkdir(mode=0o700)
            self.user.own(folder)
            paths = {}
            for name, content in (("server.crt", cert_chain_pem), ("server.key", key_pem)):
                path = folder / name
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(content)
                self.user.own(path)
                paths[name] = path
            self._tls_settings = {"ssl": "on", "ssl_cert_file": str(paths["server.crt"]),
                                  "ssl_key_file": str(paths["server.key"])}
            for server in self._resources.servers.values():
                self._configure_tls(server.data_dir)
                if server.running:
                    self._reload_tls(server)

    def _configure_tls(self, data_dir: Path) -> None:
        """Put the TLS settings into ``data_dir``'s ``postgresql.auto.conf`` (none: no-op)."""
        if self._tls_settings is None:
            return
        auto_conf = data_dir / "postgresql.auto.conf"
        kept = [line for line in auto_conf.read_text().splitlines()
                if line.split("=", 1)[0].strip() not in self._tls_settings]
        kept += [f"{key} = '{value}'" for key, value in self._tls_settings.items()]
        auto_conf.write_text("\n".join(kept) + "\n")

    def _reload_tls(self, server: PgServer) -> None:
        def serving_tls() -> bool:
            with server.connect() as connection:
                row = connection.execute("SHOW ssl").fetchone()
            return bool(row and row[0] == "on")

        try:
            with server.connect() as connection:
                connection.execute("SELECT pg_reload_conf()")
            unsupported = "SSL is not supported by this build"
            if wait_until(f"server {server.name} reloads", lambda: serving_tls() or (
                    unsupported in server.log_tail() and unsupported),
                    timeout_s=self.start_timeout_s) == unsupported:
                raise PostgresSimError(f"server {server.name}: {unsupported} ("
                                       f"{self.binaries.origin}); use PostgreSQL binaries "
                                       "built with OpenSSL, such as Debian's postgresql")
            wait_until(f"server {server.name} serves TLS", serving_tls,
                       timeout_s=self.start_timeout_s)
        except psycopg.Error as error:
            raise PostgresSimError(f"server {server.name}: cannot turn TLS on: {error}") \
                from error

