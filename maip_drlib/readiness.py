"""The readiness preflight: read-only checks of both regions, run concurrently.

Each check is a small function over ``ReadinessInputs`` that returns a one-line detail when
the platform is ready for a failover and raises a typed error (``CheckFailed``, ``NotFound``,
``Unreachable``) when it is not. ``run_readiness`` runs them on a bounded thread pool and
returns one ``CheckResult`` each; it never mutates anything, so it is safe against production
at any time. Not supported: ECR images, replicated secrets and service quotas (the Gherkin
preflight adds those).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from maip_drlib.config import RegionTopology, Target, Topology
from maip_drlib.errors import CheckFailed, DRError, NotFound, Unreachable
from maip_drlib.facts import ApiUnreachable
from maip_drlib.probes import dynamodb, eks, elb, endpoint, kube, msk, rds, route53
from maip_drlib.regions import RegionHandle, RegionHandles
from maip_drlib.resolvers import Resolver


@dataclass(frozen=True)
class Thresholds:
    """Limits the readiness checks hold the platform to (seconds)."""

    rds_replica_lag_s: float = 60.0
    dynamodb_replication_latency_s: float = 5.0
    msk_replication_latency_s: float = 60.0


@dataclass(frozen=True)
class ReadinessInputs:
    handles: RegionHandles
    topology: Topology
    target: Target
    resolver: Resolver | None
    thresholds: Thresholds


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: passed, or why not, and how long it took."""

    name: str
    region: str
    passed: bool
    detail: str
    elapsed_s: float
    error_kind: str | None = None  # "check", "unreachable", "not-found", "error"


CheckFunction = Callable[[ReadinessInputs], str]


@dataclass(frozen=True)
class Check:
    name: str
    region: str  # a region name, or "global" / "both"
    run: CheckFunction


ROLES = ("primary", "secondary")


def _role(inputs: ReadinessInputs, role: str) -> tuple[RegionHandle, RegionTopology]:
    if role not in ROLES:
        raise CheckFailed(f"unknown region role {role!r}", expected=" or ".join(ROLES))
    handle = inputs.handles.primary if role == "primary" else inputs.handles.secondary
    return handle, getattr(inputs.topology, role)


def eks_cluster_active(inputs: ReadinessInputs, role: str) -> str:
    handle, place = _role(inputs, role)
    status = eks.cluster_status(handle, place.eks_cluster)
    if status.status != "ACTIVE":
        raise CheckFailed("EKS cluster is not ACTIVE", region=handle.region,
                          resource=place.eks_cluster, expected="ACTIVE", observed=status.status)
    return str(status)


def nodes_ready(inputs: ReadinessInputs, role: str) -> str:
    handle, _ = _role(inputs, role)
    fact = kube.nodes(handle)
    if isinstance(fact, ApiUnreachable):
        raise Unreachable(str(fact), region=handle.region, target=fact.target,
                          elapsed_s=fact.elapsed_s)
    if not fact.nodes or fact.not_ready:
        raise CheckFailed("nodes not Ready", region=handle.region,
                          resource=f"context {fact.context}", expected="all nodes Ready",
                          observed=f"{len(fact.ready)}/{len(fact.nodes)} Ready; not ready: "
                                   f"{', '.join(fact.not_ready) or 'none'}")
    return str(fact)


def dr_nodegroup_can_scale(inputs: ReadinessInputs) -> str:
    handle, dr = inputs.handles.secondary, inputs.topology.secondary
    state = eks.nodegroup_state(handle, dr.eks_cluster, dr.nodegroup)
    if state.status != "ACTIVE" or state.updates_in_progress:
        raise CheckFailed("DR node group cannot take a scaling update now", region=handle.region,
                          resource=dr.nodegroup, expected="ACTIVE with no update in progress",
                          observed=str(state))
    return str(state)


def dr_has_every_deployment(inputs: ReadinessInputs) -> str:
    namespace = inputs.topology.namespace
    primary = {d.name for d in kube.deployments(inputs.handles.primary, namespace)}
    secondary = {d.name for d in kube.deployments(inputs.handles.secondary, namespace)}
    missing = sorted(primary - secondary)
    if missing:
        raise CheckFailed("deployments missing in DR", region=inputs.handles.secondary.region,
                          resource=f"namespace {namespace}", expected=sorted(primary),
                          observed=f"missing {', '.join(missing)}")
    return f"all {len(primary)} primary deployments of {namespace} exist in DR"


