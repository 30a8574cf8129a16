"""The simulation's "writes stopped" (what its ReplicaLag model and DynamoDB traffic read)
counts Terminating pods: they keep their connections over their grace period (issue 14,
"the application fence"). SIMULATED platform on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.waits import WaitSpec, wait_for

pytestmark = pytest.mark.sim

PRIMARY = "us-east-1"


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    # 600 real seconds per simulated minute: a 30 s grace period lasts 300 real seconds, so
    # the pods are still Terminating while the test looks.
    with Simulation(settings=SimSettings(time_scale=600.0, metric_period_s=0.5)) as running:
        yield running


def test_a_terminating_pod_still_writes_and_its_end_stops_writes(
        simulation: Simulation) -> None:
    cluster = simulation._regions[PRIMARY].cluster
    namespace = simulation.topology.namespace
    assert not simulation.writes_stopped(PRIMARY)
    deployments, _ = cluster.list("deployments", namespace)
    for deployment in deployments:  # what the fence does: scale every deployment to 0
        cluster.scale_deployment(namespace, deployment["metadata"]["name"], 0)

    def all_terminating() -> list[dict]:
        pods, _ = cluster.list("pods", namespace)
        return pods if pods and all(p["metadata"].get("deletionTimestamp")
                                    for p in pods) else []

    terminating = wait_for(WaitSpec("the controller to begin terminating the pods",
                                    deadline_s=30, poll_initial_s=0.05, poll_max_s=0.2),
                           all_terminating, success=bool)
    assert not simulation.writes_stopped(PRIMARY)  # Terminating pods keep writing
    for pod in terminating.value:
        cluster.terminate_pod(namespace, pod["metadata"]["name"], grace_seconds=0)
    wait_for(WaitSpec("the primary's pods to be gone", deadline_s=30, poll_initial_s=0.05,
                      poll_max_s=0.2),
             lambda: simulation.writes_stopped(PRIMARY), success=bool)
