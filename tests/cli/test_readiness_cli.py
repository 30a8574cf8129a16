"""The README's main job: ``maip-dr readiness`` against the embedded simulation, as a user
runs it, and its JSON output."""

from __future__ import annotations

import json

import pytest


@pytest.mark.cli
def test_readiness_on_the_embedded_simulation(maip_dr) -> None:
    result = maip_dr(["readiness"], timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SIMULATED" in result.stdout
    assert "15/15 checks passed" in result.stdout
    for region in ("us-east-1", "us-west-2"):
        assert f"Kubernetes nodes Ready               {region}  PASS" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.cli
def test_readiness_json(maip_dr) -> None:
    result = maip_dr(["readiness", "--json"], timeout=180)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["simulated"] is True and document["kind"] == "embedded"
    assert len(document["results"]) == 15 and all(r["passed"] for r in document["results"])
