"""The fault matrix, in-process rows: one simulation, rows in drill order (state carries over).

Each row injects its fault through ``Simulation.faults`` (the same controls as the HTTP route
and ``maip-dr sim fault``), runs the library call an operator's drill runs, asserts the verdict
(naming region, resource and observation) and records the time from injection to verdict.
Every row clears its fault before the next. Deadlines are the library's (20 s floor for a
simulated wait); the ceilings asserted here are generous bounds, not speed goals.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fault_rows import Recorder

from maip_drlib.drill import call_builders, clients_landing, deadlines, failback, failover
from maip_drlib.drill.context import DrillContext, DrillOptions, OutageDeclaration, PollPolicy
from maip_drlib.errors import CheckFailed, DRError, WaitFailed, WaitTimeout
from maip_drlib.probes import rds as rds_probes
from maip_drlib.probes import route53 as route53_probes
from maip_drlib.readiness import (
    NotChecked,
    ReadinessInputs,
    Thresholds,
    Verdict,
    dynamodb_global_table,
    dynamodb_replication_latency,
    eks_cluster_active,
    msk_replicator,
    rds_replica_lag,
    rds_writer_and_replica,
    route53_failover_pair,
    run_readiness,
)
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.faults import ApiFault
from maip_drlib.sim.simulation import Simulation
from maip_drlib.waits import WaitSpec, wait_for
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

PRIMARY, DR = "us-east-1", "us-west-2"
CEILING_S = 60.0  # no verdict may take longer than this (proof that waits are bounded)


@pytest.fixture(scope="module")
def handles(simulation: Simulation) -> Iterator[RegionHandles]:
    # Consent to write: the rows run the drill's stages and actions.
    target = simulation.target()
    built = build_region_handles(target, simulation.topology,
                                 writes=WriteGate.consented(target=target.name))
    yield built
    built.close()


@pytest.fixture(scope="module")
def ctx(simulation: Simulation, handles: RegionHandles) -> DrillContext:
    target = simulation.target()
    return DrillContext(handles=handles, topology=simulation.topology, target=target,
                        resolver=SimulationResolver(target.control_url),
                        options=DrillOptions(execute=True, declared_outage=OutageDeclaration.now(
                            "fault matrix")), poll=PollPolicy(0.1, 0.3))


@pytest.fixture(scope="module")
def inputs(simulation: Simulation, handles: RegionHandles, ctx: DrillContext) -> ReadinessInputs:
    return ReadinessInputs(handles=handles, topology=simulation.topology,
                           target=simulation.target(), resolver=ctx.resolver,
                           thresholds=Thresholds.from_gherkin())


def verdict_of(call: Callable[[], object], ceiling_s: float = CEILING_S) -> DRError:
    """Run ``call``; it must raise a library error (the verdict) within ``ceiling_s``."""
    started = time.monotonic()
    with pytest.raises(DRError) as raised:
        call()
    assert time.monotonic() - started < ceiling_s
    return raised.value


def names(error: DRError, region: str, *words: str) -> str:
    """The verdict names the region, the resource and an observation; returns its text."""
    text = str(error)
    assert region in text, text
    if isinstance(error, CheckFailed):
        assert error.resource and error.observed is not None, text
    for word in words:
        assert word in text, f"{word!r} not in {text}"
    return text


def until_fails(check: Callable[[ReadinessInputs], Verdict], inputs: ReadinessInputs,
                deadline_s: float = 20.0) -> CheckFailed:
    """Re-run a readiness check until it fails (metrics are published periodically)."""
    outcome = wait_for(WaitSpec(f"{check.__name__} to fail", deadline_s=deadline_s,
                                poll_initial_s=0.2, poll_max_s=0.5),
                       lambda: _failure(check, inputs), success=lambda found: found is not None)
    assert outcome.value is not None
    return outcome.value


def _failure(check: Callable[[ReadinessInputs], Verdict], inputs: ReadinessInputs
             ) -> CheckFailed | None:
    try:
        check(inputs).require()
    except CheckFailed as failed:
        return failed
    except NotChecked:  # e.g. no ReplicationLatency datapoint yet: nothing delivered
        return None
    return None


# --- Before the outage: replication and throttling -------------------------------------------


# SigV4 signing names of every AWS service the readiness checks call.
READINESS_SERVICES = ("rds", "eks", "dynamodb", "monitoring", "kafka", "secretsmanager", "ecr",
                      "servicequotas", "ec2", "elasticloadbalancing", "route53")


def _clean_readiness(inputs: ReadinessInputs) -> None:
    """Wait (bounded) until every readiness check passes (these rows run before any other:
    the lag rows' figures stay in the checks' 10-minute metric window)."""
    wait_for(WaitSpec("every readiness check to pass before the row", deadline_s=30,
                      poll_initial_s=0.5, poll_max_s=1.0),
             lambda: [r.name for r in run_readiness(inputs) if not r.passed],
             success=lambda failing: not failing)


def test_throttle_burst_on_every_service(simulation: Simulation, inputs: ReadinessInputs,
                                         record: Recorder) -> None:
    _clean_readiness(inputs)
    injected = [ApiFault("throttle", service=service, region=region, remaining=1)
                for service in READINESS_SERVICES
                for region in (("*",) if service == "route53" else (PRIMARY, DR))]
    record.start()
    for fault in injected:
        simulation.faults.add_api_fault(fault)
    try:
        results = run_readiness(inputs)
        record.done("throttle-burst-every-service", "passed after retries")
        assert [f"{r.name}: {r.detail}" for r in results if not r.passed] == []
        left = set(simulation.faults.snapshot().api_faults)
        throttled = {fault.service for fault in injected if fault not in left}
        assert throttled == set(READINESS_SERVICES), "bursts not met: " + ", ".join(
            sorted(set(READINESS_SERVICES) - throttled))
    finally:
        simulation.faults.clear_api_faults()


def test_persistent_throttle_on_each_service(simulation: Simulation, inputs: ReadinessInputs,
                                             record: Recorder) -> None:
    services = ("secretsmanager", "ecr", "servicequotas", "ec2", "elasticloadbalancing",
                "monitoring", "kafka")
    _clean_readiness(inputs)
    slowest = 0.0
    for service in services:
        started = time.monotonic()
        simulation.faults.add_api_fault(ApiFault("throttle", service=service, region=DR))
        try:
            results = run_readiness(inputs)
        finally:
            simulation.faults.clear_api_faults()
        slowest = max(slowest, time.monotonic() - started)
        failed = [r for r in results if not r.passed]
        assert failed, f"no check failed under a persistent throttle on {service}"
        for result in failed:
            assert result.error_kind == "unreachable", (service, result)
            for word in (DR, "throttled", "HTTP", "attempts"):
                assert word in result.detail, (service, word, result.detail)
    assert slowest < CEILING_S
    record.measured("throttle-persistent-every-service", "failed as expected", slowest)


# DynamoDB: ReplicationLatency exists only for items delivered (AWS publishes it only for
# items replicated in the period), so the row's verdict comes once the simulated services'
# first write made after the fault has landed, 8 s later: a longer wait than the other rows.
@pytest.mark.parametrize(("row", "store", "seconds", "check", "region", "word"), [
    ("lag-rds", "rds", 120.0, rds_replica_lag, DR, "maip-prod-postgres-replica"),
    ("lag-dynamodb", "dynamodb", 8.0, dynamodb_replication_latency, DR, "(us-west-2): 8."),
    ("lag-msk", "msk", 300.0, msk_replicator, DR, "300"),
])
def test_replication_lag_over_threshold(row: str, store: str, seconds: float, check, region: str,
                                        word: str, simulation: Simulation,
                                        inputs: ReadinessInputs, record: Recorder) -> None:
    record.start()
    simulation.faults.set_lag(store, seconds)
    try:
        failed = until_fails(check, inputs, deadline_s=40.0)
        record.done(row, "failed as expected")
        names(failed, region, word, "threshold")
    finally:
        simulation.faults.set_lag(store, 0.5)
        simulation.publish_metrics_now()


def test_replicator_failed(simulation: Simulation, inputs: ReadinessInputs,
                           record: Recorder) -> None:
    record.start()
    simulation.faults.set_replicator_state("FAILED")
    try:
        failed = until_fails(msk_replicator, inputs)
        record.done("replicator-failed", "failed as expected")
        names(failed, DR, "FAILED")
    finally:
        simulation.faults.set_replicator_state("RUNNING")


@pytest.mark.parametrize(("row", "service", "region", "check"), [
    ("throttle-burst-rds", "rds", DR, rds_writer_and_replica),
    ("throttle-burst-eks", "eks", DR, lambda i: eks_cluster_active(i, "secondary")),
    ("throttle-burst-dynamodb", "dynamodb", PRIMARY, dynamodb_global_table),
    ("throttle-burst-route53", "route53", PRIMARY, route53_failover_pair),
])
def test_throttle_burst_is_retried(row: str, service: str, region: str, check,
                                   simulation: Simulation, inputs: ReadinessInputs,
                                   record: Recorder) -> None:
    record.start()
    simulation.faults.add_api_fault(ApiFault("throttle", service=service, region=region,
                                             remaining=1))
    try:
        assert check(inputs).require().ok
        record.done(row, "passed after retry")
        assert simulation.faults.snapshot().api_faults == (), "the burst was not met"
    finally:
        simulation.faults.clear_api_faults()


def test_throttle_burst_inside_a_wait(simulation: Simulation, handles: RegionHandles,
                                      record: Recorder) -> None:
    replica = simulation.topology.secondary.rds_instance
    record.start()
    simulation.faults.add_api_fault(ApiFault("throttle", service="rds", region=DR, remaining=6))
    try:
        outcome = wait_for(WaitSpec(f"{replica} to read available", deadline_s=20,
                                    poll_initial_s=0.1, poll_max_s=0.5),
                           lambda: rds_probes.db_instance(handles.secondary, replica),
                           success=lambda fact: fact.status == "available")
        record.done("throttle-burst-in-wait", "passed after retries")
        assert outcome.polls == 1 and outcome.elapsed_s < 20
        assert simulation.faults.snapshot().api_faults == ()
    finally:
        simulation.faults.clear_api_faults()


def test_persistent_throttle_gives_a_clear_verdict(simulation: Simulation,
                                                   inputs: ReadinessInputs,
                                                   record: Recorder) -> None:
    record.start()
    simulation.faults.add_api_fault(ApiFault("throttle", service="rds", region=DR))
    try:
        error = verdict_of(lambda: rds_writer_and_replica(inputs).require(), ceiling_s=15)
        record.done("throttle-persistent", "failed as expected")
        names(error, DR, "throttled", "Throttling", "HTTP 400", "attempts")
    finally:
        simulation.faults.clear_api_faults()


def test_route53_impaired_when_a_change_is_needed(simulation: Simulation, ctx: DrillContext,
                                                  record: Recorder) -> None:
    assert simulation.resolve(simulation.topology.record_name)["region"] == PRIMARY
    record.start()
    simulation.faults.impair_route53_control_plane(True)
    try:
        # Failover 3's record change alone, with its diagnosis of a failing Route 53 control
        # plane (the stage itself refuses here: no promoted DR writer yet).
        error = verdict_of(lambda: _route53_change_as_failover_3(ctx))
        record.done("route53-impaired-change-needed", "failed as expected")
        names(error, PRIMARY, "Route 53 control plane impaired", "data-plane path", "route53")
    finally:
        simulation.faults.impair_route53_control_plane(False)
    assert simulation.resolve(simulation.topology.record_name)["region"] == PRIMARY


# --- Failover 1: how the primary is down ------------------------------------------------------


@pytest.mark.parametrize(("row", "mode"), [("primary-kube-refuse", "refuse"),
                                           ("primary-kube-hang", "hang")])
def test_primary_kube_api_alone_is_not_an_outage(row: str, mode: str, simulation: Simulation,
                                                 ctx: DrillContext, record: Recorder) -> None:
    record.start()
    simulation.faults.set_kube_api(PRIMARY, mode)  # type: ignore[arg-type]
    try:
        error = verdict_of(lambda: failover.stage_1_primary_down(ctx), ceiling_s=30)
        record.done(row, "failed as expected")
        names(error, PRIMARY, "not down", "available")
    finally:
        simulation.faults.set_kube_api(PRIMARY, None)


def test_primary_aws_5xx_and_kube_refusing_is_down(simulation: Simulation, ctx: DrillContext,
                                                   record: Recorder) -> None:
    record.start()
    simulation.faults.add_api_fault(ApiFault("5xx", region=PRIMARY))
    simulation.faults.set_kube_api(PRIMARY, "refuse")
    try:
        outcome = failover.stage_1_primary_down(ctx)
        record.done("primary-aws-5xx", "passed: primary down")
        assert "HTTP 503" in outcome.summary and PRIMARY in outcome.summary
    finally:
        simulation.faults.clear_api_faults()
        simulation.faults.set_kube_api(PRIMARY, None)


def test_primary_nodes_not_ready_while_api_answers(simulation: Simulation, ctx: DrillContext,
                                                   record: Recorder) -> None:
    record.start()
    simulation.faults.set_nodes_not_ready(PRIMARY)
    simulation.faults.add_api_fault(ApiFault("refuse", region=PRIMARY))
    try:
        outcome = wait_for(WaitSpec("failover 1 to see the primary down", deadline_s=20,
                                    poll_initial_s=0.2, poll_max_s=0.5),
                           lambda: _stage_1_or_none(ctx), success=lambda found: found is not None)
        record.done("primary-nodes-notready", "passed: primary down")
        summary = outcome.value.summary  # type: ignore[union-attr]
        assert "NotReady" in summary or "not ready" in summary.lower(), summary
    finally:
        simulation.faults.clear_api_faults()
        simulation.faults.set_nodes_not_ready(PRIMARY, False)


def _stage_1_or_none(ctx: DrillContext):
    try:
        return failover.stage_1_primary_down(ctx)
    except CheckFailed:
        return None


@pytest.mark.parametrize(("row", "mode"), [("primary-aws-hang", "hang"),
                                           ("primary-aws-refuse", "refuse")])
def test_primary_region_outage_is_down(row: str, mode: str, simulation: Simulation,
                                       ctx: DrillContext, record: Recorder) -> None:
    record.start()
    simulation.faults.region_outage(PRIMARY, mode)  # type: ignore[arg-type]
    started = time.monotonic()
    outcome = failover.stage_1_primary_down(ctx)
    record.done(row, "passed: primary down")
    assert time.monotonic() - started < 45
    assert "primary down" in outcome.summary and PRIMARY in outcome.summary
    # The refuse row leaves us-east-1 out for the rest of the drill, as a game day does.


# --- Failover 2: promotion -------------------------------------------------------------------


def test_promotion_failing_fails_the_stage_at_once(simulation: Simulation, ctx: DrillContext,
                                                   record: Recorder) -> None:
    replica = simulation.topology.secondary.rds_instance
    limit = deadlines.deadline_s(ctx, deadlines.PROMOTION_DEADLINE_S)
    record.start()
    simulation.faults.set_promotion("fail")
    try:
        error = verdict_of(lambda: failover.stage_2_promote(ctx))
        seconds = record.done("promotion-fails", "failed at once")
        assert seconds < limit / 2, (seconds, limit)
        names(error, DR, replica, "failed")
    finally:
        simulation.faults.set_promotion("normal")
        _reset_failed_promotion(replica)


def _reset_failed_promotion(identifier: str) -> None:
    """Test-only repair: the failed instance reads available again, still a replica."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.rds.models import rds_backends

    database = rds_backends[DEFAULT_ACCOUNT_ID][DR].databases[identifier]
    database.status = "available"


