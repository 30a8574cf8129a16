"""``maip-dr readiness`` as a user runs it: the Gherkin preflight against the embedded
simulation, its summary line and its JSON output."""

from __future__ import annotations

import json

import pytest


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
