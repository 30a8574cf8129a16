"""Readiness steps: each runs one read-only check of ``maip_drlib.readiness``.

A check returns a typed ``Verdict`` (fact, expected, observed, ok) that the step asserts: a
passed one is printed (its one-line detail lands in the report), a failed one raises its
``CheckFailed``, whose message names region, resource, expectation and observation. The
figures come from the step text; the step texts that carry a threshold are
``maip_drlib.readiness_thresholds``'s, which reads the same figures for callers outside the
Gherkin (``Thresholds.from_gherkin``). A check that could not
be made (``NotChecked``: the API has no answer for it, or a DynamoDB latency with no datapoint
in the period, "not measured") skips its scenario with the reason: the evidence reads
"skipped" and "not checked: not measured: ...", never passed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import replace

import pytest
from pytest_bdd import parsers, then

from maip_drlib import readiness
from maip_drlib.drill.go_no_go import EXPECTED_UNDER_OUTAGE
from maip_drlib.errors import DRError
from maip_drlib.pytest_dr.fixtures import DeclaredOutage
from maip_drlib.readiness import ReadinessInputs, Verdict
from maip_drlib.readiness_thresholds import (
    ALB_TARGET_STEP,
    ALB_TARGETS_STEP,
    AUTOSCALERS_STEP,
    CERTIFICATE_STEP,
    DYNAMODB_LATENCY_STEP,
    MSK_LATENCY_STEP,
    QUOTA_STEP,
    RDS_LAG_STEP,
    SECRETS_COLUMN,
    SECRETS_STEP,
    STANDBY_LAG_STEP,
    SUBNETS_STEP,
)


def expected_under_declared_outage(step: Callable[..., None]) -> Callable[..., None]:
    """Under a declared outage a check that fails on the declared region alone is noted as
    expected (printed and journalled) and the scenario goes on to its DR checks; every other
    failure stands. The step gains the fixture ``dr_declared_outage``."""
    signature = inspect.signature(step)

    @functools.wraps(step)
    def checked(*args: object, **kwargs: object) -> None:
        dr_declared_outage = kwargs.pop("dr_declared_outage")
        assert isinstance(dr_declared_outage, DeclaredOutage)
        try:
            step(*args, **kwargs)
        except DRError as error:
            region = dr_declared_outage.region
            if region is None or getattr(error, "region", None) != region:
                raise
            dr_declared_outage.note(f"{EXPECTED_UNDER_OUTAGE} ({dr_declared_outage.reason}): "
                                    f"{error}")

    checked.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        *signature.parameters.values(),
        inspect.Parameter("dr_declared_outage", inspect.Parameter.POSITIONAL_OR_KEYWORD)])
    return checked


def _with(inputs: ReadinessInputs, **thresholds: object) -> ReadinessInputs:
    return replace(inputs, thresholds=replace(inputs.thresholds, **thresholds))


def _report(verdict: Verdict) -> None:
    """Assert ``verdict``: printed when ok, else its ``CheckFailed`` (fact's region, resource,
    expected, observed) fails the step."""
    print(verdict.require().render())


@then(parsers.parse("the EKS cluster in the {role} region is ACTIVE"))
@expected_under_declared_outage
def eks_cluster_active(dr_readiness_inputs: ReadinessInputs, role: str) -> None:
    """Checks that the topology's EKS cluster in the named region (primary or secondary) is
    ACTIVE."""
    _report(readiness.eks_cluster_active(dr_readiness_inputs, role))


@then(parsers.parse("every Kubernetes node in the {role} region is Ready"))
@expected_under_declared_outage
def nodes_ready(dr_readiness_inputs: ReadinessInputs, role: str) -> None:
    """Checks that every Kubernetes node of the named region's cluster is Ready."""
    _report(readiness.nodes_ready(dr_readiness_inputs, role))