def _stage_2_budget_minutes() -> float:
    """Failover 2's RTO budget, read from features/failover.feature (one source of truth)."""
    text = (Path(__file__).resolve().parents[2] / "features" / "failover.feature").read_text()
    found = re.search(r"Scenario: The DR replica becomes a standalone writer\n\s+Given the RTO "
                      r"budget of this stage is (\d+) minutes", text)
    assert found, "failover 2's RTO budget is not in features/failover.feature"
    return float(found.group(1))


def test_promotion_stuck_past_budget_fails_rto_and_the_drill_goes_on(
        simulation: Simulation, ctx: DrillContext, record: Recorder) -> None:
    budget_s = ctx.real_seconds(_stage_2_budget_minutes())  # as the Gherkin says
    simulation.faults.set_promotion("stuck")
    release = threading.Timer(budget_s + 1.0, lambda: simulation.faults.set_promotion("normal"))
    record.start()
    release.start()
    try:
        outcome = failover.stage_2_promote(ctx)
        seconds = record.done("promotion-stuck", "passed late: RTO verdict failed")
    finally:
        release.cancel()
        simulation.faults.set_promotion("normal")
    assert outcome.actions and seconds > budget_s, (seconds, budget_s)
    assert rds_probes.db_instance(ctx.handles.secondary,
                                  simulation.topology.secondary.rds_instance).is_writer


