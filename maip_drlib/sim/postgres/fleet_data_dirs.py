"""Data folders of the simulated PostgreSQL fleet: initdb, base backups, standby settings.

``FleetDataDirs`` is a part of ``PostgresFleet`` (a base class): a writer's folder from
``initdb`` (the master password passed through a file readable by the server user only), a
standby's from ``pg_basebackup`` through its link proxy, then ``primary_conninfo`` and
``standby.signal``. Not supported: replication slots, ``pg_rewind``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from maip_drlib.sim.postgres.runas import run_tool

if TYPE_CHECKING:
    from maip_drlib.sim.postgres.binaries import PgBinaries
    from maip_drlib.sim.postgres.credentials import MasterCredentials
    from maip_drlib.sim.postgres.runas import ServerUser

DEFAULT_BASE_BACKUP_TIMEOUT_S = 60.0


class FleetDataDirs:
    """The data-folder part of ``PostgresFleet`` (its attributes are the fleet's)."""

    _data_root: Path
    credentials: MasterCredentials
    user: ServerUser
    binaries: PgBinaries
    start_timeout_s: float

    def _secret_file(self, name: str, content: str) -> Path:
        path = self._data_root / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(content)
        self.user.own(path)
        return path

    def _initdb(self, data_dir: Path) -> None:
        password_file = self._secret_file(f".initdb-{data_dir.name}", self.credentials.password)
        try:
            run_tool(
                [self.binaries.tool("initdb"), "-D", data_dir, "-U", self.credentials.username,
                 f"--pwfile={password_file}", "--auth-host=scram-sha-256",
                 "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
                 "--no-instructions"],
                self.user, timeout_s=self.start_timeout_s * 2, cwd=self._data_root,
                what=f"initdb of {data_dir.name}",
            )
        finally:
            password_file.unlink(missing_ok=True)

    def _base_backup(self, data_dir: Path, link_port: int, *, application_name: str) -> None:
        conninfo = (f"host=127.0.0.1 port={link_port} user={self.credentials.username} "
                    f"application_name={application_name}")
        run_tool(
            [self.binaries.tool("pg_basebackup"), "-D", data_dir, "-d", conninfo, "-X",
             "stream", "-c", "fast", "--no-sync", "-w"],
            self.user, timeout_s=DEFAULT_BASE_BACKUP_TIMEOUT_S, cwd=self._data_root,
            env_extra={"PGPASSWORD": self.credentials.password, "PGCONNECT_TIMEOUT": "5"},
            what=f"base backup of standby {application_name}",
        )
        self._make_standby(data_dir, conninfo)

    def _make_standby(self, data_dir: Path, conninfo: str) -> None:
        auto_conf = data_dir / "postgresql.auto.conf"
        kept = [line for line in auto_conf.read_text().splitlines()
                if not line.strip().startswith("primary_conninfo")]
        full = f"{conninfo} password={_conninfo_value(self.credentials.password)}"
        kept.append("primary_conninfo = '" + full.replace("'", "''") + "'")
        auto_conf.write_text("\n".join(kept) + "\n")
        signal_file = data_dir / "standby.signal"
        signal_file.touch(mode=0o600)
        self.user.own(signal_file)


def _conninfo_value(value: str) -> str:
    """``value`` quoted for a libpq connection string."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
