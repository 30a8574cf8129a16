"""Failover stages 1..5 against the embedded simulation, with their guards.

Two scenarios whose states would collide (an unplanned outage, a planned failover) each get
their own simulation, class-scoped: the first is stopped before the second starts (moto's state
is process-global, never two at once).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
from maip_drlib.probes import eks, kube, rds
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.simulation import Simulation

PRIMARY, DR = "us-east-1", "us-west-2"


@pytest.fixture(scope="class")
def simulation() -> Iterator[Simulation]:
    with Simulation(time_scale=0.2) as running:
        yield running


@pytest.fixture(scope="class")
def handles(simulation: Simulation) -> Iterator[RegionHandles]:
    built = build_region_handles(simulation.target(), simulation.topology)
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


class TestUnplannedOutage:
    def test_without_execute_a_stage_refuses_and_changes_nothing(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        topology = simulation.topology
        ctx = make_ctx(execute=False)
        with pytest.raises(GuardRefused, match="--dr-execute"):
            stage_4_scale_dr(ctx)
        state = eks.nodegroup_state(handles.secondary, topology.secondary.eks_cluster,
                                    topology.secondary.nodegroup, include_updates=False)
        assert state.scaling == topology.secondary.standby_scaling
        assert desired(handles.secondary, topology.namespace) == {1}
        assert ctx.decisions.entries[-1].evidence["needed"] == "--dr-execute"

    def test_promotion_refused_while_the_primary_writer_is_reachable(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("drill"))
        with pytest.raises(GuardRefused, match="split brain") as refused:
            stage_2_promote(ctx)
        assert refused.value.exit_code == 3
        assert not dr_instance(handles, simulation).is_writer
        assert ctx.decisions.entries[-1].decision.startswith("refused")

    def test_route53_control_plane_impaired_when_a_change_is_needed(
            self, make_ctx, simulation: Simulation) -> None:
        assert clients_region(simulation) == PRIMARY
        simulation.faults.impair_route53_control_plane(True)
        try:
            with pytest.raises(CheckFailed, match="Route 53 control plane impaired") as failed:
                stage_3_route_clients(make_ctx(execute=True))
            assert "health checks are the data-plane path" in str(failed.value)
        finally:
            simulation.faults.impair_route53_control_plane(False)
        assert clients_region(simulation) == PRIMARY

    def test_unreachable_primary_without_declaration_refuses_promotion(
            self, make_ctx, handles: RegionHandles, simulation: Simulation) -> None:
        simulation.faults.region_outage(PRIMARY)
        ctx = make_ctx(execute=True)
        assert stage_1_primary_down(ctx).actions == ()
        with pytest.raises(GuardRefused, match="--dr-declare-outage"):
            stage_2_promote(ctx)
        assert not dr_instance(handles, simulation).is_writer

    def test_declared_outage_stages_1_to_5(self, make_ctx, handles: RegionHandles,
                                           simulation: Simulation) -> None:
        topology = simulation.topology
        ctx = make_ctx(execute=True, declared_outage=OutageDeclaration.now("us-east-1 down"))
        outcomes = [stage_1_primary_down(ctx), stage_2_promote(ctx), stage_3_route_clients(ctx),
                    stage_4_scale_dr(ctx), stage_5_dr_serves(ctx, SyntheticRequest())]
        assert [o.stage for o in outcomes] == [f"failover {n}" for n in range(1, 6)]
        assert outcomes[1].actions and "promote_read_replica" in outcomes[1].actions[0]
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
        allowed = [d for d in ctx.decisions.entries if d.decision == "allowed: declared outage"]
        assert allowed and allowed[0].evidence["declared_by"]

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
        assert "lag" in str(fenced.facts["replica_lag"])
        promoted = stage_2_promote(ctx)
        assert promoted.actions
        assert dr_instance(handles, simulation).is_writer
        assert any(d.decision == "allowed: planned failover, primary fenced"
                   for d in ctx.decisions.entries)
        assert stage_1_primary_down(ctx).actions == ()
