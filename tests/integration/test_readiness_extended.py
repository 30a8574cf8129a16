"""The extended readiness checks against the whole embedded simulation: each passes on the
seeded platform and fails, naming region, resource and figure, when provoked (an image deleted
from the DR registry, a secret no longer replicated, an HPA capped below the failover replicas,
targets deregistered, a figure the platform cannot meet). Every provocation is undone in a
``finally`` so the module's one simulation stays seeded for the next test."""

from __future__ import annotations

from dataclasses import replace

import pytest
from maip_cli_helpers import wait_until

from maip_drlib import readiness, readiness_capacity
from maip_drlib.config import Target
from maip_drlib.errors import CheckFailed
from maip_drlib.facts_platform import QuotaFact
from maip_drlib.probes import dynamodb
from maip_drlib.readiness import NotChecked, ReadinessInputs, Thresholds, run_readiness
from maip_drlib.regions import RegionHandles
from maip_drlib.resolvers import SimulationResolver
from maip_drlib.sim.aws.seed import SIMULATED_IMAGE_TAG, image_manifest
from maip_drlib.sim.kube.objects import DeploymentSpec, hpa
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim

DR = "us-west-2"


@pytest.fixture(scope="module")
def inputs(handles: RegionHandles, simulation: Simulation, target: Target) -> ReadinessInputs:
    return ReadinessInputs(handles, simulation.topology, target,
                           SimulationResolver(target.control_url or ""),
                           Thresholds.from_gherkin())


def _with(inputs: ReadinessInputs, **figures: object) -> ReadinessInputs:
    return replace(inputs, thresholds=replace(inputs.thresholds, **figures))


def test_each_new_check_passes_on_the_seeded_simulation(inputs: ReadinessInputs) -> None:
    assert "20 nodes x (1 + 30 pods)" in readiness.dr_subnet_capacity(inputs).require().render()
    assert "no HorizontalPodAutoscaler" in readiness.dr_autoscalers_allow_failover_replicas(
        inputs).require().render()
    images = readiness.dr_images_in_registry(inputs).require().render()
    assert images == "all 8 images of 8 DR deployments present in ECR us-west-2"
    secrets_detail = readiness.dr_secrets_replicated(inputs).require().render()
    assert "maip/prod/db-credentials (replica, InSync)" in secrets_detail
    assert "2/2 healthy" in readiness.dr_alb_healthy_targets(inputs).require().render()
    # trustme's leaf certificates are valid until the year 3000: always long enough.
    assert "valid until" in readiness.endpoint_certificate_valid(inputs).require().render()


def test_failback_name_is_free_on_the_seeded_simulation(inputs: ReadinessInputs) -> None:
    topology = inputs.topology
    detail = readiness.rds_failback_name_free(inputs).require().render()
    assert detail.startswith(f"failback 2 names its replica {topology.failback_replica} "
                             f"(free in {topology.primary.region})")


def test_quota_is_not_available_in_the_simulation_never_a_pass(
        inputs: ReadinessInputs) -> None:
    # moto 5.2.5's Service Quotas knows only "vpc" quotas: ec2 answers NoSuchResourceException.
    with pytest.raises(NotChecked, match=r"ec2/L-1216C47A in us-west-2 not available"):
        readiness.dr_instance_quota(inputs).require().render()


def _replicated_both_ways(inputs: ReadinessInputs) -> None:
    """DynamoDB publishes ReplicationLatency only for items delivered: wait (bounded) until
    the simulated services' writes have been delivered in both directions."""
    table, handles = inputs.topology.dynamodb_table, inputs.handles
    for sender, receiver in ((handles.primary, handles.secondary),
                             (handles.secondary, handles.primary)):
        wait_until(f"a ReplicationLatency datapoint {sender.region} -> {receiver.region}",
                   lambda s=sender, r=receiver: dynamodb.replication_latency(
                       s, table, r.region).seconds is not None, timeout_s=30)


def test_run_readiness_has_every_check_and_reports_not_checked(
        inputs: ReadinessInputs) -> None:
    _replicated_both_ways(inputs)
    results = run_readiness(inputs)
    assert len(results) == len(readiness.readiness_checks(inputs.topology)) == 26
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    unchecked = [r for r in results if not r.checked]
    # This simulation has no data plane: the PostgreSQL check is "not configured", no pass.
    # No Kafka brokers either (they come with the data plane): no canary topic to compare.
    assert [r.name for r in unchecked] == ["RDS roles and lag in PostgreSQL",
                                           "MSK canary topic records in DR",
                                           "EC2 vCPU quota covers failover"]
    assert all(r.error_kind == "not-checked" for r in unchecked)
    assert all(r.detail.startswith("not checked: ") for r in unchecked)
    assert "not configured" in unchecked[0].detail


