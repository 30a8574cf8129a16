"""The drill stages with the simulation's data plane on (real PostgreSQL behind RDS).

ONE module-scoped data-plane Simulation (moto state is process-global); the tests run in file
order, each continuing where the previous one left the platform, as a game day does: the
readiness check asks both databases for their roles and real lag ("not configured" without
database access; failing once the cut standby falls behind), RDS canaries with the
replication link cut before the outage, failover stages 1-2 (the promoted database accepts a
real write), the RDS RPO (non-zero, lost canaries counted, over a small target fails), then
failback stage 1 (the restored old writer's database says writer: split brain, fenced) and
stage 2 (data continuity to the failback replica).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from maip_cli_helpers import wait_until

from maip_drlib import readiness
from maip_drlib.drill import canaries, failback, failback_rds, failover, guards, rpo_check
from maip_drlib.drill.context import DrillContext, DrillOptions, OutageDeclaration, PollPolicy
from maip_drlib.errors import CheckFailed
from maip_drlib.probes import postgres as pg
from maip_drlib.readiness import ReadinessInputs, Thresholds
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.rpo import PacedCanaryWriter
from maip_drlib.rpo.rds import rds_store
from maip_drlib.sim.postgres import find_binaries, search_places
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

if find_binaries() is None:
    pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()),
                allow_module_level=True)

DRILL = "data-plane-stages"
CUT_S = 1.5  # canaries committed on the writer after the cut: really lost


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    settings = SimSettings(time_scale=0.2, metric_period_s=0.5, data_plane=True)
    with Simulation(settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def ctx(simulation: Simulation) -> Iterator[DrillContext]:
    target = simulation.target()
    assert target.database is not None
    handles = build_region_handles(target, simulation.topology,
                                   writes=WriteGate.consented(target=target.name))
    yield DrillContext(handles=handles, topology=simulation.topology, target=target,
                       resolver=SimulationResolver(simulation.control_url),
                       options=DrillOptions(execute=True, declared_outage=OutageDeclaration.now(
                           "data-plane stage test")), poll=PollPolicy(0.1, 0.3))
    handles.close()


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    return {}


def _decisions(ctx: DrillContext, stage: str) -> list[str]:
    return [entry.decision for entry in ctx.decisions.entries if entry.stage == stage]


def _readiness_inputs(ctx: DrillContext, **thresholds: float) -> ReadinessInputs:
    return ReadinessInputs(handles=ctx.handles, topology=ctx.topology, target=ctx.target,
                           resolver=None,
                           thresholds=replace(Thresholds.from_gherkin(), **thresholds))


def test_readiness_asks_postgres_for_the_roles_and_the_real_lag(ctx: DrillContext) -> None:
    detail = readiness.rds_roles_in_postgres(_readiness_inputs(ctx)).require().render()
    assert f"PostgreSQL {ctx.topology.primary.rds_instance} (us-east-1): writer" in detail
    assert f"PostgreSQL standby {ctx.topology.secondary.rds_instance} (us-west-2)" in detail
    assert "WAL distance" in detail and "receiving=True" in detail
    unconfigured = _readiness_inputs(ctx)
    unconfigured = replace(unconfigured, target=replace(ctx.target, database=None))
    with pytest.raises(readiness.NotChecked, match="not configured"):
        readiness.rds_roles_in_postgres(unconfigured)


def test_the_guard_asks_postgres_for_writes_and_sees_the_services_sessions(
        simulation: Simulation, ctx: DrillContext) -> None:
    import psycopg

    topo = simulation.topology
    state = guards.primary_writer_state(ctx)
    assert state.serving and "takes writes" in str(state.database), state
    standby = guards.database_writes(ctx, ctx.handles.secondary, topo.secondary.rds_instance)
    assert not standby.accepts and "pg_is_in_recovery=true" in standby.detail
    spec = pg.connection_spec(ctx.handles.primary, ctx.target.database, topo.primary.rds_instance)
    wait_until("no session but the suite's", lambda: pg.service_sessions(spec) == ())
    kwargs = dict(spec.connect_kwargs(read_only=True), application_name="merchant-api")
    with psycopg.connect(**kwargs):  # a service still connected to the old writer
        found = pg.service_sessions(spec)
        assert [item.application for item in found] == ["merchant-api"]
        fencing = guards.observe_fencing(ctx)
        assert not fencing.fenced and "merchant-api" in str(fencing)
    wait_until("the service session gone", lambda: pg.service_sessions(spec) == ())


def test_canaries_then_cut_then_outage(simulation: Simulation, ctx: DrillContext,
                                       state: dict[str, Any]) -> None:
    topo = simulation.topology
    plan = canaries.CanaryPlan(interval_s=0.1)
    writer: PacedCanaryWriter = canaries.start_rds_writer(
        ctx.handles.primary, topo, ctx.target.database, DRILL, plan)  # type: ignore[arg-type]
    wait_until("canaries acknowledged", lambda: len(writer.acknowledged) >= 5)
    simulation.faults.set_replication_cut(True)
    wait_until("the cut applied", lambda: simulation.data_plane.status()["replication_cut"])  # type: ignore[union-attr]
    time.sleep(CUT_S)
    # Readiness sees the standby fall behind: canaries committed on the writer, none replayed.
    with pytest.raises(CheckFailed, match="not a standby within the lag threshold"):
        readiness.rds_roles_in_postgres(_readiness_inputs(ctx, standby_lag_s=0.5)).require()
    simulation.faults.region_outage(topo.primary.region)
    assert writer.wait_stopped(15.0), "the canary writer did not stop at the outage"
    writer.stop()
    assert writer.failure is not None
    state.update(writer=writer, plan=plan)


def test_failover_stage_2_proves_the_promoted_database_accepts_writes(
        ctx: DrillContext) -> None:
    failover.stage_1_primary_down(ctx)
    outcome = failover.stage_2_promote(ctx, drill_id=DRILL)
    assert "accepts writes" in outcome.facts["accepts_writes"]
    assert ctx.topology.secondary.rds_instance in outcome.facts["accepts_writes"]
    assert "promoted database accepts writes" in _decisions(ctx, failover.STAGE_2)
    assert "accepts writes" in outcome.summary


def test_rds_rpo_counts_the_canaries_the_cut_lost(ctx: DrillContext, state: dict[str, Any],
                                                  tmp_path: Path) -> None:
    writer, plan = state["writer"], state["plan"]
    attempt = tmp_path / DRILL / "attempt-1"
    attempt.mkdir(parents=True)
    canaries.finish_writer(writer, attempt, DRILL, plan, wait_for_outage=False,
                           store=canaries.RDS_STORE)
    measurement = rpo_check.measure_from_canaries(ctx, attempt, settle_s=2.0,
                                                  store=canaries.RDS_STORE)
    assert measurement.store == "rds"
    assert measurement.rpo_s is not None and measurement.rpo_s >= CUT_S / 2
    assert measurement.lost >= 5
    assert not rpo_check.lower_bound_only(measurement)
    with pytest.raises(CheckFailed, match="over the RPO target"):
        rpo_check.assert_within(measurement, 0.5)
    rpo_check.assert_within(measurement, 60.0)
    document = rpo_check.record(attempt, measurement, 0.5)
    rows = {row["store"]: row for row in json.loads(document.read_text())["rpo"]}
    assert rows["rds"]["lost"] == measurement.lost and rows["dynamodb"]["status"] == \
        "not measured"
    # The same store reads the promoted database directly.
    found = rds_store(ctx.topology, ctx.target.database).read(ctx.handles.secondary, DRILL)
    assert len(found) == len(writer.acknowledged) - measurement.lost


def test_failback_stage_1_catches_split_brain_by_the_database_role(
        simulation: Simulation, ctx: DrillContext) -> None:
    topo = simulation.topology
    simulation.faults.set_replication_cut(False)
    simulation.faults.restore_region(topo.primary.region)
    old = pg.connection_spec(ctx.handles.primary, ctx.target.database, topo.primary.rds_instance)
    assert wait_until("old writer back", lambda: pg.database_role(old)).in_recovery is False
    outcome = failback.stage_1_primary_restored(ctx)
    assert outcome.facts["split_brain"] is True
    assert topo.primary.rds_instance in str(outcome.facts["fenced"])
    roles = [entry for entry in ctx.decisions.entries if entry.stage == failback.STAGE_1
             and entry.decision.startswith("old writer's database role")]
    assert roles and roles[0].decision.endswith("writer")
    assert roles[0].evidence["split_brain"] is True
    assert "pg_is_in_recovery=false" in roles[0].evidence["role"]
    decisions = _decisions(ctx, failback.STAGE_1)
    assert decisions.index(roles[0].decision) < decisions.index("old writer fenced (stopped)")


def test_failback_stage_2_checks_data_continuity(ctx: DrillContext) -> None:
    outcome = failback.stage_2_resync(ctx, drill_id=DRILL)
    continuity = str(outcome.facts["data_continuity"])
    assert "0 missing" in continuity and ctx.topology.failback_replica in continuity
    assert "data continuity" in _decisions(ctx, failback.STAGE_2)


def test_continuity_names_rows_missing_on_the_failback_replica(
        simulation: Simulation, ctx: DrillContext) -> None:
    from maip_drlib.actions.postgres import accepts_writes
    from maip_drlib.probes import rds as rds_probes

    topo = simulation.topology
    promoted = rds_probes.db_instance(ctx.handles.secondary, topo.secondary.rds_instance)
    dr = pg.connection_spec(ctx.handles.secondary, ctx.target.database,
                            topo.secondary.rds_instance)
    simulation.faults.set_replication_cut(True)
    try:
        wait_until("the cut applied", lambda: simulation.data_plane.status()["replication_cut"])  # type: ignore[union-attr]
        written = accepts_writes(dr, DRILL)
        with pytest.raises(CheckFailed, match=f"write/{written.seq}"):
            failback_rds.continuity(ctx, promoted, topo.failback_replica, DRILL, 1.0)
    finally:
        simulation.faults.set_replication_cut(False)
    assert "data continuity failed" in _decisions(ctx, failback.STAGE_2)
