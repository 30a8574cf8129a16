"""The simulation's data plane: real PostgreSQL behind the simulated RDS, a real DNS server.

Opt-in (``SimSettings.data_plane``). ``DataPlane`` starts a ``PostgresFleet`` (the writer
behind the primary region's RDS instance, its streaming standby behind the DR replica) in a
thread while moto starts, stores the master credentials in the simulated Secrets Manager (one
secret per region, ``DB_SECRET_NAME``, RDS credentials JSON), installs itself on the moto
runtime so the ``rds_data_plane`` patch couples the RDS API to the servers, and starts the
loopback DNS server that answers the hosted zone.

Faults: a region outage kills that region's servers (SIGKILL, as a lost host); restoring the
region starts them again from their data (an old writer comes back a writer: split brain);
the ``replication_cut`` fault cuts every standby's link (and restoring it reconnects them).

It also starts the SIMULATED Kafka brokers behind the MSK clusters and the simulated MSK
Replicator between them (``maip_drlib.sim.kafka``: outages stop a region's broker, the
replication cut also stops the replicator); without the ``sim`` extra's nafka it runs without
them and its status says why.

The servers also serve TLS when their binaries are built with OpenSSL
(``Simulation._serve_database_tls``, a certificate of the simulation's CA for 127.0.0.1); the
sim targets connect without it, live-kind targets with ``verify-full``.

Not supported: two instances with the same identifier in two regions, IAM database
authentication, refusing plain connections (RDS's ``rds.force_ssl``), password rotation,
servers for RDS instances the simulation did not build itself (an instance created with
``create_db_instance`` after start-up has no server: its endpoint stays moto's), any address
but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from maip_drlib.config import DatabaseAccess, Topology
from maip_drlib.sim.faults import FaultSnapshot, FaultState
from maip_drlib.sim.postgres import PostgresFleet, PostgresSimError

DB_SECRET_NAME = "maip/sim/rds-master-credentials"
_START_TIMEOUT_S = 120.0
_PROMOTION_JOIN_S = 35.0


class DataPlane:
    """Real servers and the DNS server of one simulation; see the module docstring."""

    def __init__(self, topology: Topology, faults: FaultState):
        self.topology = topology
        self.faults = faults
        self.fleet: PostgresFleet | None = None
        self.dns: Any = None
        self.dns_plan: Any = None
        self.secret_arns: dict[str, str] = {}
        self.errors: list[str] = []
        self._regions: dict[str, str] = {}  # instance -> region
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._start_error: BaseException | None = None
        self._down_by_outage: set[str] = set()
        self._outages: set[str] = set()
        self._cut = False
        self._awaiting_promotion: set[str] = set()
        self._promotions: dict[str, threading.Thread] = {}
        self._promotion_failed: set[str] = set()
        self._standby_seen: dict[str, Any] = {}  # instance -> first seen a standby (UTC)
        self.kafka: Any = None  # maip_drlib.sim.kafka.fleet.KafkaFleet once attached
        self.kafka_error: str | None = None  # why there is no Kafka (the sim extra missing)

    # Life cycle ---------------------------------------------------------------------------

    def start_servers_async(self) -> None:
        """Start the writer and its standby in a thread (joined by ``wait_servers``)."""
        self._thread = threading.Thread(target=self._start_servers, name="sim-postgres",
                                        daemon=True)
        self._thread.start()

    def _start_servers(self) -> None:
        try:
            primary, secondary = self.topology.primary, self.topology.secondary
            self.fleet = PostgresFleet()
            self.fleet.start_writer(primary.rds_instance)
            self.fleet.start_standby(secondary.rds_instance, primary.rds_instance)
            self._regions[primary.rds_instance] = primary.region
            self._regions[secondary.rds_instance] = secondary.region
        except BaseException as error:  # re-raised by wait_servers in the caller's thread
            self._start_error = error

    def wait_servers(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                raise PostgresSimError(f"the simulated PostgreSQL servers did not start within "
                                       f"{timeout_s:.0f} s")
        if self._start_error is not None:
            raise self._start_error

    def attach(self, endpoint_url: str, albs: Mapping[str, tuple[str, int | None]],
               region_healthy: Callable[[str], bool]) -> None:
        """Store the credentials, couple moto to the servers, start the DNS server."""
        from maip_drlib.sim.aws import runtime
        from maip_drlib.sim.aws.clients import sim_client
        from maip_drlib.sim.aws.patches import rds_data_plane
        from maip_drlib.sim.dns import simulation_dns_server

        self.wait_servers()
        fleet = self._fleet()
        secret = json.dumps({"engine": "postgres", "username": fleet.credentials.username,
                             "password": fleet.credentials.password, "dbname": "postgres"})
        for region in (self.topology.primary.region, self.topology.secondary.region):
            client = sim_client("secretsmanager", region, endpoint_url)
            self.secret_arns[region] = client.create_secret(
                Name=DB_SECRET_NAME, SecretString=secret,
                Description="SIMULATED master credentials of the simulated RDS PostgreSQL",
            )["ARN"]
        rds_data_plane.apply()
        runtime.current().data_plane = self
        self._start_kafka()
        self.dns, self.dns_plan = simulation_dns_server(
            endpoint_url, self.topology.hosted_zone.rstrip("."), albs, region_healthy)
        self.dns.start()

    def stop(self) -> None:
        """Detach from moto (the RDS patch then acts as moto again, also for a later
        simulation of this process), stop the DNS server, wait for promotions (bounded), stop
        every server."""
        from maip_drlib.sim.aws import runtime

        with contextlib.suppress(RuntimeError):
            if getattr(runtime.current(), "data_plane", None) is self:
                runtime.current().data_plane = None
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        if self.dns is not None:
            with contextlib.suppress(Exception):
                self.dns.stop()
        for thread in list(self._promotions.values()):
            thread.join(timeout=_PROMOTION_JOIN_S)
        if self.kafka is not None:
            self.kafka.stop()
        if self.fleet is not None:
            self.fleet.close()

    def _start_kafka(self) -> None:
        """The simulated Kafka brokers and MSK Replicator (``maip_drlib.sim.kafka``); without
        the ``sim`` extra's nafka the data plane runs on without them and says why."""
        try:
            from maip_drlib.sim.kafka.fleet import KafkaFleet
        except ImportError as error:
            self.kafka_error = f"no simulated Kafka: {error} (install the 'sim' extra)"
            return
        fleet = KafkaFleet(self.topology, self.faults)
        try:
            fleet.start()
        except BaseException:
            fleet.stop()
            raise
        self.kafka = fleet

    def _fleet(self) -> PostgresFleet:
        if self.fleet is None:
            raise PostgresSimError("the simulated PostgreSQL servers are not running")
        return self.fleet

    # What clients are told ----------------------------------------------------------------

    def database_access(self) -> DatabaseAccess:
        """How a sim target reaches these servers: a secret per region, ``sslmode disable``
        (the servers also serve TLS when built with OpenSSL: live-kind targets use it)."""
        return DatabaseAccess(sslmode="disable", secret_ids=tuple(
            (region, DB_SECRET_NAME)
            for region in (self.topology.primary.region, self.topology.secondary.region)))

    @property
    def dns_nameserver(self) -> str:
        return str(self.dns.nameserver) if self.dns is not None else ""

    def dns_plan_document(self) -> dict[str, Any] | None:
        """The DNS server's address plan for ``GET /dns/plan`` (None while it is not running):
        planned address -> port, region and ALB DNS name, marked simulated."""
        if self.dns is None or self.dns_plan is None:
            return None
        from maip_drlib.sim.dns.wiring import plan_document

        return {"simulated": True, "nameserver": self.dns_nameserver,
                "addresses": plan_document(self.dns_plan)}

    def endpoint(self, instance: str, region: str) -> tuple[str, int] | None:
        """127.0.0.1 and the port of the server behind ``instance`` in ``region``, if any."""
        if self.fleet is None or self._regions.get(instance) != region:
            return None
        server = self.fleet.servers.get(instance)
        return None if server is None else (server.host, server.port)

    def serves(self, instance: str) -> bool:
        """Whether a real server stands behind ``instance`` (its ReplicaLag comes from it)."""
        return self.fleet is not None and instance in self.fleet.servers

    def replay_age_s(self, instance: str) -> float | None:
        """Real seconds since the last commit ``instance`` replayed (None: not a standby,
        nothing replayed, or not answering): what RDS's ReplicaLag reports, unscaled."""
        from datetime import UTC, datetime

        import psycopg

        from maip_drlib.sim.postgres.probes import standby_lag

        server = self.fleet.servers.get(instance) if self.fleet is not None else None
        if server is None or not server.running:
            return None
        try:
            lag = standby_lag(None, server)
        except (psycopg.Error, OSError):  # a server going down: no figure, never raise
            return None
        if not lag.in_recovery:
            return None
        now = datetime.now(UTC)
        # Nothing replayed yet (no commit since the standby started): RDS's own periodic
        # writes would have given one; the age runs from when it was first seen a standby.
        since = lag.replay_timestamp or self._standby_seen.setdefault(instance, now)
        return max(0.0, (now - since).total_seconds())

    def status(self) -> dict[str, Any]:
        """Servers (region, port, role), link state, DNS address; never a password."""
        servers: dict[str, Any] = {}
        for name, server in (self.fleet.servers.items() if self.fleet else ()):
            role = "stopped"
            if server.running:
                try:
                    role = "standby" if server.in_recovery() else "writer"
                except Exception:  # a server going down while asked: say so, never raise
                    role = "unreachable"
            servers[name] = {"region": self._regions.get(name), "address": server.host,
                             "port": server.port, "role": role}
        return {"postgres": servers, "secret_name": DB_SECRET_NAME,
                "replication_cut": self._cut, "dns_nameserver": self.dns_nameserver,
                "errors": list(self.errors),
                "kafka": self.kafka.status() if self.kafka is not None
                else {"error": self.kafka_error}}

    # Faults -------------------------------------------------------------------------------

    def follow(self, snapshot: FaultSnapshot) -> None:
        """Apply region outages, restores and the replication cut to the servers."""
        if self.kafka is not None:
            self.kafka.follow(snapshot)
        if self.fleet is None:
            return
        with self._lock:
            for region in (self.topology.primary.region, self.topology.secondary.region):
                down = snapshot.region_down(region)
                if down and region not in self._outages:
                    self._outages.add(region)
                    self._kill_region(region)
                elif not down and region in self._outages:
                    self._outages.discard(region)
                    self._restart_region(region)
            if snapshot.replication_cut != self._cut:
                self._cut = snapshot.replication_cut
                self._apply_cut()

    def _kill_region(self, region: str) -> None:
        fleet = self._fleet()
        for name, server in fleet.servers.items():
            if self._regions.get(name) == region and server.running:
                self._guard(f"kill {name}", lambda n=name: fleet.stop(n, "kill"))
                self._down_by_outage.add(name)

    def _restart_region(self, region: str) -> None:
        fleet = self._fleet()
        for name in sorted(self._down_by_outage):
            if self._regions.get(name) != region:
                continue
            self._down_by_outage.discard(name)
            if name in fleet.servers:
                self._guard(f"restart {name}", lambda n=name: fleet.start(n))

    def _apply_cut(self) -> None:
        fleet = self._fleet()
        for name in fleet.servers:
            with contextlib.suppress(PostgresSimError):
                link = fleet.link(name)
                self._guard(f"replication link of {name}",
                            link.cut if self._cut else link.restore)

    def _guard(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except (PostgresSimError, OSError) as error:
            self.errors.append(f"{what}: {error}")

    # RDS API hooks (called by the rds_data_plane patch) -----------------------------------

    def promotion_requested(self, instance: str) -> None:
        with self._lock:
            self._awaiting_promotion.add(instance)

    def after_describe(self, find: Callable[[str, str], Any]) -> None:
        """Promote for real once moto's promotion completes; hold ``modifying`` until done.

        ``find(instance, region)`` returns moto's DB instance or None.
        """
        with self._lock:
            for name in sorted(self._awaiting_promotion):
                database = find(name, self._regions.get(name, ""))
                if database is None or database.status == "failed":
                    self._awaiting_promotion.discard(name)
                elif (getattr(database, "maip_pending_promotion", None) is None
                      and not database.is_replica and database.status == "available"):
                    self._awaiting_promotion.discard(name)
                    thread = threading.Thread(target=self._promote, args=(name,),
                                              name=f"sim-promote-{name}", daemon=True)
                    self._promotions[name] = thread
                    thread.start()
            for name, thread in list(self._promotions.items()):
                database = find(name, self._regions.get(name, ""))
                if thread.is_alive():
                    if database is not None:
                        database.status = "modifying"
                    continue
                del self._promotions[name]
                if database is not None:
                    failed = name in self._promotion_failed
                    database.status = "failed" if failed else "available"

    def _promote(self, name: str) -> None:
        try:
            self._fleet().promote(name)
        except (PostgresSimError, OSError) as error:
            with self._lock:
                self._promotion_failed.add(name)
                self.errors.append(f"promote {name}: {error}")

    def replica_created(self, name: str, source: str, region: str) -> None:
        """Build a streaming standby ``name`` of ``source`` (raises PostgresSimError)."""
        fleet = self._fleet()
        if name in fleet.servers:
            fleet.rebuild_standby(name, source)
        else:
            fleet.start_standby(name, source)
        with self._lock:
            self._regions[name] = region
            if self._cut:
                fleet.cut_replication(name)

    def stopped(self, name: str) -> None:
        if self.fleet is not None and name in self.fleet.servers:
            self._guard(f"stop {name}", lambda: self._fleet().stop(name, "fast"))

    def started(self, name: str) -> None:
        if self.fleet is not None and name in self.fleet.servers:
            self._guard(f"start {name}", lambda: self._fleet().start(name))

    def deleted(self, name: str) -> None:
        if self.fleet is not None and name in self.fleet.servers:
            self._guard(f"remove {name}", lambda: self._fleet().remove(name))
            with self._lock:
                self._regions.pop(name, None)
                self._down_by_outage.discard(name)
