"""Failback 2 judges DynamoDB replication by a heartbeat item, not by ``ReplicationLatency``.

DynamoDB publishes ``ReplicationLatency`` only for items replicated in the period: with the
writes of a failback stopped or thin there may be nothing to read. So the stage (it has the
operator's consent) writes one item into the canary table in each region and reads it back,
strongly consistent, in the other, recording the measured delay; a delay over the limit fails
the stage before any RDS change. The metric is never asked (the probe is replaced by one that
fails the test).

One simulation, brought to the post-failover state with the actions (as
tests/drill/test_failback_stages.py does), then failback 1; the tests run in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from maip_drlib.actions import eks as eks_actions
from maip_drlib.actions import kube as kube_actions
from maip_drlib.actions import rds as rds_actions
from maip_drlib.drill import failback
from maip_drlib.drill.context import DrillContext, DrillOptions, PollPolicy
from maip_drlib.drill.dynamodb_heartbeat import METHOD
from maip_drlib.errors import CheckFailed, NotFound
from maip_drlib.probes import dynamodb as dynamodb_probes
from maip_drlib.probes import rds
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

DELAY_RE = re.compile(r"heartbeat item (heartbeat#\S+)/(\d+) read in (\S+) after "
                      r"(\d+\.\d{3})s \(decided by heartbeat item\)")


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(settings=SimSettings(time_scale=0.2, metric_period_s=0.5)) as running:
        yield running


@pytest.fixture(scope="module")
def ctx(simulation: Simulation) -> Iterator[DrillContext]:
    target = simulation.target()
    handles = build_region_handles(target, simulation.topology,
                                   writes=WriteGate.consented(target=target.name))
    context = DrillContext(handles=handles, topology=simulation.topology, target=target,
                           resolver=SimulationResolver(simulation.control_url),
                           options=DrillOptions(execute=True), poll=PollPolicy(0.1, 0.3))
    topo = simulation.topology
    simulation.faults.region_outage(topo.primary.region)
    rds_actions.promote_read_replica(handles.secondary, topo.secondary.rds_instance,
                                     deadline_s=30, poll_max_s=0.3)
    eks_actions.update_nodegroup_scaling(handles.secondary, topo.secondary.eks_cluster,
                                         topo.secondary.nodegroup, topo.failover_scaling,
                                         deadline_s=30, poll_max_s=0.3)
    kube_actions.scale_all_deployments(handles.secondary, topo.namespace,
                                       topo.failover_replicas, deadline_s=60)
    simulation.faults.restore_region(topo.primary.region)
    failback.stage_1_primary_restored(context)
    yield context
    handles.close()


@pytest.fixture(autouse=True)
def metric_never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def asked(*args: object, **kwargs: object) -> None:
        raise AssertionError("failback 2 read ReplicationLatency")

    monkeypatch.setattr(dynamodb_probes, "replication_latency", asked)


def test_a_heartbeat_slower_than_the_limit_fails_stage_2_before_any_rds_change(
        ctx: DrillContext, simulation: Simulation) -> None:
    simulation.faults.set_lag("dynamodb", 1.0)  # every item lands 1 s after its write
    try:
        with pytest.raises(CheckFailed, match="DynamoDB replication slower than the limit") \
                as failed:
            failback.stage_2_resync(ctx, deadline_s=30, max_dynamodb_latency_s=0.3)
    finally:
        simulation.faults.set_lag("dynamodb", 0.5)
    error = failed.value
    assert error.expected == "heartbeat read within 0.3s"
    found = DELAY_RE.search(str(error.observed))
    assert found, error.observed
    assert found.group(3) == error.region == ctx.topology.secondary.region  # us-east-1 -> DR
    assert float(found.group(4)) >= 1.0  # measured: at least the delivery delay
    with pytest.raises(NotFound):
        rds.db_instance(ctx.handles.primary, ctx.topology.failback_replica)


def test_stage_2_records_each_direction_with_its_measured_delay(ctx: DrillContext) -> None:
    outcome = failback.stage_2_resync(ctx, deadline_s=30)
    beats = [DELAY_RE.search(text) for text in outcome.facts["dynamodb"]]  # type: ignore[union-attr]
    assert all(beats) and len(beats) == 2, outcome.facts["dynamodb"]
    assert {b.group(3) for b in beats if b} == {h.region for h in ctx.handles}
    for beat in beats:
        assert beat is not None and 0.0 < float(beat.group(4)) <= 5.0
        receiver = ctx.handles.by_name(beat.group(3))
        item = receiver.client("dynamodb").get_item(
            TableName=ctx.topology.canary_table, ConsistentRead=True,
            Key={"pk": {"S": beat.group(1)}, "seq": {"N": beat.group(2)}})
        assert "Item" in item  # the heartbeat is there, in the receiving region
    assert METHOD == "heartbeat item"