def rds_writer_and_replica(inputs: ReadinessInputs) -> str:
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    if roles.split_brain:
        raise CheckFailed("more than one RDS writer (split brain)", resource="rds",
                          expected="one writer", observed=str(roles))
    writer = roles.writer
    if writer is None:
        raise CheckFailed("no RDS writer found", resource=", ".join(
            inputs.topology.rds_candidates), expected="one available writer", observed=str(roles))
    if writer.status != "available":
        raise CheckFailed("RDS writer not available", region=writer.region,
                          resource=writer.identifier, expected="available",
                          observed=writer.status)
    if writer.backup_retention_days <= 0:
        raise CheckFailed("automated backups are off on the writer", region=writer.region,
                          resource=writer.identifier, expected="backup retention > 0 days",
                          observed=writer.backup_retention_days)
    cross_region = [r for r in roles.replicas_of(writer) if r.region != writer.region]
    if not cross_region:
        raise CheckFailed("no cross-region replica replicates from the writer",
                          region=writer.region, resource=writer.identifier,
                          expected="a replica in the other region", observed=str(roles))
    return f"writer {writer.identifier} ({writer.region}); replicas: " + ", ".join(
        f"{r.identifier} ({r.region}, {r.status})" for r in cross_region)


def rds_replica_lag(inputs: ReadinessInputs) -> str:
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    writer = roles.writer
    if writer is None:
        raise CheckFailed("no single RDS writer to measure lag against", resource="rds",
                          observed=str(roles))
    limit = inputs.thresholds.rds_replica_lag_s
    details = []
    for replica in roles.replicas_of(writer):
        lag = rds.replica_lag(inputs.handles.by_name(replica.region), replica.identifier)
        if lag.seconds is None or lag.seconds > limit:
            raise CheckFailed("RDS replica lag over threshold", region=replica.region,
                              resource=replica.identifier, expected=f"<= {limit:g}s",
                              observed=str(lag))
        details.append(str(lag))
    if not details:
        raise CheckFailed("no RDS replica to measure", region=writer.region,
                          resource=writer.identifier)
    return "; ".join(details)


def dynamodb_global_table(inputs: ReadinessInputs) -> str:
    table = inputs.topology.dynamodb_table
    details = []
    for handle in inputs.handles:
        fact = dynamodb.global_table(handle, table)
        other = [h.region for h in inputs.handles if h.region != handle.region]
        if fact.status != "ACTIVE" or any(fact.replica_status(r) != "ACTIVE" for r in other):
            raise CheckFailed("DynamoDB global table not ACTIVE in both regions",
                              region=handle.region, resource=table,
                              expected="table and replicas ACTIVE", observed=str(fact))
        details.append(str(fact))
    return "; ".join(details)


def dynamodb_replication_latency(inputs: ReadinessInputs) -> str:
    table = inputs.topology.dynamodb_table
    limit = inputs.thresholds.dynamodb_replication_latency_s
    primary, secondary = inputs.handles.primary, inputs.handles.secondary
    lag = dynamodb.replication_latency(primary, table, secondary.region)
    if lag.seconds is None or lag.seconds > limit:
        raise CheckFailed("DynamoDB replication latency over threshold", region=secondary.region,
                          resource=table, expected=f"<= {limit:g}s", observed=str(lag))
    return str(lag)


def msk_clusters_active(inputs: ReadinessInputs) -> str:
    details = []
    for handle, names in ((inputs.handles.primary, inputs.topology.primary.msk_cluster),
                          (inputs.handles.secondary, inputs.topology.secondary.msk_cluster)):
        found = {c.name: c for c in msk.clusters(handle, (names,))}
        cluster = found.get(names)
        if cluster is None:
            raise NotFound(f"MSK cluster {names} not found in {handle.region}")
        if cluster.state != "ACTIVE":
            raise CheckFailed("MSK cluster not ACTIVE", region=handle.region, resource=names,
                              expected="ACTIVE", observed=cluster.state)
        details.append(str(cluster))
    return "; ".join(details)