@then("the DR node group can take a scaling update")
@expected_under_declared_outage
def dr_nodegroup(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that the DR node group is ACTIVE with no update in progress, so it can be scaled."""
    _report(readiness.dr_nodegroup_can_scale(dr_readiness_inputs))


@then("every primary deployment also exists in DR")
@expected_under_declared_outage
def deployments_in_dr(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that every deployment of the services' namespace in the primary region also exists in
    DR."""
    _report(readiness.dr_has_every_deployment(dr_readiness_inputs))


@then("one RDS writer is available with automated backups and a replica in the other region")
@expected_under_declared_outage
def rds_writer(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that one RDS writer is available with automated backups and has a replica in the
    other region."""
    _report(readiness.rds_writer_and_replica(dr_readiness_inputs))


@then(parsers.parse(RDS_LAG_STEP))
@expected_under_declared_outage
def rds_lag(dr_readiness_inputs: ReadinessInputs, seconds: float) -> None:
    """Checks that the RDS replica lags the writer by less than that many seconds (WAL distance
    when the writer is idle)."""
    _report(readiness.rds_replica_lag(_with(dr_readiness_inputs, rds_replica_lag_s=seconds)))


@then("failback 2 has a free name for its replica in the primary region")
@expected_under_declared_outage
def rds_failback_name(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that one of the primary region's two database names is free for failback 2's
    replica."""
    _report(readiness.rds_failback_name_free(dr_readiness_inputs))


@then(parsers.parse(STANDBY_LAG_STEP))
@expected_under_declared_outage
def rds_roles_in_postgres(dr_readiness_inputs: ReadinessInputs, seconds: float) -> None:
    """Asks PostgreSQL itself that the writer is a writer and the replica a streaming standby
    within that lag (skipped without database access)."""
    try:
        _report(readiness.rds_roles_in_postgres(
            _with(dr_readiness_inputs, standby_lag_s=seconds)))
    except readiness.NotChecked as error:
        pytest.skip(f"not checked: {error}")


@then("the DynamoDB global table is ACTIVE in both regions")
@expected_under_declared_outage
def dynamodb_table(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that the DynamoDB global table is ACTIVE with a replica in both regions."""
    _report(readiness.dynamodb_global_table(dr_readiness_inputs))


@then(parsers.parse(DYNAMODB_LATENCY_STEP))
@expected_under_declared_outage
def dynamodb_latency(dr_readiness_inputs: ReadinessInputs, seconds: float) -> None:
    """Checks DynamoDB ReplicationLatency to DR against that limit (skipped as not measured when
    nothing replicated in the period)."""
    try:
        _report(readiness.dynamodb_replication_latency(
            _with(dr_readiness_inputs, dynamodb_replication_latency_s=seconds)))
    except readiness.NotChecked as error:  # no datapoint in the period: "not measured"
        pytest.skip(f"not checked: {error}")


@then("both MSK clusters are ACTIVE")
@expected_under_declared_outage
def msk_clusters(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that both MSK clusters are ACTIVE."""
    _report(readiness.msk_clusters_active(dr_readiness_inputs))


@then(parsers.parse(MSK_LATENCY_STEP))
@expected_under_declared_outage
def msk_replicator(dr_readiness_inputs: ReadinessInputs, seconds: float) -> None:
    """Checks that the MSK replicator is RUNNING with replication latency under that limit."""
    _report(readiness.msk_replicator(
        _with(dr_readiness_inputs, msk_replication_latency_s=seconds)))


@then("consumers in DR know the replicated topic names")
@expected_under_declared_outage
def msk_topic_naming(dr_readiness_inputs: ReadinessInputs) -> None:
    """Shows the MSK replicator's topic-name mode and source alias, and the canary topic's name
    in DR (read-only)."""
    from maip_drlib import readiness_kafka

    _report(readiness_kafka.msk_replicator_naming(dr_readiness_inputs))


@then("the replicated canary topic in DR holds every canary record of the primary")
@expected_under_declared_outage
def msk_canary_offsets(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks by offsets (read-only, nothing produced) that the replicated MSK canary topic in DR
    holds every record of the primary's canary topic; skipped "not checked" without Kafka
    access, a broker, or canaries."""
    from maip_drlib import readiness_kafka

    try:
        _report(readiness_kafka.msk_canary_offsets(dr_readiness_inputs))
    except readiness.NotChecked as error:
        pytest.skip(f"not checked: {error}")


@then("the API's failover record pair exists with healthy health checks")
@expected_under_declared_outage
def failover_pair(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that the API's PRIMARY and SECONDARY failover records exist, each with a healthy
    health check."""
    _report(readiness.route53_failover_pair(dr_readiness_inputs))


@then("the DR load balancer is active")
@expected_under_declared_outage
def dr_alb(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that the DR load balancer is active."""
    _report(readiness.dr_alb_active(dr_readiness_inputs))


@then("the public endpoint reports UP")
@expected_under_declared_outage
def endpoint_up(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that the public endpoint's health URL answers status UP."""
    _report(readiness.endpoint_up(dr_readiness_inputs))


@then(parsers.parse(SUBNETS_STEP))
@expected_under_declared_outage
def dr_subnet_capacity(dr_readiness_inputs: ReadinessInputs, nodes: int, pods: int) -> None:
    """Checks that the DR node group's subnets have free addresses for that many nodes and pods per
    node."""
    _report(readiness.dr_subnet_capacity(
        _with(dr_readiness_inputs, failover_nodes=nodes, pods_per_node=pods)))


@then(parsers.parse(QUOTA_STEP))
@expected_under_declared_outage
def dr_instance_quota(dr_readiness_inputs: ReadinessInputs, nodes: int) -> None:
    """Checks that the DR region's EC2 On-Demand vCPU quota covers that many failover nodes
    (skipped where the quota has no value)."""
    try:
        _report(readiness.dr_instance_quota(_with(dr_readiness_inputs, failover_nodes=nodes)))
    except readiness.NotChecked as error:
        pytest.skip(f"not checked: {error}")


@then(parsers.parse(AUTOSCALERS_STEP))
@expected_under_declared_outage
def dr_autoscalers(dr_readiness_inputs: ReadinessInputs, replicas: int) -> None:
    """Checks that no DR HorizontalPodAutoscaler's maximum would hold a deployment below that many
    replicas."""
    _report(readiness.dr_autoscalers_allow_failover_replicas(
        _with(dr_readiness_inputs, failover_replicas=replicas)))


@then("every image the DR deployments run is in the DR region's own registry")
@expected_under_declared_outage
def dr_images(dr_readiness_inputs: ReadinessInputs) -> None:
    """Checks that every image the DR deployments run is in the DR region's own ECR registry."""
    _report(readiness.dr_images_in_registry(dr_readiness_inputs))


@then(SECRETS_STEP)
@expected_under_declared_outage
def dr_secrets(dr_readiness_inputs: ReadinessInputs, datatable: list[list[str]]) -> None:
    """Checks that every secret of the data table (column 'secret') is replicated to the DR
    region."""
    header, *rows = datatable
    if header != [SECRETS_COLUMN] or not rows:
        raise ValueError(f"expected a table with the column {SECRETS_COLUMN!r} and one row "
                         f"per secret, got {datatable!r}")
    names = tuple(row[0].strip() for row in rows)
    _report(readiness.dr_secrets_replicated(_with(dr_readiness_inputs, required_secrets=names)))


@then(parsers.parse(ALB_TARGET_STEP))
@then(parsers.parse(ALB_TARGETS_STEP))
@expected_under_declared_outage
def dr_alb_targets(dr_readiness_inputs: ReadinessInputs, count: int) -> None:
    """Checks that every target group of the DR load balancer has at least that many healthy
    targets."""
    _report(readiness.dr_alb_healthy_targets(_with(dr_readiness_inputs,
                                                   min_healthy_targets=count)))


@then(parsers.parse(CERTIFICATE_STEP))
@expected_under_declared_outage
def certificate_validity(dr_readiness_inputs: ReadinessInputs, days: float) -> None:
    """Checks that the API's TLS certificate stays valid for at least that many more days."""
    _report(readiness.endpoint_certificate_valid(
        _with(dr_readiness_inputs, certificate_min_days=days)))
