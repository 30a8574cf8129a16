"""One simulation with its data plane (PostgreSQL and the simulated Kafka brokers) for a test
module, with the msk lag fault at zero so that a test sets the lag it measures; skipped,
naming where it looked, without PostgreSQL binaries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maip_drlib.sim.postgres import find_binaries, search_places
from maip_drlib.sim.simulation import SimSettings, Simulation


def data_plane_simulation() -> Iterator[Simulation]:
    """For a module-scoped fixture: ``yield from data_plane_simulation()``."""
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries (the data plane needs them); looked in: "
                    + "; ".join(search_places()))
    with Simulation(settings=SimSettings(time_scale=0.02, data_plane=True)) as running:
        running.faults.set_lag("msk", 0)
        yield running
