"""``maip-dr readiness`` as a user runs it: the Gherkin preflight against the embedded
simulation, its summary line and its JSON output."""

from __future__ import annotations

import json

import pytest

from maip_drlib.sim.postgres import find_binaries, search_places

pytestmark = pytest.mark.sim

DATABASE_ROLES = "The databases say they are a writer and a streaming standby"


@pytest.mark.cli
def test_readiness_on_the_embedded_simulation(maip_dr) -> None:
    result = maip_dr(["readiness"], timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SIMULATED" in result.stdout
    assert "scenarios passed" in result.stdout and "(exit 0)" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.cli
def test_readiness_json(maip_dr) -> None:
    result = maip_dr(["readiness", "--json", "-q"], timeout=180)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout[result.stdout.index("{\n"):])
    assert document["exit_code"] == 0
    outcomes = {r["scenario"]: r["outcome"] for r in document["results"]}
    assert outcomes and set(outcomes.values()) <= {"passed", "skipped"}, outcomes
    # The only skip is a check the simulation cannot answer, said so, never passed silently.
    assert all("not checked" in r["message"] for r in document["results"]
               if r["outcome"] == "skipped")
    assert {r["phase"] for r in document["results"]} == {"readiness"}


@pytest.mark.cli
@pytest.mark.parametrize("flag", [None, "--no-data-plane"])
def test_embedded_readiness_checks_the_databases_with_the_data_plane(
        maip_dr, flag: str | None) -> None:
    """Default (PostgreSQL found): the database role check runs against real PostgreSQL;
    --no-data-plane: it is skipped "not configured", never passed."""
    if flag is None and find_binaries() is None:
        pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()))
    args = ["readiness", "--json", "-q", "-k", "databases"] + ([flag] if flag else [])
    result = maip_dr(args, timeout=180)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout[result.stdout.index("{\n"):])
    (row,) = [r for r in document["results"] if r["scenario"] == DATABASE_ROLES]
    if flag is None:
        assert row["outcome"] == "passed", row
        assert "with its data plane" in result.stderr
    else:
        assert row["outcome"] == "skipped" and "not configured" in row["message"], row
