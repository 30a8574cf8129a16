"""Failback steps (features/failback.feature): each When runs one stage function of
``maip_drlib.drill.failback``; Then verifies real state read-only."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from maip_drlib import readiness
from maip_drlib.drill import failback, outcome_checks
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.outcome import StageOutcome
from maip_drlib.drill.weights import parse_weights
from maip_drlib.readiness import ReadinessInputs


def _report(outcome: StageOutcome) -> StageOutcome:
    print(outcome.summary)
    for action in outcome.actions:
        print(f"  action: {action}")
    return outcome


@when("the restored primary region is checked and any old writer is fenced",
      target_fixture="stage_outcome")
def primary_restored(dr_context: DrillContext) -> StageOutcome:
    """Failback 1 (mutating): checks the restored primary region and fences any old writer found
    there (split brain)."""
    return _report(failback.stage_1_primary_restored(dr_context))


@when(parsers.parse("the data is resynced with a replication latency under {seconds:g} seconds"),
      target_fixture="stage_outcome")
def resync(dr_context: DrillContext, seconds: float) -> StageOutcome:
    """Failback 2 (mutating): resyncs DynamoDB and creates the primary region's replica of the DR
    writer, within that latency."""
    return _report(failback.stage_2_resync(dr_context, max_dynamodb_latency_s=seconds))


@then("the failback replica in the primary region replicates from the writer")
def failback_replica(dr_context: DrillContext) -> None:
    """Checks that the failback replica in the primary region replicates from the current writer."""
    print(outcome_checks.failback_replica_replicates(dr_context))


@when(parsers.parse("traffic shifts back in steps of {steps} soaking {soak:g} minutes each "
                    "while 5XX stay under {max_5xx:g} per minute and latency under "
                    "{latency:g} seconds"), target_fixture="stage_outcome")
def weighted_shift(dr_context: DrillContext, steps: str, soak: float, max_5xx: float,
                   latency: float) -> StageOutcome:
    """Failback 3 (mutating): shifts traffic back in the weighted steps given, soaking each and
    shifting back on 5XX or latency over the limits."""
    soak_s = dr_context.options.soak_step_s or dr_context.real_seconds(soak)
    if dr_context.options.soak_step_s:  # an operator's override of the feature: journalled
        dr_context.decisions.record(
            "failback 3", f"soak per step overridden by --dr-soak-step: {soak_s:g} s",
            option="--dr-soak-step", soak_step_s=soak_s, feature_minutes=soak,
            feature_seconds=dr_context.real_seconds(soak))
    return _report(failback.stage_3_weighted_shift(
        dr_context, steps=parse_weights(steps), soak_s=soak_s,
        max_5xx_per_min=max_5xx, max_latency_s=latency))


@when("the writer moves back to the primary region by a planned switchover",
      target_fixture="stage_outcome")
def steady_state(dr_context: DrillContext) -> StageOutcome:
    """Failback 4 (mutating): planned switchover of the writer back to the primary region, fresh DR
    replica, record pair restored, DR scaled to standby."""
    return _report(failback.stage_4_steady_state(dr_context))


@then("the failover pair points each record at its own region's load balancer")
def pair_restored(dr_context: DrillContext) -> None:
    """Checks that each failover record points at its own region's load balancer again."""
    print(outcome_checks.failover_pair_restored(dr_context))


@then("the readiness preflight passes again")
def readiness_again(dr_readiness_inputs: ReadinessInputs) -> None:
    """Runs the whole readiness preflight again and fails on any failed check (except this drill's
    own fenced old writer)."""
    failed = [r for r in readiness.run_readiness(dr_readiness_inputs) if not r.passed]
    for result in failed:  # this drill's fenced old writer, left for the operator to delete
        if result.name == readiness.FAILBACK_NAME_CHECK:
            print(f"note: the next drill's readiness fails until then: {result.detail}")
    failed = [r for r in failed if r.name != readiness.FAILBACK_NAME_CHECK]
    assert not failed, "; ".join(f"{r.name} ({r.region}): {r.detail}" for r in failed)
