"""Two planned drills against one running simulation, as scheduled game days run them.

After a completed failback the primary writer is ``topology.failback_replica``
(``maip-prod-postgres-new``) and the first drill's fenced old writer (``maip-prod-postgres``)
is left stopped (failback 4 says to reconcile and delete it). The second drill's failback 2
must create its replica under the primary region's other name: with both names in use it
refuses before any write, naming the instance to delete; once that is deleted, it (and the
planner) use ``maip-prod-postgres`` and the second drill ends in steady state. Readiness
fails on the stale old writer (``readiness_data.rds_failback_name_free``, naming it) so a game
day stops at go/no-go before a failover it could not fail back from; every other check passes.
The tests run in order and share one simulation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from maip_drlib.drill import failback
from maip_drlib.drill.context import DrillContext, DrillOptions, PollPolicy, SyntheticRequest
from maip_drlib.drill.failover import (
    stage_1_primary_down,
    stage_2_promote,
    stage_3_route_clients,
    stage_4_scale_dr,
    stage_5_dr_serves,
)
from maip_drlib.drill.planner import FAILBACK_2, FAILBACK_4, plan_drill
from maip_drlib.errors import GuardRefused, NotFound
from maip_drlib.probes import rds
from maip_drlib.readiness import (
    ReadinessInputs,
    Thresholds,
    rds_failback_name_free,
    run_readiness,
)
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.waits import WaitSpec, wait_for
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.gameday

PRIMARY = "us-east-1"
FIRST_NAME, SECOND_NAME = "maip-prod-postgres", "maip-prod-postgres-new"
NAME_CHECK = "RDS failback replica has a free name"


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(settings=SimSettings(time_scale=0.2, metric_period_s=0.5)) as running:
        yield running


@pytest.fixture(scope="module")
def handles(simulation: Simulation) -> Iterator[RegionHandles]:
    target = simulation.target()
    built = build_region_handles(target, simulation.topology,
                                 writes=WriteGate.consented(target=target.name))
    yield built
    built.close()


def _ctx(simulation: Simulation, handles: RegionHandles, *, execute: bool = True) -> DrillContext:
    target = simulation.target()
    return DrillContext(handles=handles, topology=simulation.topology, target=target,
                        resolver=SimulationResolver(target.control_url),
                        options=DrillOptions(execute=execute, planned=True),
                        poll=PollPolicy(0.1, 0.3))


def _failover(simulation: Simulation, ctx: DrillContext) -> None:
    simulation.faults.set_lag("rds", 0.0)  # writes stopped: the replica catches up
    for stage in (stage_1_primary_down, stage_2_promote, stage_3_route_clients,
                  stage_4_scale_dr):
        stage(ctx)
    stage_5_dr_serves(ctx, SyntheticRequest())


def _planned_replica_name(ctx: DrillContext) -> object:
    calls = plan_drill(ctx, phases=("failback",))
    created = [c for c in calls if c.stage == FAILBACK_2
               and c.operation == "create_db_instance_read_replica"]
    promoted = [c for c in calls if c.stage == FAILBACK_4 and c.operation == "promote_read_replica"]
    assert len(created) == 1 and len(promoted) == 1
    assert promoted[0].parameters["DBInstanceIdentifier"] == (
        created[0].parameters["DBInstanceIdentifier"])
    return created[0].parameters["DBInstanceIdentifier"]


def _inputs(ctx: DrillContext) -> ReadinessInputs:
    return ReadinessInputs(ctx.handles, ctx.topology, ctx.target, ctx.resolver,
                           Thresholds.from_gherkin())


def _steady_state(ctx: DrillContext, stale: str) -> list[str]:
    """Readiness's failures once every check but the failback-name one passes; that one must
    fail naming ``stale`` (the drill's fenced old writer, left for the operator to delete)."""
    def failed() -> list[tuple[str, str]]:
        return [(r.name, r.detail) for r in run_readiness(_inputs(ctx)) if not r.passed]

    found = wait_for(WaitSpec("readiness passing but for the failback name", deadline_s=30,
                              poll_initial_s=0.2, poll_max_s=0.5), failed,
                     success=lambda found: all(name == NAME_CHECK for name, _ in found)).value
    assert len(found) == 1 and found[0][1].startswith("failback 2 would refuse: both names")
    assert f"delete {stale} first" in found[0][1]
    return [detail for name, detail in found if name != NAME_CHECK]


def test_first_drill_ends_with_the_new_name_as_writer(
        simulation: Simulation, handles: RegionHandles) -> None:
    ctx = _ctx(simulation, handles)
    assert _planned_replica_name(ctx) == SECOND_NAME
    _failover(simulation, ctx)
    failback.stage_1_primary_restored(ctx)
    created = failback.stage_2_resync(ctx, deadline_s=30)
    assert created.actions[0].startswith(f"rds:CreateDBInstanceReadReplica {SECOND_NAME} ")
    failback.stage_3_weighted_shift(ctx, soak_s=0.3, max_5xx_per_min=10.0, max_latency_s=1.0)
    failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30)
    roles = rds.find_writer_and_replicas(handles, simulation.topology)
    assert roles.writer is not None and roles.writer.identifier == SECOND_NAME
    assert [f.identifier for f in roles.fenced] == [FIRST_NAME]  # left stopped, not deleted
    assert rds.primary_writer_name(handles.primary, simulation.topology) == SECOND_NAME
    assert _steady_state(ctx, FIRST_NAME) == []


