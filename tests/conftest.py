"""Shared fixtures for tests against the whole embedded simulation, through the real clients.

moto's state is process-global, so each module that needs a simulation gets its own
(module scope) and no two are alive at once. A folder's own conftest may override them
(tests/lib uses a bare moto server instead).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest
from shared_gameday import SharedGameDay, shared_gameday, start_in_background, stop_background
from tier_guard import check_tiers, tier_of, unit_guard

from maip_drlib.config import Target
from maip_drlib.evidence import keys
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.sim.simulation import Simulation
from maip_drlib.write_gate import WriteGate


@pytest.fixture(autouse=True)
def _evidence_key_per_test() -> Iterator[None]:
    """Each test starts and ends with no process evidence key (``evidence/keys.py``) and the
    ``MAIP_DR_HMAC_KEY`` it found: an in-process ``maip-dr gameday`` installs its key for
    the process, which would otherwise key (or unkey) the journals of later tests on the
    same worker."""
    found = os.environb.get(keys.KEY_ENV.encode())
    keys.reset()
    yield
    keys.reset()
    if found is None:
        os.environb.pop(keys.KEY_ENV.encode(), None)
    else:
        os.environb[keys.KEY_ENV.encode()] = found


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
def embedded_gameday(tmp_path_factory: pytest.TempPathFactory) -> SharedGameDay:
    """The session's one embedded game day (tests/shared_gameday.py), for tests that only
    inspect what it printed and wrote; run by the first test (or xdist worker) that asks."""
    return shared_gameday(tmp_path_factory)


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


# --- test tiers (docs/testing.md) -------------------------------------------------------------

TESTS_ROOT = Path(__file__).resolve().parent
STEPS_ROOT = TESTS_ROOT.parent / "steps"


# A whole drill on a 2-core machine shared with parallel workers can take several minutes;
# pyproject.toml's 300 s guard is for everything else.
GAMEDAY_TIMEOUT_S = 900


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The runbook's scenarios in steps/ run against the embedded simulation: tier ``sim``.
    Then every test under tests/ must carry exactly one tier (before ``-m`` selects).
    The gameday tier goes first (its modules are the longest: with pytest-xdist they then
    start first instead of ending the run alone) and gets a longer hang guard."""
    for item in items:
        if STEPS_ROOT in item.path.parents and not tier_of(item):
            item.add_marker(pytest.mark.sim)
    check_tiers(items, TESTS_ROOT)
    for item in items:
        if tier_of(item) == ["gameday"] and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(GAMEDAY_TIMEOUT_S))
    items.sort(key=_run_order(items))  # stable: a module's tests stay together


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist hands out test files in collection order (``_run_order``), not largest
    first (its default ``--loadscope-reorder``: by number of tests, which is not time).
    The first process of the run builds matplotlib's font cache (``_build_font_cache``)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    if not hasattr(config, "workerinput"):  # the controller, or a run without workers
        _build_font_cache()


def _build_font_cache() -> None:
    """matplotlib builds its font cache at the first import of its font manager on a machine,
    running ``fc-list`` where fontconfig is installed: from inside a unit test that is a
    subprocess the tier guard refuses (CI's fresh machine, whichever evidence test came
    first). Built here once, before any test, every later import reads the cache."""
    import matplotlib.font_manager  # noqa: F401  (about 0.2 s once the cache exists)


def _run_order(items: list[pytest.Item]) -> Callable[[pytest.Item], int]:
    """Module by module: whole drills first (the longest modules: under pytest-xdist they
    start first instead of ending the run alone), then the rest, then the modules that read
    the shared game day (started in the background as collection ends, done by then)."""
    rank: dict[Path, int] = {}
    for item in items:
        here = 2 if _reads_shared_gameday(item) else 0 if tier_of(item) == ["gameday"] else 1
        rank[item.path] = max(rank.get(item.path, here), here)
    return lambda item: rank[item.path]


def _reads_shared_gameday(item: pytest.Item) -> bool:
    return "embedded_gameday" in getattr(item, "fixturenames", ())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the shared game day now when a selected test reads it (tests/shared_gameday.py)."""
    if session.config.option.collectonly:
        return
    if any(_reads_shared_gameday(item) for item in session.items):
        start_in_background(session.config._tmp_path_factory)  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _guard_if_unit(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _guard_if_unit(item):
        yield


def _guard_if_unit(item: pytest.Item) -> AbstractContextManager[None]:
    return unit_guard() if item.get_closest_marker("unit") is not None else nullcontext()


def pytest_sessionfinish() -> None:
    stop_background()