# --- Failover 3 and 4 ------------------------------------------------------------------------


def test_route53_impaired_with_the_pair_already_switched(simulation: Simulation,
                                                         ctx: DrillContext,
                                                         record: Recorder) -> None:
    wait_for(WaitSpec("the failover pair to answer DR", deadline_s=20, poll_initial_s=0.1,
                      poll_max_s=0.5),
             lambda: simulation.resolve(simulation.topology.record_name)["region"],
             success=lambda region: region == DR)
    record.start()
    simulation.faults.impair_route53_control_plane(True)
    try:
        outcome = failover.stage_3_route_clients(ctx)
        record.done("route53-impaired-pair-switched", "passed: no change needed")
    finally:
        simulation.faults.impair_route53_control_plane(False)
    assert outcome.actions == () and outcome.facts["changed"] is False


def test_nodegroup_update_failing(simulation: Simulation, ctx: DrillContext,
                                  record: Recorder) -> None:
    place = simulation.topology.secondary
    limit = deadlines.deadline_s(ctx, deadlines.NODEGROUP_DEADLINE_S)
    record.start()
    simulation.faults.set_nodegroup_update_fails(True)
    try:
        error = verdict_of(lambda: failover.stage_4_scale_dr(ctx))
        seconds = record.done("nodegroup-update-fails", "failed at once")
        assert isinstance(error, WaitFailed | CheckFailed)
        assert seconds < limit / 2, (seconds, limit)
        names(error, DR, place.nodegroup, "Failed", "AsgInstanceLaunchFailures")
    finally:
        simulation.faults.set_nodegroup_update_fails(False)