def msk_replicator(inputs: ReadinessInputs) -> str:
    handle = inputs.handles.secondary
    contains = inputs.topology.replicator_name_contains
    found = msk.replicators(handle, contains)
    if not found:
        raise NotFound(f"no MSK replicator whose name contains {contains!r} in {handle.region}")
    limit = inputs.thresholds.msk_replication_latency_s
    details = []
    for replicator in found:
        if replicator.state != "RUNNING":
            raise CheckFailed("MSK replicator not RUNNING", region=handle.region,
                              resource=replicator.name, expected="RUNNING",
                              observed=replicator.state)
        lag = msk.replicator_lag(handle, replicator.name)
        if lag.seconds is None or lag.seconds > limit:
            raise CheckFailed("MSK replication latency over threshold", region=handle.region,
                              resource=replicator.name, expected=f"<= {limit:g}s",
                              observed=str(lag))
        details.append(f"{replicator}; {lag}")
    return "; ".join(details)


def route53_failover_pair(inputs: ReadinessInputs) -> str:
    handle = inputs.handles.primary
    zone = route53.hosted_zone(handle, inputs.topology.hosted_zone)
    records = route53.record_sets(handle, zone.zone_id, inputs.topology.record_name, "A")
    roles = {r.failover: r for r in records if r.kind == "failover"}
    if set(roles) != {"PRIMARY", "SECONDARY"}:
        raise CheckFailed("failover record pair incomplete", resource=inputs.topology.record_name,
                          expected="PRIMARY and SECONDARY failover records",
                          observed=", ".join(str(r) for r in records) or "no A records")
    unhealthy = []
    for role in ("PRIMARY", "SECONDARY"):
        record = roles[role]
        if not record.health_check_id:
            raise CheckFailed("failover record without a health check",
                              resource=f"{inputs.topology.record_name} {role}")
        status = route53.health_check_status(handle, record.health_check_id)
        if not status.healthy:
            unhealthy.append(f"{role}: {status}")
    if unhealthy:
        raise CheckFailed("failover health checks not healthy",
                          resource=inputs.topology.record_name, expected="both healthy",
                          observed="; ".join(unhealthy))
    return f"zone {zone.name} ({zone.zone_id}): failover pair with healthy checks"


def dr_alb_active(inputs: ReadinessInputs) -> str:
    handle = inputs.handles.secondary
    alb = elb.load_balancer(handle, inputs.topology.secondary.alb_name)
    if alb.state != "active":
        raise CheckFailed("DR ALB not active", region=handle.region, resource=alb.name,
                          expected="active", observed=alb.state)
    return str(alb)


def endpoint_up(inputs: ReadinessInputs) -> str:
    url = inputs.target.public_endpoint_url.rstrip("/") + inputs.topology.health_path
    health = endpoint.endpoint_health(url, resolver=inputs.resolver,
                                      ca_bundle=inputs.target.ca_bundle)
    if not health.up:
        raise CheckFailed("endpoint not UP", resource=url, expected="HTTP 200, status UP",
                          observed=str(health))
    return str(health)


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
        Check("DynamoDB global table ACTIVE", "both", dynamodb_global_table),
        Check("DynamoDB replication latency", s, dynamodb_replication_latency),
        Check("MSK clusters ACTIVE", "both", msk_clusters_active),
        Check("MSK replicator RUNNING and lag", s, msk_replicator),
        Check("Route 53 failover pair healthy", "global", route53_failover_pair),
        Check("DR ALB active", s, dr_alb_active),
        Check("public endpoint UP", "global", endpoint_up),
    )


def _run_one(check: Check, inputs: ReadinessInputs) -> CheckResult:
    started = time.monotonic()
    try:
        detail = check.run(inputs)
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
    return CheckResult(check.name, check.region, True, detail, time.monotonic() - started)


def run_readiness(inputs: ReadinessInputs, *, max_workers: int = 8) -> list[CheckResult]:
    """Run every check concurrently (bounded); results in the checks' order."""
    checks = readiness_checks(inputs.topology)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="readiness") as pool:
        return list(pool.map(lambda check: _run_one(check, inputs), checks))
