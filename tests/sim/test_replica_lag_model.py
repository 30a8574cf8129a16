"""The simulation's RDS ``ReplicaLag`` figure (``sim/aws/replica_lag_model``), as RDS for
PostgreSQL reports it: now minus the last replayed commit, so it climbs while the source is
idle (until RDS's own periodic write is replayed), and -1 when the replica is not replicating.

The model is driven by a hand-moved monotonic clock (no waiting). Before issue 14 the figure
was the ``rds`` lag fault, 0 while the source region's application wrote nothing, never -1.
"""

from __future__ import annotations

import pytest

from maip_drlib.sim.aws.replica_lag_model import (
    NOT_REPLICATING,
    RDS_IDLE_WRITE_S,
    ReplicaLagModel,
)
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.unit

EAST, WEST = "us-east-1", "us-west-2"
REPLICA = "maip-prod-postgres-replica"


class HandClock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def faults() -> FaultState:
    state = FaultState((EAST, WEST))
    state.set_lag("rds", 2.0)
    return state


def test_idle_source_grows_until_rds_own_write_is_replayed(faults: FaultState) -> None:
    clock = HandClock()
    model = ReplicaLagModel(lambda: 60.0, clock)  # a simulated minute takes 60 s: 1:1
    snapshot = faults.snapshot()
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=False) == 2.0  # the lag fault
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=True) == 2.0  # idle from now
    clock.now += 90.0
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=True) == 90.0  # was 0.0
    clock.now += RDS_IDLE_WRITE_S - 90.0 - 1.0
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=True) == RDS_IDLE_WRITE_S - 1.0
    clock.now += 11.0  # RDS's own write (every 5 minutes) was replayed 10 s ago
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=True) == 10.0
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=False) == 2.0  # writes again
    clock.now += 30.0
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=True) == 2.0  # idle anew


def test_idle_figure_is_in_platform_seconds(faults: FaultState) -> None:
    clock = HandClock()
    model = ReplicaLagModel(lambda: 0.6, clock)  # a simulated minute takes 0.6 s
    snapshot = faults.snapshot()
    model.value(REPLICA, EAST, snapshot, writes_stopped=True)
    clock.now += 1.5  # 2.5 simulated minutes
    assert model.value(REPLICA, EAST, snapshot, writes_stopped=True) == 150.0


def test_replication_cut_and_source_outage_read_not_replicating(faults: FaultState) -> None:
    model = ReplicaLagModel(lambda: 60.0, HandClock())
    faults.set_replication_cut(True)
    for stopped in (False, True):
        assert model.value(REPLICA, EAST, faults.snapshot(), writes_stopped=stopped) == -1.0
    faults.set_replication_cut(False)
    faults.region_outage(EAST)
    assert model.value(REPLICA, EAST, faults.snapshot(), writes_stopped=False) \
        == NOT_REPLICATING == -1.0
    # A replica whose source is in the region that is up replicates as before.
    assert model.value("other-replica", WEST, faults.snapshot(), writes_stopped=False) == 2.0
    faults.restore_region(EAST)
    assert model.value(REPLICA, EAST, faults.snapshot(), writes_stopped=False) == 2.0


class FakeDataPlane:
    """The data plane's two questions: a real server behind it, and its replay age."""

    def __init__(self, age_s: float | None, served: tuple[str, ...] = (REPLICA,)) -> None:
        self.age_s = age_s
        self.served = served

    def serves(self, instance: str) -> bool:
        return instance in self.served

    def replay_age_s(self, instance: str) -> float | None:
        return self.age_s


def test_with_the_data_plane_the_standby_replay_age_decides(faults: FaultState) -> None:
    model = ReplicaLagModel(lambda: 0.6, HandClock())
    snapshot = faults.snapshot()
    # 3 real seconds since the last replayed commit: 300 platform seconds, writes or not.
    assert model.value(REPLICA, EAST, snapshot, False, FakeDataPlane(3.0)) == 300.0
    faults.set_replication_cut(True)  # the real standby's age grows under the cut (measured)
    assert model.value(REPLICA, EAST, faults.snapshot(), False, FakeDataPlane(6.0)) == 600.0
    assert model.value(REPLICA, EAST, snapshot, False, FakeDataPlane(None)) == -1.0
    # An instance without a real server falls back to the model.
    assert model.value(REPLICA, EAST, snapshot, False, FakeDataPlane(3.0, served=())) == 2.0