def test_pods_crash_looping_at_scale_up(simulation: Simulation, ctx: DrillContext,
                                        record: Recorder) -> None:
    record.start()
    simulation.faults.set_pods_never_ready(DR, "CrashLoopBackOff")
    try:
        error = verdict_of(lambda: failover.stage_4_scale_dr(ctx))
        record.done("pods-crashloop", "failed at deadline")
        assert isinstance(error, WaitTimeout | CheckFailed)
        names(error, DR, "CrashLoopBackOff", "maip-services")
    finally:
        simulation.faults.set_pods_never_ready(DR, None)
    failover.stage_4_scale_dr(ctx)  # the drill goes on once the pods start


# --- Failover 5 ------------------------------------------------------------------------------


def test_pods_image_pull_error(simulation: Simulation, ctx: DrillContext, handles,
                               record: Recorder) -> None:
    from maip_drlib.probes import kube as kube_probes

    namespace = simulation.topology.namespace
    # Failover 5 starts with clients on DR: with its pods down, DR's health check fails and
    # the failover pair would answer the primary again (failover 3's change keeps them on DR).
    _point_primary_record_at_dr(ctx)
    record.start()
    simulation.faults.set_pods_never_ready(DR, "ImagePullBackOff")
    try:
        _delete_pods(simulation, namespace)
        error = verdict_of(lambda: wait_for(
            WaitSpec("failover 5 verdict", deadline_s=20, poll_initial_s=0.1, poll_max_s=0.3),
            lambda: _stage_5_error(ctx), success=lambda found: found is not None).value
            and _raise(_stage_5_error(ctx) or _stage_5_error(ctx)))
        record.done("pods-imagepull", "failed as expected")
        names(error, DR, "ImagePullBackOff", "not ready")
    finally:
        simulation.faults.set_pods_never_ready(DR, None)
    wait_for(WaitSpec("DR pods ready again", deadline_s=30, poll_initial_s=0.2, poll_max_s=0.5),
             lambda: kube_probes.deployments(handles.secondary, namespace),
             success=lambda items: all(item.is_ready for item in items))


