"""Shared fixtures for tests against the whole embedded simulation, through the real clients.

moto's state is process-global, so each module that needs a simulation gets its own
(module scope) and no two are alive at once. A folder's own conftest may override them
(tests/lib uses a bare moto server instead).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maip_drlib.config import Target
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.sim.simulation import Simulation
from maip_drlib.write_gate import WriteGate


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(time_scale=0.2) as running:
        yield running


@pytest.fixture(scope="module")
def target(simulation: Simulation) -> Target:
    return simulation.target()


@pytest.fixture(scope="module")
def handles(simulation: Simulation, target: Target) -> Iterator[RegionHandles]:
    """The simulation's handles, with consent to write (the tests drive stages and seed data)."""
    built = build_region_handles(target, simulation.topology,
                                 writes=WriteGate.consented(target=target.name))
    yield built
    built.close()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server on 127.0.0.1 for the session; tests reset it (/moto-api/reset)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
