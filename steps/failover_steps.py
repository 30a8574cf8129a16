"""Failover steps (features/failover.feature): each When runs one stage function of
``maip_drlib.drill.failover``; Given and Then verify real state read-only."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from maip_drlib.drill import failover, kafka_consumers, outcome_checks
from maip_drlib.drill.context import DrillContext, SyntheticRequest
from maip_drlib.drill.outcome import StageOutcome


def _report(outcome: StageOutcome) -> StageOutcome:
    print(outcome.summary)
    for action in outcome.actions:
        print(f"  action: {action}")
    return outcome


@given("the DR region holds the database replica or its promoted writer")
def dr_holds_database(dr_context: DrillContext) -> None:
    """Checks read-only that the DR region holds the database replica or the writer it was promoted
    to."""
    print(outcome_checks.dr_holds_replica_or_writer(dr_context))


@when("the primary region is confirmed down or fenced", target_fixture="stage_outcome")
def primary_down(dr_context: DrillContext) -> StageOutcome:
    """Failover 1 (mutating): confirms the primary region is down (declared outage) or fences it
    (planned)."""
    return _report(failover.stage_1_primary_down(dr_context))


@then("the primary writer no longer takes writes")
def primary_takes_no_writes(dr_context: DrillContext) -> None:
    """Checks that the primary writer accepts no writes (down, stopped or fenced)."""
    print(outcome_checks.primary_takes_no_writes(dr_context))


@when("the DR replica is promoted to a standalone writer", target_fixture="stage_outcome")
def promote(dr_context: DrillContext) -> StageOutcome:
    """Failover 2 (mutating): promotes the DR replica and waits until it is a standalone, available
    writer."""
    return _report(failover.stage_2_promote(dr_context))


@then(parsers.parse("the only available writer is in the {role} region"))
def only_writer(dr_context: DrillContext, role: str) -> None:
    """Checks that exactly one available writer exists and it is in the named region (primary or
    secondary)."""
    print(outcome_checks.only_writer_in(dr_context, role))


@when("clients are routed to the DR load balancer", target_fixture="stage_outcome")
def route_clients(dr_context: DrillContext) -> StageOutcome:
    """Failover 3 (mutating): routes clients to the DR load balancer through the failover record
    pair."""
    return _report(failover.stage_3_route_clients(dr_context))


@then(parsers.parse("the public name resolves to the {role} region"))
def resolves_to(dr_context: DrillContext, role: str) -> None:
    """Checks that the public name resolves to the named region's load balancer."""
    print(outcome_checks.clients_resolve_to(dr_context, role))


@when("the DR node group and every service are scaled to the failover capacity",
      target_fixture="stage_outcome")
def scale_dr(dr_context: DrillContext) -> StageOutcome:
    """Failover 4 (mutating): scales the DR node group and every deployment to the failover
    capacity and waits until ready."""
    return _report(failover.stage_4_scale_dr(dr_context))


@then(parsers.parse("every DR deployment has {replicas:d} ready replicas"))
def dr_ready(dr_context: DrillContext, replicas: int) -> None:
    """Checks that every DR deployment has that many ready replicas."""
    print(outcome_checks.deployments_ready(dr_context, "secondary", replicas))


@when(parsers.parse("DR is checked end to end with a {method} of {path} expecting {status:d}"),
      target_fixture="stage_outcome")
def dr_serves(dr_context: DrillContext, method: str, path: str, status: int) -> StageOutcome:
    """Failover 5: sends a synthetic request (method, path) through DR and expects that HTTP
    status."""
    request = SyntheticRequest(method=method, path=path, expected_status=status)
    return _report(failover.stage_5_dr_serves(dr_context, request))


@then(parsers.parse("the public endpoint reports UP from the {role} region"))
def endpoint_up_from(dr_context: DrillContext, role: str) -> None:
    """Checks that the public endpoint reports UP when served from the named region."""
    print(outcome_checks.endpoint_up_from(dr_context, role))


@then("a consumer in DR resumes the business topic where the primary's consumer group stopped")
def consumer_resumes_in_dr(dr_context: DrillContext) -> None:
    """Checks read-only that the business consumer group's offset synced to DR is within the
    replicated topic, and says what topic clients read (not measured without Kafka access)."""
    print(kafka_consumers.check_consumers_in_dr(dr_context).detail)
