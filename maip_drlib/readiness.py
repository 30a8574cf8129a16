"""The readiness preflight: read-only checks of both regions, run concurrently.

Each check is a small function over ``ReadinessInputs`` that returns a typed ``Verdict``
(``readiness_verdict``: fact, expected, observed, ok; ``render()`` is its one-line detail)
and raises a typed error when it cannot observe the fact (``NotFound``, ``Unreachable``; a
``CheckFailed`` from a shared probe). The thresholds are the Gherkin's
(``readiness_thresholds``: ``ReadinessInputs`` reads ``features/readiness.feature`` unless
given others). ``run_readiness`` runs the checks on a bounded thread pool and returns one
``CheckResult`` each (with its verdict); it never mutates anything, so it is safe against
production at any time.

A check that cannot be made raises ``NotChecked``: the API does not answer for it (the EC2
vCPU quota where Service Quotas has no value, as in the simulation), there is nothing to
measure (no DynamoDB ``ReplicationLatency`` datapoint in the period: "not measured") or the
target has no database access. That is no verdict. ``run_readiness`` reports it with
``checked=False`` (and ``passed=True``, so it never fails a run); the Gherkin step turns it into
a pytest skip that gives the reason (the evidence reads "skipped", with that reason).

The checks live by concern in ``readiness_data`` (RDS, DynamoDB, MSK) and
``readiness_capacity`` (DR capacity, autoscalers, images, secrets, targets, TLS); the types in
``readiness_base``. This module holds the platform checks, the registry and the runner, and
re-exports the rest (``readiness.rds_replica_lag`` is ``readiness_data.rds_replica_lag``).

Not supported: quota usage (the quota is compared with the failover's whole need, not with its
headroom), images outside private ECR, secrets outside Secrets Manager.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from maip_drlib.config import Topology
from maip_drlib.errors import CheckFailed, DRError, NotFound, Unreachable
from maip_drlib.facts import ApiUnreachable
from maip_drlib.probes import eks, elb, endpoint, kube, route53
from maip_drlib.readiness_base import (
    DEFAULT_REQUIRED_SECRETS,
    ECR_LOOKUP_CONCURRENCY,
    ROLES,
    Check,
    CheckFunction,
    CheckResult,
    NotChecked,
    ReadinessInputs,
    Thresholds,
    _role,
)
from maip_drlib.readiness_capacity import (
    dr_alb_healthy_targets,
    dr_autoscalers_allow_failover_replicas,
    dr_images_in_registry,
    dr_instance_quota,
    dr_secrets_replicated,
    dr_subnet_capacity,
    endpoint_certificate_valid,
)
from maip_drlib.readiness_data import (
    FAILBACK_NAME_CHECK,
    FAILBACK_NAME_SCENARIO,
    dynamodb_global_table,
    dynamodb_latency_to_primary_verdict,
    dynamodb_replication_latency,
    dynamodb_replication_latency_to_primary,
    msk_clusters_active,
    msk_replicator,
    rds_failback_name_free,
    rds_replica_lag,
    rds_roles_in_postgres,
    rds_writer_and_replica,
)
from maip_drlib.readiness_kafka import msk_canary_offsets, msk_replicator_naming
from maip_drlib.readiness_verdict import Verdict, failed, passed

__all__ = [
    "DEFAULT_REQUIRED_SECRETS",
    "ECR_LOOKUP_CONCURRENCY",
    "FAILBACK_NAME_CHECK",
    "FAILBACK_NAME_SCENARIO",
    "ROLES",
    "Check",
    "CheckFunction",
    "CheckResult",
    "NotChecked",
    "ReadinessInputs",
    "Thresholds",
    "Verdict",
    "dr_alb_active",
    "dr_alb_healthy_targets",
    "dr_autoscalers_allow_failover_replicas",
    "dr_has_every_deployment",
    "dr_images_in_registry",
    "dr_instance_quota",
    "dr_nodegroup_can_scale",
    "dr_secrets_replicated",
    "dr_subnet_capacity",
    "dynamodb_global_table",
    "dynamodb_latency_to_primary_verdict",
    "dynamodb_replication_latency",
    "dynamodb_replication_latency_to_primary",
    "eks_cluster_active",
    "endpoint_certificate_valid",
    "endpoint_up",
    "msk_clusters_active",
    "msk_replicator",
    "nodes_ready",
    "rds_failback_name_free",
    "rds_replica_lag",
    "rds_roles_in_postgres",
    "rds_writer_and_replica",
    "readiness_checks",
    "route53_failover_pair",
    "run_readiness",
]


def eks_cluster_active(inputs: ReadinessInputs, role: str) -> Verdict:
    handle, place = _role(inputs, role)
    status = eks.cluster_status(handle, place.eks_cluster)
    fact = f"EKS cluster status {handle.region}"
    if status.status != "ACTIVE":
        return failed(fact, "EKS cluster is not ACTIVE", region=handle.region,
                      resource=place.eks_cluster, expected="ACTIVE", observed=status.status)
    return passed(fact, str(status), expected="ACTIVE", observed=status.status,
                  region=handle.region, resource=place.eks_cluster)


def nodes_ready(inputs: ReadinessInputs, role: str) -> Verdict:
    handle, _ = _role(inputs, role)
    fact = kube.nodes(handle)
    if isinstance(fact, ApiUnreachable):
        raise Unreachable(str(fact), region=handle.region, target=fact.target,
                          elapsed_s=fact.elapsed_s)
    what, resource = f"Kubernetes nodes Ready {handle.region}", f"context {fact.context}"
    observed = (f"{len(fact.ready)}/{len(fact.nodes)} Ready; not ready: "
                f"{', '.join(fact.not_ready) or 'none'}")
    if not fact.nodes or fact.not_ready:
        return failed(what, "nodes not Ready", region=handle.region, resource=resource,
                      expected="all nodes Ready", observed=observed)
    return passed(what, str(fact), expected="all nodes Ready", observed=observed,
                  region=handle.region, resource=resource)


def dr_nodegroup_can_scale(inputs: ReadinessInputs) -> Verdict:
    handle, dr = inputs.handles.secondary, inputs.topology.secondary
    state = eks.nodegroup_state(handle, dr.eks_cluster, dr.nodegroup)
    fact, expected = "DR node group can take a scaling update", "ACTIVE with no update in progress"
    if state.status != "ACTIVE" or state.updates_in_progress:
        return failed(fact, "DR node group cannot take a scaling update now",
                      region=handle.region, resource=dr.nodegroup, expected=expected,
                      observed=str(state))
    return passed(fact, str(state), expected=expected, region=handle.region,
                  resource=dr.nodegroup)


def dr_has_every_deployment(inputs: ReadinessInputs) -> Verdict:
    namespace = inputs.topology.namespace
    primary = {d.name for d in kube.deployments(inputs.handles.primary, namespace)}
    secondary = {d.name for d in kube.deployments(inputs.handles.secondary, namespace)}
    missing = sorted(primary - secondary)
    fact, region = "primary deployments in DR", inputs.handles.secondary.region
    if missing:
        return failed(fact, "deployments missing in DR", region=region,
                      resource=f"namespace {namespace}", expected=sorted(primary),
                      observed=f"missing {', '.join(missing)}")
    return passed(fact, f"all {len(primary)} primary deployments of {namespace} exist in DR",
                  expected=sorted(primary), observed=sorted(secondary), region=region,
                  resource=f"namespace {namespace}")


def route53_failover_pair(inputs: ReadinessInputs) -> Verdict:
    handle = inputs.handles.primary
    name = inputs.topology.record_name
    zone = route53.hosted_zone(handle, inputs.topology.hosted_zone)
    records = route53.record_sets(handle, zone.zone_id, name, "A")
    roles = {r.failover: r for r in records if r.kind == "failover"}
    fact = "Route 53 failover record pair"
    if set(roles) != {"PRIMARY", "SECONDARY"}:
        return failed(fact, "failover record pair incomplete", resource=name,
                      expected="PRIMARY and SECONDARY failover records",
                      observed=", ".join(str(r) for r in records) or "no A records")
    unhealthy, healthy = [], []
    for role in ("PRIMARY", "SECONDARY"):
        record = roles[role]
        if not record.health_check_id:
            return failed(fact, "failover record without a health check",
                          resource=f"{name} {role}")
        status = route53.health_check_status(handle, record.health_check_id)
        (healthy if status.healthy else unhealthy).append(f"{role}: {status}")
    if unhealthy:
        return failed(fact, "failover health checks not healthy", resource=name,
                      expected="both healthy", observed="; ".join(unhealthy))
    return passed(fact, f"zone {zone.name} ({zone.zone_id}): failover pair with healthy checks",
                  expected="both healthy", observed="; ".join(healthy), resource=name)


def dr_alb_active(inputs: ReadinessInputs) -> Verdict:
    handle = inputs.handles.secondary
    alb = elb.load_balancer(handle, inputs.topology.secondary.alb_name)
    fact = "DR ALB state"
    if alb.state != "active":
        return failed(fact, "DR ALB not active", region=handle.region, resource=alb.name,
                      expected="active", observed=alb.state)
    return passed(fact, str(alb), expected="active", observed=alb.state, region=handle.region,
                  resource=alb.name)


def endpoint_up(inputs: ReadinessInputs) -> Verdict:
    url = inputs.target.public_endpoint_url.rstrip("/") + inputs.topology.health_path
    health = endpoint.endpoint_health(url, resolver=inputs.resolver,
                                      ca_bundle=inputs.target.ca_bundle)
    fact, expected = "public endpoint health", "HTTP 200, status UP"
    if not health.up:
        return failed(fact, "endpoint not UP", resource=url, expected=expected,
                      observed=str(health))
    return passed(fact, str(health), expected=expected, resource=url)


def readiness_checks(topology: Topology) -> tuple[Check, ...]:
    """Every readiness check, in the order they are reported."""
    p, s = topology.primary.region, topology.secondary.region
    return (
        Check("EKS cluster ACTIVE", p, lambda inputs: eks_cluster_active(inputs, "primary")),
        Check("EKS cluster ACTIVE", s, lambda inputs: eks_cluster_active(inputs, "secondary")),
        Check("Kubernetes nodes Ready", p, lambda inputs: nodes_ready(inputs, "primary")),
        Check("Kubernetes nodes Ready", s, lambda inputs: nodes_ready(inputs, "secondary")),
        Check("DR node group ready to scale", s, dr_nodegroup_can_scale),
        Check("every deployment exists in DR", s, dr_has_every_deployment),
        Check("RDS writer and cross-region replica", "both", rds_writer_and_replica),
        Check("RDS replica lag", s, rds_replica_lag),
        Check("RDS roles and lag in PostgreSQL", "both", rds_roles_in_postgres),
        Check(FAILBACK_NAME_CHECK, p, rds_failback_name_free),
        Check("DynamoDB global table ACTIVE", "both", dynamodb_global_table),
        Check("DynamoDB replication latency", s, dynamodb_replication_latency),
        Check("MSK clusters ACTIVE", "both", msk_clusters_active),
        Check("MSK replicator RUNNING and lag", s, msk_replicator),
        Check("MSK replicator topic naming", s, msk_replicator_naming),
        Check("MSK canary topic records in DR", "both", msk_canary_offsets),
        Check("Route 53 failover pair healthy", "global", route53_failover_pair),
        Check("DR ALB active", s, dr_alb_active),
        Check("public endpoint UP", "global", endpoint_up),
        Check("DR subnets have failover addresses", s, dr_subnet_capacity),
        Check("EC2 vCPU quota covers failover", s, dr_instance_quota),
        Check("no DR autoscaler fights failover", s, dr_autoscalers_allow_failover_replicas),
        Check("DR images in DR registry", s, dr_images_in_registry),
        Check("secrets replicated to DR", s, dr_secrets_replicated),
        Check("DR ALB healthy targets", s, dr_alb_healthy_targets),
        Check("endpoint certificate validity", "global", endpoint_certificate_valid),
    )


def _run_one(check: Check, inputs: ReadinessInputs) -> CheckResult:
    started = time.monotonic()
    try:
        verdict = check.run(inputs)
    except NotChecked as error:
        return CheckResult(check.name, check.region, True, f"not checked: {error}",
                           time.monotonic() - started, "not-checked", checked=False)
    except CheckFailed as error:
        return CheckResult(check.name, check.region, False, str(error),
                           time.monotonic() - started, "check")
    except Unreachable as error:
        return CheckResult(check.name, check.region, False, f"unreachable: {error}",
                           time.monotonic() - started, "unreachable")
    except NotFound as error:
        return CheckResult(check.name, check.region, False, f"not found: {error}",
                           time.monotonic() - started, "not-found")
    except DRError as error:
        return CheckResult(check.name, check.region, False, str(error),
                           time.monotonic() - started, "error")
    return CheckResult(check.name, check.region, verdict.ok, verdict.render(),
                       time.monotonic() - started, None if verdict.ok else "check",
                       verdict=verdict)


def run_readiness(inputs: ReadinessInputs, *, max_workers: int = 8) -> list[CheckResult]:
    """Run every check concurrently (bounded); results in the checks' order."""
    checks = readiness_checks(inputs.topology)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="readiness") as pool:
        return list(pool.map(lambda check: _run_one(check, inputs), checks))