def test_planner_with_both_names_in_use_says_failback_2_would_refuse(
        simulation: Simulation, handles: RegionHandles) -> None:
    ctx = _ctx(simulation, handles, execute=False)
    name = _planned_replica_name(ctx)
    assert isinstance(name, str) and FIRST_NAME in name and "delete" in name
    notes = ctx.decisions.entries[-1].evidence["notes"]
    assert any("failback 2 would refuse" in n and f"delete {FIRST_NAME} first" in n
               for n in notes)


def test_second_failback_2_with_both_names_in_use_refuses_before_any_write(
        simulation: Simulation, handles: RegionHandles) -> None:
    ctx = _ctx(simulation, handles)
    _failover(simulation, ctx)  # the second drill: its failover works as the first did
    first = failback.stage_1_primary_restored(ctx)
    assert first.actions == (f"rds:StopDBInstance {SECOND_NAME} ({PRIMARY})",)
    before = len(ctx.decisions.entries)
    with pytest.raises(GuardRefused) as refused:
        failback.stage_2_resync(ctx, deadline_s=30)
    message = str(refused.value)
    assert "\n" not in message and refused.value.exit_code == 3
    assert f"delete {FIRST_NAME} first" in message and SECOND_NAME in message
    later = [d.decision for d in ctx.decisions.entries[before:]]
    assert later[0] == "precondition met" and later[-1].startswith("refused")
    assert not any("heartbeat" in d for d in later)  # no write was made
    for name in (FIRST_NAME, SECOND_NAME):
        assert rds.db_instance(handles.primary, name).status == "stopped"


def test_second_failback_uses_the_free_name_and_ends_in_steady_state(
        simulation: Simulation, handles: RegionHandles) -> None:
    topology = simulation.topology
    # The operator's step failback 4 asked for: delete the first drill's fenced old writer.
    handles.primary.client("rds").delete_db_instance(DBInstanceIdentifier=FIRST_NAME,
                                                     SkipFinalSnapshot=True)

    def gone() -> bool:
        try:
            rds.db_instance(handles.primary, FIRST_NAME)
        except NotFound:
            return True
        return False

    wait_for(WaitSpec(f"{FIRST_NAME} deleted", deadline_s=60, poll_initial_s=0.1,
                      poll_max_s=0.3), gone, success=bool)
    ctx = _ctx(simulation, handles)
    assert _planned_replica_name(_ctx(simulation, handles, execute=False)) == FIRST_NAME
    assert f"names its replica {FIRST_NAME} (free" in rds_failback_name_free(
        _inputs(ctx)).require().render()
    resync = failback.stage_2_resync(ctx, deadline_s=30)
    assert len(resync.actions) == 1
    assert resync.actions[0].startswith(f"rds:CreateDBInstanceReadReplica {FIRST_NAME} "
                                        f"({PRIMARY})")
    replica = rds.db_instance(handles.primary, FIRST_NAME)
    assert replica.role == "replica" and replica.source_id == topology.secondary.rds_instance
    assert failback.stage_2_resync(ctx, deadline_s=30).actions == ()  # recognised, not again
    failback.stage_3_weighted_shift(ctx, soak_s=0.3, max_5xx_per_min=10.0, max_latency_s=1.0)
    last = failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30)
    assert f"rds:PromoteReadReplica {FIRST_NAME} ({PRIMARY})" in last.actions
    roles = rds.find_writer_and_replicas(handles, topology)
    assert roles.writer is not None and roles.writer.identifier == FIRST_NAME
    assert [f.identifier for f in roles.fenced] == [SECOND_NAME]
    assert rds.primary_writer_name(handles.primary, topology) == FIRST_NAME
    dr = rds.db_instance(handles.secondary, topology.secondary.rds_instance)
    assert dr.source_id == FIRST_NAME
    started = time.monotonic()
    assert _steady_state(ctx, SECOND_NAME) == []
    assert time.monotonic() - started < 30
    assert failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30).actions == ()
