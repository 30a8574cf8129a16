"""Failback stages 1-4 against the embedded simulation, from the post-failover state.

The first tests run from the steady state (before the module's ``ctx`` fixture fails over):
failback 3 started there refuses, and failback 4 finds its own end state (its work done, no
call); nothing changes.

The state is reached with the actions directly (outage of us-east-1, promotion of the DR
replica, DR scaled to failover capacity), then us-east-1 is restored: the old writer comes back
beside the promoted one (split brain). The tests run in order and share one simulation.
Its database is encrypted (the topology names a KMS key per region): the cross-region replicas
of failback 2 and 4 are created with the destination's key, and refused without one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from maip_drlib.actions import eks as eks_actions
from maip_drlib.actions import kube as kube_actions
from maip_drlib.actions import rds as rds_actions
from maip_drlib.config import Topology
from maip_drlib.drill import failback
from maip_drlib.drill.context import DrillContext, DrillOptions, PollPolicy
from maip_drlib.errors import CheckFailed, ConfigError, GuardRefused, NotFound
from maip_drlib.probes import kube, rds, route53
from maip_drlib.readiness import ReadinessInputs, Thresholds, run_readiness
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.aws.patches.rds_phases import RDS_PHASES
from maip_drlib.sim.aws.seed_rds import with_simulated_kms_keys
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

SOAK_S = 0.3
NAME_CHECK = "RDS failback replica has a free name"
LIMITS = {"max_5xx_per_min": 10.0, "max_latency_s": 1.0}


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(with_simulated_kms_keys(Topology()),
                    settings=SimSettings(time_scale=0.2, metric_period_s=0.5)) as running:
        yield running


def _context(simulation: Simulation, execute: bool = True) -> DrillContext:
    # Consent at the handles even without execute: the stage's own --dr-execute check refuses.
    target = simulation.target()
    handles = build_region_handles(target, simulation.topology,
                                   writes=WriteGate.consented(target=target.name))
    return DrillContext(handles=handles,
                        topology=simulation.topology, target=target,
                        resolver=SimulationResolver(simulation.control_url),
                        options=DrillOptions(execute=execute), poll=PollPolicy(0.1, 0.3))


@pytest.fixture(scope="module")
def ctx(simulation: Simulation) -> Iterator[DrillContext]:
    context = _context(simulation)
    topo, handles = simulation.topology, context.handles
    simulation.faults.region_outage(topo.primary.region)
    rds_actions.promote_read_replica(handles.secondary, topo.secondary.rds_instance,
                                     deadline_s=30, poll_max_s=0.3)
    eks_actions.update_nodegroup_scaling(handles.secondary, topo.secondary.eks_cluster,
                                         topo.secondary.nodegroup, topo.failover_scaling,
                                         deadline_s=30, poll_max_s=0.3)
    kube_actions.scale_all_deployments(handles.secondary, topo.namespace,
                                       topo.failover_replicas, deadline_s=60)
    simulation.faults.restore_region(topo.primary.region)
    yield context
    handles.close()


def _records(context: DrillContext) -> list[str]:
    zone = route53.hosted_zone(context.handles.primary, context.topology.hosted_zone)
    return sorted(map(str, route53.record_sets(context.handles.primary, zone.zone_id,
                                               context.topology.record_name, "A")))


def _desired(context: DrillContext) -> dict[str, list[int]]:
    return {h.region: sorted(d.desired for d in kube.deployments(h, context.topology.namespace))
            for h in context.handles}


def test_failback_from_the_steady_state_changes_nothing(simulation: Simulation) -> None:
    context = _context(simulation)
    try:
        records, desired = _records(context), _desired(context)
        roles = str(rds.find_writer_and_replicas(context.handles, context.topology))
        with pytest.raises(GuardRefused, match=r"failback 3: refusing to start: found no "
                           r"writer in the DR region.*run the failover \(failover 1-5\) first"):
            failback.stage_3_weighted_shift(context, soak_s=0, **LIMITS)
        # The steady state is failback 4's end state whichever primary name the writer has
        # (each completed failback alternates them): its work is done, it makes no call.
        assert failback.stage_4_steady_state(context, deadline_s=5,
                                             delete_deadline_s=5).actions == ()
        assert _records(context) == records  # no traffic sent to DR
        assert _desired(context) == desired  # no writes stopped
        assert str(rds.find_writer_and_replicas(context.handles, context.topology)) == roles
        refused = [d for d in context.decisions.entries if d.decision.startswith("refused")]
        assert [d.stage for d in refused] == ["failback 3"]
        assert any(d.stage == "failback 4" and d.decision == "precondition met: work already "
                   "done" for d in context.decisions.entries)
    finally:
        context.handles.close()


def _answers(simulation: Simulation, count: int = 20) -> set[str]:
    return {simulation.resolve(simulation.topology.record_name)["region"] for _ in range(count)}


def test_restored_primary_is_split_brain_and_stage_1_fences_it(
        ctx: DrillContext, simulation: Simulation) -> None:
    before = rds.find_writer_and_replicas(ctx.handles, ctx.topology)
    assert before.split_brain
    for later in (lambda: failback.stage_2_resync(ctx, deadline_s=5),
                  lambda: failback.stage_3_weighted_shift(ctx, soak_s=0, **LIMITS)):
        with pytest.raises(GuardRefused, match=r"old writer beside the promoted one.*split "
                           r"brain.*run failback 1 first"):
            later()
    with pytest.raises(GuardRefused, match="--dr-execute"):
        failback.stage_1_primary_restored(_context(simulation, execute=False))
    outcome = failback.stage_1_primary_restored(ctx)
    assert outcome.facts["split_brain"] is True
    assert outcome.actions == ("rds:StopDBInstance maip-prod-postgres (us-east-1)",)
    assert "maip-prod-postgres" in str(outcome.facts["fenced"])
    after = rds.find_writer_and_replicas(ctx.handles, ctx.topology)
    assert not after.split_brain and after.writer is not None
    assert after.writer.identifier == ctx.topology.secondary.rds_instance
    assert [f.identifier for f in after.fenced] == [ctx.topology.primary.rds_instance]
    decisions = [d.decision for d in ctx.decisions.entries if d.stage == "failback 1"]
    assert any("split brain detected" in d for d in decisions)
    # Fenced before any traffic shifted: the failover pair is still in place.
    zone = route53.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
    kinds = {r.kind for r in route53.record_sets(ctx.handles.primary, zone.zone_id,
                                                 ctx.topology.record_name, "A")}
    assert kinds == {"failover"}
    again = failback.stage_1_primary_restored(ctx)
    assert again.actions == () and again.facts["split_brain"] is False


def _without_key(context: DrillContext, side: str) -> DrillContext:
    topology = context.topology
    place = replace(getattr(topology, side), kms_key_id=None)
    return replace(context, topology=replace(topology, **{side: place}))


def test_stage_2_without_the_primary_kms_key_refuses_before_any_write(
        ctx: DrillContext) -> None:
    before = len(ctx.decisions.entries)
    with pytest.raises(ConfigError) as refused:
        failback.stage_2_resync(_without_key(ctx, "primary"), deadline_s=30)
    message = str(refused.value)
    assert message.startswith("topology.primary.kms_key_id: failback 2: ")
    assert "maip-prod-postgres-replica (us-west-2) is encrypted" in message
    assert "\n" not in message
    with pytest.raises(NotFound):
        rds.db_instance(ctx.handles.primary, ctx.topology.failback_replica)
    later = [d.decision for d in ctx.decisions.entries[before:]]
    assert later == ["precondition met", "refused: the source is encrypted and the config "
                     "names no KMS key for its replica's region"]  # and no heartbeat item


def test_stage_2_creates_and_catches_up_the_failback_replica_once(
        ctx: DrillContext, simulation: Simulation) -> None:
    started = time.monotonic()
    outcome = failback.stage_2_resync(ctx, deadline_s=30)
    # The replica read `creating` for the simulated snapshot copy and restore; the drill waited.
    assert time.monotonic() - started >= simulation.clock.real_seconds(
        RDS_PHASES.replica_creating_s)
    assert len(outcome.actions) == 1 and "maip-prod-postgres-new" in outcome.actions[0]
    assert "SourceRegion=us-west-2" in outcome.actions[0]
    assert outcome.actions[0].endswith(" KmsKeyId=alias/maip-rds")
    described = ctx.handles.primary.client("rds").describe_db_instances(
        DBInstanceIdentifier=ctx.topology.failback_replica)["DBInstances"][0]
    assert described["StorageEncrypted"] is True
    assert described["KmsKeyId"] == simulation.seed.kms_key_arns["us-east-1"]  # type: ignore[union-attr]
    replica = rds.db_instance(ctx.handles.primary, ctx.topology.failback_replica)
    assert replica.role == "replica"
    assert replica.source_id == ctx.topology.secondary.rds_instance
    again = failback.stage_2_resync(ctx, deadline_s=30)
    assert again.actions == ()


def test_stage_3_validates_steps(ctx: DrillContext) -> None:
    with pytest.raises(ConfigError, match="summing to 100"):
        failback.stage_3_weighted_shift(ctx, steps=((10, 80), (100, 0)), soak_s=0, **LIMITS)
    with pytest.raises(ConfigError, match=r"last step must be \(100, 0\)"):
        failback.stage_3_weighted_shift(ctx, steps=((10, 90), (90, 10)), soak_s=0, **LIMITS)


def test_stage_3_degraded_primary_alb_shifts_back_and_fails(
        ctx: DrillContext, simulation: Simulation) -> None:
    primary = ctx.topology.primary.region

    def degrade_before_second_step(index: int, weights: tuple[int, int]) -> None:
        if index == 1:
            simulation.faults.set_alb(primary, http_5xx_count=250, target_response_time_s=0.05)
            simulation.publish_metrics_now()

    with pytest.raises(CheckFailed) as failed:
        failback.stage_3_weighted_shift(ctx, soak_s=SOAK_S, before_step=degrade_before_second_step,
                                        **LIMITS)
    message = str(failed.value)
    assert "step 2 (50/50" in message and "HTTPCode_ELB_5XX_Count" in message
    assert "250 per minute" in message and f"region={primary}" in message
    assert "shifted back to 10/90" in message
    zone = route53.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
    weights = {r.set_identifier: r.weight for r in route53.record_sets(
        ctx.handles.primary, zone.zone_id, ctx.topology.record_name, "A")}
    assert weights == {"weighted-us-east-1": 10, "weighted-us-west-2": 90}
    assert any("degraded" in d.decision for d in ctx.decisions.entries)
    simulation.faults.set_alb(primary)
    time.sleep(1.1)  # the faulty datapoint leaves the newest 1-second period
    simulation.publish_metrics_now()


def test_stage_4_refuses_before_stopping_writes_while_weights_are_not_100_0(
        ctx: DrillContext) -> None:
    records, desired = _records(ctx), _desired(ctx)
    assert "weight=10" in " ".join(records)  # the degraded shift left 10/90
    with pytest.raises(GuardRefused, match=r"failback 4: refusing to start: found traffic not "
                       r"back on the primary.*run failback 3 first"):
        failback.stage_4_steady_state(ctx, deadline_s=5, delete_deadline_s=5)
    assert _records(ctx) == records and _desired(ctx) == desired
    replica = rds.db_instance(ctx.handles.primary, ctx.topology.failback_replica)
    assert replica.role == "replica"  # not promoted
    dr = rds.db_instance(ctx.handles.secondary, ctx.topology.secondary.rds_instance)
    assert dr.is_writer  # not deleted


def test_stage_3_shifts_to_the_primary_and_dns_follows(
        ctx: DrillContext, simulation: Simulation) -> None:
    seen: list[tuple[int, int]] = []
    outcome = failback.stage_3_weighted_shift(
        ctx, soak_s=SOAK_S, before_step=lambda index, weights: seen.append(weights), **LIMITS)
    assert seen == [(10, 90), (50, 50), (90, 10), (100, 0)]  # resumed at the good 10/90
    assert outcome.actions[-1].endswith("weights 100/0")
    assert _answers(simulation) == {ctx.topology.primary.region}
    again = failback.stage_3_weighted_shift(ctx, soak_s=SOAK_S, **LIMITS)
    assert again.actions == ()


def test_stage_4_without_the_dr_kms_key_refuses_before_writes_stop(ctx: DrillContext) -> None:
    records, desired = _records(ctx), _desired(ctx)
    with pytest.raises(ConfigError, match=r"^topology\.secondary\.kms_key_id: failback 4: "
                       r"maip-prod-postgres-new \(us-east-1\) is encrypted"):
        failback.stage_4_steady_state(_without_key(ctx, "secondary"), deadline_s=60,
                                      delete_deadline_s=30)
    assert _records(ctx) == records and _desired(ctx) == desired  # writes not stopped
    replica = rds.db_instance(ctx.handles.primary, ctx.topology.failback_replica)
    assert replica.role == "replica"  # not promoted
    assert rds.db_instance(ctx.handles.secondary, ctx.topology.secondary.rds_instance).is_writer


def test_stage_4_reaches_steady_state_and_readiness_passes(
        ctx: DrillContext, simulation: Simulation) -> None:
    outcome = failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30)
    created = [a for a in outcome.actions if a.startswith("rds:CreateDBInstanceReadReplica")]
    assert len(created) == 1 and created[0].endswith(" KmsKeyId=alias/maip-rds")
    dr_kms = ctx.handles.secondary.client("rds").describe_db_instances(
        DBInstanceIdentifier=ctx.topology.secondary.rds_instance)["DBInstances"][0]["KmsKeyId"]
    assert dr_kms == simulation.seed.kms_key_arns["us-west-2"]  # type: ignore[union-attr]
    assert any(a.startswith("rds:PromoteReadReplica maip-prod-postgres-new") for a in
               outcome.actions)
    roles = rds.find_writer_and_replicas(ctx.handles, ctx.topology)
    assert roles.writer is not None
    assert (roles.writer.identifier, roles.writer.region) == ("maip-prod-postgres-new",
                                                              "us-east-1")
    dr = rds.db_instance(ctx.handles.secondary, ctx.topology.secondary.rds_instance)
    assert dr.source_id == "maip-prod-postgres-new"
    results = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        results = run_readiness(ReadinessInputs(ctx.handles, ctx.topology, ctx.target,
                                                ctx.resolver, Thresholds.from_gherkin()))
        if all(r.passed for r in results if r.name != NAME_CHECK):
            break
        time.sleep(0.5)
    assert [r.detail for r in results if not r.passed and r.name != NAME_CHECK] == []
    # The fenced old writer failback 4 left stopped holds the other name: the next drill's
    # failback 2 would refuse, so readiness says to delete it first (go/no-go).
    [name_check] = [r for r in results if r.name == NAME_CHECK]
    assert not name_check.passed and "delete maip-prod-postgres first" in name_check.detail
    assert _answers(simulation) == {ctx.topology.primary.region}
    again = failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30)
    assert again.actions == ()