def _delete_pods(simulation: Simulation, namespace: str) -> None:
    cluster = simulation._regions[DR].cluster  # test-only access to the fake API state
    for pod in cluster.list("pods", namespace)[0]:
        cluster.delete("pods", namespace, pod["metadata"]["name"])


def _stage_5_error(ctx: DrillContext) -> CheckFailed | None:
    try:
        failover.stage_5_dr_serves(ctx)
    except CheckFailed as failed:
        if "ImagePullBackOff" in str(failed):
            return failed
    return None


def _raise(error: BaseException | None) -> None:
    if error is not None:
        raise error


@pytest.mark.parametrize(("row", "status", "down", "synthetic", "words"), [
    ("endpoint-503", 503, (), None, ("not served UP", "503")),
    ("endpoint-down", 200, ("db",), None, ("not served UP", "db")),
    ("synthetic-fails", 200, (), 500, ("synthetic request failed", "500")),
])
def test_dr_endpoint_faults(row: str, status: int, down: tuple[str, ...], synthetic: int | None,
                            words: tuple[str, ...], simulation: Simulation, ctx: DrillContext,
                            record: Recorder) -> None:
    _point_primary_record_at_dr(ctx)
    record.start()
    simulation.faults.set_endpoint(DR, status, down)
    simulation.faults.set_synthetic_status(DR, synthetic)
    try:
        error = verdict_of(lambda: failover.stage_5_dr_serves(ctx))
        record.done(row, "failed as expected")
        names(error, DR, *words)
    finally:
        simulation.faults.set_endpoint(DR)
        simulation.faults.set_synthetic_status(DR, None)


