"""With the data plane, the simulation's ``ReplicaLag`` is the real standby's replay age
(``DataPlane.replay_age_s``, scaled by ``ReplicaLagModel``): now minus the last commit the
standby replayed. It grows while the writer is idle and under a cut link (the commit made
after the cut is not replayed), and falls once the standby replays again.

One writer and its streaming standby (real PostgreSQL) for the module; the waits are bounded
conditions on the servers, never fixed sleeps. Skipped, naming where it looked, without
PostgreSQL binaries (as tests/sim/test_data_plane_*.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from maip_cli_helpers import wait_until

from maip_drlib.config import Topology
from maip_drlib.sim.aws.replica_lag_model import ReplicaLagModel
from maip_drlib.sim.data_plane import DataPlane
from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.postgres import PostgresFleet, find_binaries, search_places, wait_caught_up

pytestmark = pytest.mark.sim

if find_binaries() is None:
    pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()),
                allow_module_level=True)

WRITER, STANDBY = "lag-writer", "lag-standby"
EAST, WEST = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def plane() -> Iterator[DataPlane]:
    fleet = PostgresFleet()
    try:
        fleet.start_writer(WRITER)
        fleet.start_standby(STANDBY, WRITER)
        data_plane = DataPlane(Topology(), FaultState((EAST, WEST)))
        data_plane.fleet = fleet
        with fleet.server(WRITER).connect() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS lag_probe (at double precision)")
        yield data_plane
    finally:
        fleet.close()


def _commit(data_plane: DataPlane) -> float:
    """One commit on the writer; the wall-clock time just before it."""
    assert data_plane.fleet is not None
    before = time.time()
    with data_plane.fleet.server(WRITER).connect() as connection:
        connection.execute("INSERT INTO lag_probe VALUES (%s)", (before,))
    return before


def _age(data_plane: DataPlane) -> float:
    age = data_plane.replay_age_s(STANDBY)
    assert age is not None, "the standby gave no replay age"
    return age


def test_idle_writer_replay_age_grows(plane: DataPlane) -> None:
    assert plane.fleet is not None
    _commit(plane)
    wait_caught_up(plane.fleet.server(WRITER), plane.fleet.server(STANDBY), timeout_s=30)
    start = _age(plane)
    assert 0.0 <= start < 5.0
    # Nothing written since: the figure climbs with the idle time (RDS reports the same).
    wait_until("the idle standby's replay age to grow by 1 s",
               lambda: _age(plane) >= start + 1.0, timeout_s=15)
    scaled = ReplicaLagModel(lambda: 0.6).value(STANDBY, EAST, plane.faults.snapshot(), False,
                                                 plane)
    assert scaled >= (start + 1.0) * 100.0  # platform seconds: 1 real s = 100 at 0.6
    assert plane.replay_age_s(WRITER) is None  # a writer has no replay age: -1 in the metric
    assert ReplicaLagModel(lambda: 0.6).value(WRITER, EAST, plane.faults.snapshot(), False,
                                              plane) == -1.0


def test_cut_link_age_counts_from_the_last_commit_replayed(plane: DataPlane) -> None:
    assert plane.fleet is not None
    plane.fleet.cut_replication(STANDBY)
    try:
        written = _commit(plane)
        # Not replayed: the age stays older than the commit made after the cut, and grows.
        for _ in range(3):
            assert _age(plane) > time.time() - written
        wait_until("the cut standby's age to run 1 s past the unreplayed commit",
                   lambda: _age(plane) > time.time() - written + 1.0, timeout_s=15)
    finally:
        plane.fleet.restore_replication(STANDBY)
    wait_caught_up(plane.fleet.server(WRITER), plane.fleet.server(STANDBY), timeout_s=30)
    # Replayed now: the age counts from that commit (or a later one), no longer from before it.
    assert _age(plane) <= time.time() - written + 0.01
