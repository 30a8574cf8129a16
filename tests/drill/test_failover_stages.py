"""Failover stages 1..5 against the embedded simulation, with their guards and preconditions.

Two scenarios whose states would collide (an unplanned outage, a planned failover) each get
their own simulation, class-scoped: the first is stopped before the second starts (moto's state
is process-global, never two at once). The planned scenario goes on with failback 1-4: the old
writer stays RDS-available after a planned promotion (fenced at the application only).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maip_drlib.drill import failback, outcome_checks
from maip_drlib.drill.context import (
    DrillContext,
    DrillOptions,
    OutageDeclaration,
    PollPolicy,
    SyntheticRequest,
)
from maip_drlib.drill.failover import (
    stage_1_primary_down,
    stage_2_promote,
    stage_3_route_clients,
    stage_4_scale_dr,
    stage_5_dr_serves,
)
from maip_drlib.errors import CheckFailed, GuardRefused
from maip_drlib.facts import NodesFact
from maip_drlib.probes import eks, kube, rds, route53
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.aws import runtime
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.waits import WaitSpec, wait_for
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

PRIMARY, DR = "us-east-1", "us-west-2"


@pytest.fixture(scope="class")
def simulation() -> Iterator[Simulation]:
    with Simulation(settings=SimSettings(time_scale=0.2, metric_period_s=0.5)) as running:
        yield running


@pytest.fixture(scope="class")
def handles(simulation: Simulation) -> Iterator[RegionHandles]:
    # Consent at the handles: a stage without --dr-execute is refused by its own check.
    target = simulation.target()
    built = build_region_handles(target, simulation.topology,
                                 writes=WriteGate.consented(target=target.name))
    yield built
    built.close()


@pytest.fixture()
def make_ctx(simulation: Simulation, handles: RegionHandles):
    def build(**options: object) -> DrillContext:
        target = simulation.target()
        return DrillContext(handles=handles, topology=simulation.topology, target=target,
                            resolver=SimulationResolver(target.control_url),
                            options=DrillOptions(**options),  # type: ignore[arg-type]
                            poll=PollPolicy(0.1, 0.3))
    return build


def dr_instance(handles: RegionHandles, simulation: Simulation):
    return rds.db_instance(handles.secondary, simulation.topology.secondary.rds_instance)


def desired(handles_region, namespace: str) -> set[int]:
    return {item.desired for item in kube.deployments(handles_region, namespace)}


def clients_region(simulation: Simulation) -> str:
    return simulation.resolve(simulation.topology.record_name)["region"]


def records(handles: RegionHandles, simulation: Simulation) -> list[str]:
    zone = route53.hosted_zone(handles.primary, simulation.topology.hosted_zone)
    return sorted(map(str, route53.record_sets(handles.primary, zone.zone_id,
                                               simulation.topology.record_name, "A")))


class TestUnplannedOutage:
    def test_without_execute_a_stage_refuses_and_changes_nothing(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        topology = simulation.topology
        before = desired(handles.primary, topology.namespace)
        ctx = make_ctx(execute=False, planned=True)
        with pytest.raises(GuardRefused, match="--dr-execute"):
            stage_1_primary_down(ctx)  # where it starts is fine: only the flag is missing
        assert desired(handles.primary, topology.namespace) == before != {0}
        assert ctx.decisions.entries[-1].evidence["needed"] == "--dr-execute"
        assert ctx.decisions.entries[0].decision == "precondition met"

    def test_stages_3_and_4_refuse_without_a_promoted_writer_and_change_nothing(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        topology = simulation.topology
        seen = records(handles, simulation)
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("us-east-1 down"))
        for stage, number in ((stage_3_route_clients, 3), (stage_4_scale_dr, 4)):
            with pytest.raises(GuardRefused, match=f"failover {number}: refusing to start: "
                               "found no writer in the DR region.*run failover 2 first"):
                stage(ctx)
        assert records(handles, simulation) == seen
        assert clients_region(simulation) == PRIMARY
        state = eks.nodegroup_state(handles.secondary, topology.secondary.eks_cluster,
                                    topology.secondary.nodegroup, include_updates=False)
        assert state.scaling == topology.secondary.standby_scaling
        assert desired(handles.secondary, topology.namespace) == {1}
        refused = [d for d in ctx.decisions.entries if d.decision.startswith("refused")]
        assert [d.evidence["run_first"] for d in refused] == ["failover 2", "failover 2"]

    def test_promotion_refused_while_the_primary_writer_is_reachable(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("drill"))
        with pytest.raises(GuardRefused, match="split brain") as refused:
            stage_2_promote(ctx)
        assert refused.value.exit_code == 3
        assert not dr_instance(handles, simulation).is_writer
        assert ctx.decisions.entries[-1].decision.startswith("refused")

    def test_unreachable_primary_without_declaration_refuses_promotion(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        simulation.faults.region_outage(PRIMARY)
        ctx = make_ctx(execute=True)
        assert stage_1_primary_down(ctx).actions == ()
        with pytest.raises(GuardRefused, match="--dr-declare-outage"):
            stage_2_promote(ctx)
        assert not dr_instance(handles, simulation).is_writer

    def test_route53_control_plane_impaired_when_a_change_is_needed(
            self, make_ctx, simulation: Simulation) -> None:
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("us-east-1 down"))
        assert stage_2_promote(ctx).actions  # the outage of the previous test is in place
        allowed = [d for d in ctx.decisions.entries if d.decision == "allowed: declared outage"]
        assert allowed and allowed[0].evidence["declared_by"]
        simulation.faults.restore_region(PRIMARY)  # the pair answers the primary again
        # Route 53's checkers and the ALB's target health see the primary back only after
        # their thresholds (pinned in tests/sim/test_route53_health.py); this test is about
        # stage 3 with the control plane impaired, so they adopt the endpoints' state now.
        runtime.current().health.settle()
        try:
            wait_for(WaitSpec("clients back on the primary", deadline_s=30, poll_initial_s=0.1,
                              poll_max_s=0.3), lambda: clients_region(simulation),
                     success=lambda region: region == PRIMARY)
            simulation.faults.impair_route53_control_plane(True)
            with pytest.raises(CheckFailed, match="Route 53 control plane impaired") as failed:
                stage_3_route_clients(ctx)
            assert "health checks are the data-plane path" in str(failed.value)
            assert clients_region(simulation) == PRIMARY
        finally:
            simulation.faults.impair_route53_control_plane(False)
            simulation.faults.region_outage(PRIMARY)

    def test_declared_outage_stages_1_to_5(self, make_ctx, handles: RegionHandles,
                                           simulation: Simulation) -> None:
        topology = simulation.topology
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("us-east-1 down"))
        outcomes = [stage_1_primary_down(ctx), stage_2_promote(ctx), stage_3_route_clients(ctx),
                    stage_4_scale_dr(ctx), stage_5_dr_serves(ctx, SyntheticRequest())]
        assert [o.stage for o in outcomes] == [f"failover {n}" for n in range(1, 6)]
        assert "already a standalone writer" in outcomes[1].summary
        writer = dr_instance(handles, simulation)
        assert writer.is_writer and writer.status == "available" and writer.source is None
        assert clients_region(simulation) == DR
        state = eks.nodegroup_state(handles.secondary, topology.secondary.eks_cluster,
                                    topology.secondary.nodegroup, include_updates=False)
        assert state.scaling == topology.failover_scaling
        assert {d.ready for d in kube.deployments(handles.secondary, topology.namespace)} == {
            topology.failover_replicas}
        nodes = kube.nodes(handles.secondary)
        assert isinstance(nodes, NodesFact) and len(nodes.ready) == 8

    def test_rerunning_stages_2_to_4_does_nothing_twice(self, make_ctx) -> None:
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("us-east-1 down"))
        for stage in (stage_2_promote, stage_3_route_clients, stage_4_scale_dr):
            assert stage(ctx).actions == ()
        # Recognising work already done needs no --dr-execute either.
        assert stage_2_promote(make_ctx(execute=False)).actions == ()


class TestPlannedFailover:
    def test_stage_1_fences_and_stage_2_promotes(self, make_ctx, handles: RegionHandles,
                                                 simulation: Simulation) -> None:
        topology = simulation.topology
        simulation.faults.set_lag("rds", 0.0)  # writes stopped: the replica catches up
        ctx = make_ctx(execute=True, planned=True)
        fenced = stage_1_primary_down(ctx)
        assert fenced.actions
        assert desired(handles.primary, topology.namespace) == {0}
        assert kube.pods(handles.primary, topology.namespace) == ()  # not only desired=0
        assert "pods left: none" in str(fenced.facts["fencing"])
        assert "lag" in str(fenced.facts["replica_lag"])
        assert "application fenced" in outcome_checks.primary_takes_no_writes(ctx)
        promoted = stage_2_promote(ctx)
        assert promoted.actions
        assert dr_instance(handles, simulation).is_writer
        assert any(d.decision == "allowed: planned failover, primary fenced"
                   for d in ctx.decisions.entries)
        assert stage_1_primary_down(ctx).actions == ()

    def test_the_fenced_old_writer_is_not_split_brain(self, make_ctx, handles: RegionHandles,
                                                      simulation: Simulation) -> None:
        old = rds.db_instance(handles.primary, simulation.topology.primary.rds_instance)
        assert old.is_writer and old.status == "available"  # fenced at the application only
        ctx = make_ctx(execute=True, planned=True)
        found = outcome_checks.only_writer_in(ctx, "secondary")
        assert "old writer fenced at the application" in found
        assert any("not split brain" in d.decision for d in ctx.decisions.entries)
        with pytest.raises(CheckFailed, match=r"not \(only\) where expected"):
            outcome_checks.only_writer_in(make_ctx(execute=True), "secondary")  # not planned

    def test_stages_3_to_5_pass(self, make_ctx, handles: RegionHandles,
                                simulation: Simulation) -> None:
        ctx = make_ctx(execute=True, planned=True)
        outcomes = [stage_3_route_clients(ctx), stage_4_scale_dr(ctx),
                    stage_5_dr_serves(ctx, SyntheticRequest())]
        assert [o.stage for o in outcomes] == ["failover 3", "failover 4", "failover 5"]
        assert clients_region(simulation) == DR
        assert outcome_checks.only_writer_in(ctx, "secondary")
        assert "application fenced" in outcome_checks.primary_takes_no_writes(ctx)

    def test_failback_after_a_planned_failover(self, make_ctx, handles: RegionHandles,
                                               simulation: Simulation) -> None:
        topology = simulation.topology
        ctx = make_ctx(execute=True, planned=True)
        first = failback.stage_1_primary_restored(ctx)
        assert first.actions == (f"rds:StopDBInstance {topology.primary.rds_instance} "
                                 f"({PRIMARY})",)
        assert any(d.decision.startswith("planned failover: old writer still available")
                   for d in ctx.decisions.entries)
        assert outcome_checks.only_writer_in(ctx, "secondary")
        failback.stage_2_resync(ctx, deadline_s=30)
        failback.stage_3_weighted_shift(ctx, soak_s=0.3, max_5xx_per_min=10.0,
                                        max_latency_s=1.0)
        last = failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30)
        assert any(a.startswith("rds:PromoteReadReplica") for a in last.actions)
        assert outcome_checks.only_writer_in(ctx, "primary")
        assert "PRIMARY" in outcome_checks.failover_pair_restored(ctx)
        assert clients_region(simulation) == PRIMARY