def test_quota_below_the_failover_need_fails(inputs: ReadinessInputs,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def small_quota(handle: object, service_code: str, quota_code: str) -> QuotaFact:
        return QuotaFact(DR, service_code, quota_code, "Running On-Demand Standard", 32.0,
                         "None")

    monkeypatch.setattr(readiness_capacity.quotas, "service_quota", small_quota)
    with pytest.raises(CheckFailed) as failure:
        readiness.dr_instance_quota(inputs).require().render()
    message = str(failure.value)
    assert "region=us-west-2" in message and "resource=ec2/L-1216C47A" in message
    assert "expected=>= 80 vCPUs (20 nodes x 4 vCPUs, m6i.xlarge)" in message
    assert "observed=32 vCPUs" in message


def test_subnets_too_small_for_the_figure_fail(inputs: ReadinessInputs) -> None:
    with pytest.raises(CheckFailed) as failure:
        readiness.dr_subnet_capacity(
            _with(inputs, failover_nodes=2000, pods_per_node=30)).require()
    message = str(failure.value)
    assert "region=us-west-2" in message and "maip-prod-dr-nodegroup subnets subnet-" in message
    assert ">= 62000 free addresses (2000 nodes x (1 + 30 pods))" in message


def test_hpa_capped_below_the_failover_replicas_fails(inputs: ReadinessInputs,
                                                      simulation: Simulation) -> None:
    namespace = simulation.topology.namespace
    cluster = simulation._regions[DR].cluster
    spec = DeploymentSpec(name="merchant-api", replicas=1, image="unused")
    cluster.create("horizontalpodautoscalers", hpa(namespace, spec, 1, 2))
    try:
        with pytest.raises(CheckFailed) as failure:
            readiness.dr_autoscalers_allow_failover_replicas(inputs).require().render()
        message = str(failure.value)
        assert "region=us-west-2" in message
        assert "hpa maip-services/merchant-api -> Deployment/merchant-api" in message
        assert "expected=min <= 4 <= max" in message and "min=1 max=2" in message
        allowed = readiness.dr_autoscalers_allow_failover_replicas(
            _with(inputs, failover_replicas=2)).require().render()
        assert "allow 2 replicas: merchant-api 1..2" in allowed
    finally:
        cluster.delete("horizontalpodautoscalers", namespace, "merchant-api")


def test_image_missing_from_the_dr_registry_fails(inputs: ReadinessInputs,
                                                  handles: RegionHandles) -> None:
    ecr = handles.secondary.client("ecr")
    repository = "maip/fraud-scoring"
    ecr.batch_delete_image(repositoryName=repository,
                           imageIds=[{"imageTag": SIMULATED_IMAGE_TAG}])
    try:
        with pytest.raises(CheckFailed) as failure:
            readiness.dr_images_in_registry(inputs).require().render()
        message = str(failure.value)
        assert "region=us-west-2" in message and "resource=namespace maip-services" in message
        assert "ECR maip/fraud-scoring:1.42.0 (us-west-2): missing (no such image)" in message
    finally:
        ecr.put_image(repositoryName=repository, imageManifest=image_manifest("fraud-scoring"),
                      imageTag=SIMULATED_IMAGE_TAG)
    readiness.dr_images_in_registry(inputs).require().render()


def test_secret_not_replicated_to_dr_fails(inputs: ReadinessInputs,
                                           handles: RegionHandles) -> None:
    manager = handles.primary.client("secretsmanager")
    name = "maip/prod/kafka-credentials"
    manager.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[DR])
    try:
        with pytest.raises(CheckFailed) as failure:
            readiness.dr_secrets_replicated(inputs).require().render()
        message = str(failure.value)
        assert "region=us-west-2" in message
        assert "secret maip/prod/kafka-credentials (us-west-2): not found" in message
        assert "SecretString" not in message
    finally:
        manager.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": DR}])
    readiness.dr_secrets_replicated(inputs).require().render()
    with pytest.raises(CheckFailed, match=r"maip/prod/payments-key.*not found"):
        readiness.dr_secrets_replicated(
            _with(inputs, required_secrets=("maip/prod/payments-key",))).require().render()


def test_dr_alb_without_healthy_targets_fails(inputs: ReadinessInputs, handles: RegionHandles,
                                              simulation: Simulation) -> None:
    assert simulation.seed is not None
    group = simulation.seed.regions[DR].target_group_arn
    elbv2 = handles.secondary.client("elbv2")
    targets = [t["Target"] for t in elbv2.describe_target_health(
        TargetGroupArn=group)["TargetHealthDescriptions"]]
    elbv2.deregister_targets(TargetGroupArn=group, Targets=targets)
    try:
        with pytest.raises(CheckFailed) as failure:
            readiness.dr_alb_healthy_targets(inputs).require().render()
        message = str(failure.value)
        assert "region=us-west-2" in message and "resource=maip-prod-dr-alb" in message
        assert "expected=>= 1 healthy targets per target group" in message
        assert "0/0 healthy" in message
    finally:
        elbv2.register_targets(TargetGroupArn=group, Targets=targets)
    with pytest.raises(CheckFailed, match=r">= 3 healthy targets.*2/2 healthy"):
        readiness.dr_alb_healthy_targets(_with(inputs, min_healthy_targets=3)).require().render()


def test_certificate_shorter_than_the_figure_fails(inputs: ReadinessInputs) -> None:
    with pytest.raises(CheckFailed) as failure:
        readiness.endpoint_certificate_valid(
            _with(inputs, certificate_min_days=1_000_000)).require()
    message = str(failure.value)
    assert "resource=api.maip.example.com" in message
    assert "expected=>= 1e+06 days of validity" in message and "valid until" in message


def test_certificate_from_an_untrusted_ca_fails(inputs: ReadinessInputs) -> None:
    # The system trust store does not know the simulation's CA.
    untrusted = replace(inputs, target=replace(inputs.target, ca_bundle=None))
    with pytest.raises(CheckFailed, match=r"TLS certificate does not verify.*api\.maip\.example"):
        readiness.endpoint_certificate_valid(untrusted).require().render()


def test_dynamodb_latency_back_to_the_primary(inputs: ReadinessInputs,
                                              simulation: Simulation) -> None:
    _replicated_both_ways(inputs)
    assert "us-east-1" in readiness.dynamodb_replication_latency_to_primary(inputs)
    with pytest.raises(CheckFailed) as failure:
        readiness.dynamodb_replication_latency_to_primary(
            _with(inputs, dynamodb_replication_latency_s=0.1))
    message = str(failure.value)
    assert "region=us-east-1" in message and "resource=maip-prod-merchant-analytics" in message
    assert "expected=<= 0.1s" in message
