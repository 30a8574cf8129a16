"""Replication steps (see features/replication.feature).

The replication feature reuses the readiness steps whose meaning is the same (the global table
ACTIVE in both regions, latency to DR, the MSK clusters and replicator): pytest-bdd steps are
global, so they are defined once, in ``readiness_steps``. Only what the preflight does not
state lives here. A latency with no datapoint in the period (nothing was replicated) is "not
measured": the scenario is skipped with that reason, never passed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from pytest_bdd import parsers, then

from maip_drlib import readiness, readiness_data
from maip_drlib.readiness import ReadinessInputs


@then(parsers.parse("the DynamoDB replication latency back to the primary is under "
                    "{seconds:g} seconds"))
def dynamodb_latency_to_primary(dr_readiness_inputs: ReadinessInputs, seconds: float) -> None:
    """Checks DynamoDB ReplicationLatency back to the primary region against that limit (skipped as
    not measured without datapoints)."""
    inputs = replace(dr_readiness_inputs, thresholds=replace(
        dr_readiness_inputs.thresholds, dynamodb_replication_latency_s=seconds))
    try:
        print(readiness_data.dynamodb_latency_to_primary_verdict(inputs).require().render())
    except readiness.NotChecked as error:  # no datapoint in the period: "not measured"
        pytest.skip(f"not checked: {error}")