def _point_primary_record_at_dr(ctx: DrillContext) -> None:
    """The change failover 3 makes when the pair did not switch: clients stay on DR whatever
    the DR health check says, so stage 5 sees the DR endpoint's own answer."""
    from maip_drlib.actions import route53 as route53_actions

    zone_id, records, dr_alb = clients_landing.route_state(ctx)
    changes = call_builders.failover_pair_changes(records, dr_alb)
    if changes:
        route53_actions.change_record_sets(ctx.handles.primary, zone_id, changes,
                                           comment="fault matrix: PRIMARY -> DR ALB",
                                           deadline_s=30)


def _route53_change_as_failover_3(ctx: DrillContext) -> None:
    with clients_landing.route53_control_plane(failover.STAGE_3):
        _point_primary_record_at_dr(ctx)


def test_failover_completes_after_the_faults(ctx: DrillContext) -> None:
    assert failover.stage_5_dr_serves(ctx).stage == "failover 5"


# --- Failback --------------------------------------------------------------------------------


def test_split_brain_is_fenced_before_any_traffic_shift(simulation: Simulation,
                                                        ctx: DrillContext,
                                                        record: Recorder) -> None:
    record.start()
    simulation.faults.restore_region(PRIMARY)
    assert rds_probes.find_writer_and_replicas(ctx.handles, ctx.topology).split_brain
    outcome = failback.stage_1_primary_restored(ctx)
    record.done("split-brain", "detected and fenced")
    assert outcome.facts["split_brain"] is True and outcome.actions
    assert PRIMARY in outcome.actions[0] and "StopDBInstance" in outcome.actions[0]
    zone = route53_probes.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
    kinds = {r.kind for r in route53_probes.record_sets(ctx.handles.primary, zone.zone_id,
                                                        ctx.topology.record_name, "A")}
    assert kinds == {"failover"}  # no traffic shifted yet
    failback.stage_2_resync(ctx, deadline_s=30)


LIMITS = {"max_5xx_per_min": 10.0, "max_latency_s": 1.0}


def test_route53_change_stuck_pending(simulation: Simulation, ctx: DrillContext,
                                      record: Recorder) -> None:
    record.start()
    simulation.faults.set_route53_change_stuck(True)
    try:
        error = verdict_of(lambda: failback.stage_3_weighted_shift(ctx, soak_s=0.2, **LIMITS))
        record.done("route53-change-pending", "failed at deadline")
        names(error, "PENDING")
    finally:
        simulation.faults.set_route53_change_stuck(False)


def test_degraded_alb_mid_shift_shifts_back(simulation: Simulation, ctx: DrillContext,
                                            record: Recorder) -> None:
    def degrade_before_second_step(index: int, weights: tuple[int, int]) -> None:
        if index == 1:
            record.start()
            simulation.faults.set_alb(PRIMARY, http_5xx_count=250, target_response_time_s=0.05)
            simulation.publish_metrics_now()

    try:
        error = verdict_of(lambda: failback.stage_3_weighted_shift(
            ctx, soak_s=0.3, before_step=degrade_before_second_step, **LIMITS))
        record.done("alb-degraded-mid-shift", "stopped and shifted back")
        names(error, PRIMARY, "HTTPCode_ELB_5XX_Count", "shifted back to 10/90")
    finally:
        simulation.faults.set_alb(PRIMARY)
    zone = route53_probes.hosted_zone(ctx.handles.primary, ctx.topology.hosted_zone)
    weights = {r.set_identifier: r.weight for r in route53_probes.record_sets(
        ctx.handles.primary, zone.zone_id, ctx.topology.record_name, "A")}
    assert weights == {"weighted-us-east-1": 10, "weighted-us-west-2": 90}
