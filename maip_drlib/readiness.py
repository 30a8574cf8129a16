"""The readiness preflight: read-only checks of both regions, run concurrently.

Each check is a small function over ``ReadinessInputs`` that returns a one-line detail when
the platform is ready for a failover and raises a typed error (``CheckFailed``, ``NotFound``,
``Unreachable``) when it is not. ``run_readiness`` runs them on a bounded thread pool and
returns one ``CheckResult`` each; it never mutates anything, so it is safe against production
at any time.

A check that cannot be made because an API does not answer for it (today: the EC2 vCPU quota
where Service Quotas has no value, as in the simulation) raises ``NotChecked``: that is no
verdict. ``run_readiness`` reports it with ``checked=False`` (and ``passed=True``, so it never
fails a run); the Gherkin step turns it into a pytest skip that gives the reason.

Not supported: quota usage (the quota is compared with the failover's whole need, not with its
headroom), images outside private ECR, secrets outside Secrets Manager.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from maip_drlib.config import RegionTopology, Target, Topology
from maip_drlib.errors import CheckFailed, DRError, NotFound, Unreachable
from maip_drlib.facts import ApiUnreachable, DbInstanceFact, ReplicationLag
from maip_drlib.facts_platform import QuotaNotAvailable
from maip_drlib.probes import (
    dynamodb,
    ecr,
    eks,
    elb,
    endpoint,
    kube,
    msk,
    network,
    quotas,
    rds,
    route53,
    secrets,
    tls,
)
from maip_drlib.regions import RegionHandle, RegionHandles
from maip_drlib.resolvers import Resolver

# The secrets the services need in DR (features/readiness.feature names the same).
DEFAULT_REQUIRED_SECRETS = ("maip/prod/db-credentials", "maip/prod/kafka-credentials")
ECR_LOOKUP_CONCURRENCY = 8  # image lookups in flight at once (the DR registry's API)


@dataclass(frozen=True)
class Thresholds:
    """Limits and business figures the readiness checks hold the platform to.

    ``failover_nodes`` and ``failover_replicas`` None mean the topology's figures
    (``failover_scaling.max_size``, ``failover_replicas``). ``pods_per_node``: 30 is a
    documented figure for the AWS VPC CNI on m5/m6i.xlarge (ENI limit 58, of which the services'
    pods use about half); each pod and each node takes one VPC address.
    """

    rds_replica_lag_s: float = 60.0
    dynamodb_replication_latency_s: float = 5.0
    msk_replication_latency_s: float = 60.0
    failover_nodes: int | None = None
    pods_per_node: int = 30
    failover_replicas: int | None = None
    required_secrets: tuple[str, ...] = DEFAULT_REQUIRED_SECRETS
    min_healthy_targets: int = 1
    certificate_min_days: float = 14.0


class NotChecked(DRError):
    """A check could not be made: the API does not answer for it. Not a pass, not a failure."""


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
    error_kind: str | None = None  # "check", "unreachable", "not-found", "error", "not-checked"
    checked: bool = True  # False: no verdict (NotChecked); ``detail`` says why


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


def _wal_distance(inputs: ReadinessInputs, writer: DbInstanceFact,
                  replica: DbInstanceFact) -> str | None:
    """With database access: the replica's WAL distance from the writer (read-only), or None
    when it cannot be read (then the metric alone is reported, with its caveat)."""
    from maip_drlib.probes import postgres

    access = inputs.target.database
    if access is None:
        return None
    try:
        writer_spec = postgres.connection_spec(inputs.handles.by_name(writer.region), access,
                                               writer.identifier)
        spec = postgres.connection_spec(inputs.handles.by_name(replica.region), access,
                                        replica.identifier)
        fact = postgres.standby_lag(spec, writer_spec)
    except DRError:
        return None
    if not fact.in_recovery or fact.lsn_distance_bytes is None:
        return None
    return str(fact) if not fact.caught_up else f"idle source: {fact}"


def rds_replica_lag(inputs: ReadinessInputs) -> str:
    """``ReplicaLag`` of each replica of the writer (read-only). RDS reports now minus the last
    replayed commit: it climbs while the writer is idle. With database access the WAL
    distance tells an idle writer (distance 0: passes, saying so) from a lagging replica;
    without it, a figure over the threshold fails saying that it includes idle time. -1 or no
    datapoint: not replicating."""
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    writer = roles.writer
    if writer is None:
        raise CheckFailed("no single RDS writer to measure lag against", resource="rds",
                          observed=str(roles))
    limit = inputs.thresholds.rds_replica_lag_s
    details = []
    for replica in roles.replicas_of(writer):
        lag = rds.replica_lag(inputs.handles.by_name(replica.region), replica.identifier)
        if lag.seconds is None or lag.seconds < 0:
            raise CheckFailed("RDS replica not replicating (ReplicaLag -1 or no datapoint)",
                              region=replica.region, resource=replica.identifier,
                              expected=f"<= {limit:g}s", observed=str(lag))
        if lag.seconds <= limit:
            details.append(str(lag))
            continue
        wal = _wal_distance(inputs, writer, replica)
        if wal is not None and wal.startswith("idle source"):
            details.append(f"{lag} includes idle time; WAL distance 0: {wal}")
            continue
        raise CheckFailed("RDS replica lag over threshold", region=replica.region,
                          resource=replica.identifier, expected=f"<= {limit:g}s",
                          observed=f"{lag}; " + (wal or (
                              "the figure includes idle time (now minus the last replayed "
                              "commit); without database access an idle writer cannot be "
                              "told from a lagging replica")))
    if not details:
        raise CheckFailed("no RDS replica to measure", region=writer.region,
                          resource=writer.identifier)
    return "; ".join(details)


def rds_roles_in_postgres(inputs: ReadinessInputs) -> str:
    """The writer and each replica asked over SQL through their RDS endpoints (the data plane):
    the writer says it is one (``pg_is_in_recovery()`` false); each replica is a standby
    replaying within the lag threshold (WAL distance from the writer; the last replayed
    commit's age while behind). Without database access for the target: ``NotChecked``
    ("not configured"), never a pass."""
    from maip_drlib.probes import postgres

    access = inputs.target.database
    if access is None:
        raise NotChecked(f"{postgres.NOT_CONFIGURED}: target {inputs.target.name!r} has no "
                         f"database access ([targets.{inputs.target.name}.database])")
    roles = rds.find_writer_and_replicas(inputs.handles, inputs.topology)
    writer = roles.writer
    if writer is None:
        raise CheckFailed("no single RDS writer to ask", resource="rds", observed=str(roles))
    limit = inputs.thresholds.rds_replica_lag_s
    try:
        writer_spec = postgres.connection_spec(inputs.handles.by_name(writer.region), access,
                                               writer.identifier)
        writer_role = postgres.database_role(writer_spec)
        if writer_role.in_recovery:
            raise CheckFailed("the RDS writer's database is in recovery", region=writer.region,
                              resource=writer.identifier, expected="a writer",
                              observed=str(writer_role))
        details = [str(writer_role)]
        for replica in roles.replicas_of(writer):
            spec = postgres.connection_spec(inputs.handles.by_name(replica.region), access,
                                            replica.identifier)
            lag = postgres.standby_lag(spec, writer_spec)
            if not lag.in_recovery or lag.lag_s is None or lag.lag_s > limit:
                raise CheckFailed("the RDS replica's database is not a standby within the lag "
                                  "threshold", region=replica.region,
                                  resource=replica.identifier,
                                  expected=f"a standby, lag <= {limit:g}s", observed=str(lag))
            details.append(str(lag))
    except postgres.NotConfigured as error:
        raise NotChecked(str(error)) from error
    if len(details) < 2:
        raise CheckFailed("no RDS replica to ask", region=writer.region,
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


def _measured(lag: ReplicationLag, sender: str, receiver: str) -> None:
    """No ``ReplicationLatency`` datapoint in the window: DynamoDB publishes it only for items
    replicated in the period, so nothing was measured -- ``NotChecked``, never a pass."""
    if lag.seconds is None:
        raise NotChecked(
            f"not measured: no ReplicationLatency datapoint for {lag.resource} from {sender} "
            f"to {receiver} in the last {dynamodb.LATENCY_WINDOW_S // 60} minutes (period "
            f"{dynamodb.LATENCY_PERIOD_S} s): DynamoDB publishes it only for items "
            "replicated in the period")


def dynamodb_replication_latency(inputs: ReadinessInputs) -> str:
    table = inputs.topology.dynamodb_table
    limit = inputs.thresholds.dynamodb_replication_latency_s
    primary, secondary = inputs.handles.primary, inputs.handles.secondary
    lag = dynamodb.replication_latency(primary, table, secondary.region)
    _measured(lag, primary.region, secondary.region)
    if lag.seconds is None or lag.seconds > limit:
        raise CheckFailed("DynamoDB replication latency over threshold", region=secondary.region,
                          resource=table, expected=f"<= {limit:g}s", observed=str(lag))
    return str(lag)


def dynamodb_replication_latency_to_primary(inputs: ReadinessInputs) -> str:
    """Writes made in DR reach the primary within the limit (what failback relies on).

    Stated in features/replication.feature only; not one of ``readiness_checks()`` (one
    DynamoDB lag row in the CLI table; the simulation's lag fault moves both directions).
    """
    table = inputs.topology.dynamodb_table
    limit = inputs.thresholds.dynamodb_replication_latency_s
    primary, secondary = inputs.handles.primary, inputs.handles.secondary
    lag = dynamodb.replication_latency(secondary, table, primary.region)
    _measured(lag, secondary.region, primary.region)
    if lag.seconds is None or lag.seconds > limit:
        raise CheckFailed("DynamoDB replication latency back to the primary over threshold",
                          region=primary.region, resource=table, expected=f"<= {limit:g}s",
                          observed=str(lag))
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


# --- DR capacity, autoscalers, images, secrets, targets, TLS -----------------------------------


def _failover_nodes(inputs: ReadinessInputs) -> int:
    given = inputs.thresholds.failover_nodes
    return inputs.topology.failover_scaling.max_size if given is None else given


def dr_subnet_capacity(inputs: ReadinessInputs) -> str:
    """Free addresses in the DR node group's subnets for the failover nodes and their pods.

    Summed over the subnets: a node group that balances across zones may exhaust one subnet
    first (not modelled). Addresses already used by running nodes count as used.
    """
    handle, dr = inputs.handles.secondary, inputs.topology.secondary
    placement = network.nodegroup_placement(handle, dr.eks_cluster, dr.nodegroup)
    subnets = network.subnets(handle, placement.subnet_ids)
    nodes, per_node = _failover_nodes(inputs), inputs.thresholds.pods_per_node
    needed = nodes * (1 + per_node)
    free = sum(s.free_addresses for s in subnets)
    resource = f"node group {dr.nodegroup} subnets " + (", ".join(placement.subnet_ids) or "none")
    if free < needed:
        raise CheckFailed("DR subnets lack free addresses for the failover capacity",
                          region=handle.region, resource=resource,
                          expected=f">= {needed} free addresses ({nodes} nodes x (1 + "
                                   f"{per_node} pods))",
                          observed=f"{free} free: " + ("; ".join(map(str, subnets)) or "none"))
    return (f"{free} free addresses in {len(subnets)} subnets of {dr.nodegroup} >= {needed} "
            f"({nodes} nodes x (1 + {per_node} pods))")


_STANDARD_FAMILIES = frozenset("acdhimrtz")


def dr_instance_quota(inputs: ReadinessInputs) -> str:
    """The DR region's EC2 Standard On-Demand vCPU quota covers the failover nodes."""
    handle, dr = inputs.handles.secondary, inputs.topology.secondary
    placement = network.nodegroup_placement(handle, dr.eks_cluster, dr.nodegroup)
    if not placement.instance_types:
        raise NotChecked(f"node group {dr.nodegroup} ({handle.region}) names no instance type "
                         "(launch template): vCPUs per node unknown")
    outside = [t for t in placement.instance_types if t[:1].lower() not in _STANDARD_FAMILIES]
    if outside:
        raise NotChecked(f"instance types {', '.join(outside)} of {dr.nodegroup} are outside "
                         "the Standard On-Demand quota")
    vcpus = max(quotas.instance_vcpus(handle, t) for t in placement.instance_types)
    nodes = _failover_nodes(inputs)
    needed = nodes * vcpus
    quota = quotas.service_quota(handle, *quotas.EC2_STANDARD_ON_DEMAND_VCPUS)
    if isinstance(quota, QuotaNotAvailable):
        raise NotChecked(str(quota))
    if quota.value < needed:
        raise CheckFailed("EC2 On-Demand vCPU quota below the failover capacity",
                          region=handle.region,
                          resource=f"{quota.service_code}/{quota.quota_code}",
                          expected=f">= {needed} vCPUs ({nodes} nodes x {vcpus} vCPUs, "
                                   f"{'/'.join(placement.instance_types)})",
                          observed=f"{quota.value:g} vCPUs")
    return f"{quota} >= {needed} vCPUs for {nodes} nodes (usage not subtracted)"


def dr_autoscalers_allow_failover_replicas(inputs: ReadinessInputs) -> str:
    """No DR HorizontalPodAutoscaler holds a deployment away from the failover replica count."""
    handle, namespace = inputs.handles.secondary, inputs.topology.namespace
    given = inputs.thresholds.failover_replicas
    replicas = inputs.topology.failover_replicas if given is None else given
    found = kube.hpas(handle, namespace)
    if not found:
        return (f"no HorizontalPodAutoscaler in {namespace} in DR ({handle.region}): "
                f"nothing overrides {replicas} replicas")
    fighting = [h for h in found
                if not ((h.min_replicas or 1) <= replicas <= h.max_replicas)]
    if fighting:
        raise CheckFailed(
            "DR autoscalers would fight the failover replica count", region=handle.region,
            resource=", ".join(f"hpa {namespace}/{h.name} -> {h.target_kind}/{h.target_name}"
                               for h in fighting),
            expected=f"min <= {replicas} <= max",
            observed="; ".join(f"{h.name}: min={h.min_replicas or 1} max={h.max_replicas}"
                               for h in fighting))
    return (f"{len(found)} HPAs in {namespace} in DR allow {replicas} replicas: "
            + ", ".join(f"{h.name} {h.min_replicas or 1}..{h.max_replicas}" for h in found))


def dr_images_in_registry(inputs: ReadinessInputs) -> str:
    """Every image the DR deployments run is in the DR region's own ECR registry."""
    handle, namespace = inputs.handles.secondary, inputs.topology.namespace
    # The same facts as ecr.deployment_images, read as JSON (no typed client models).
    images = tuple(ecr.parse_image(*found) for found in kube.container_images(handle, namespace))
    if not images:
        raise CheckFailed("no deployment images in DR", region=handle.region,
                          resource=f"namespace {namespace}", expected="the services' images",
                          observed="no deployments")
    problems: list[str] = []
    seen: dict[str, bool] = {}
    lookups = []
    for image in images:
        if image.reference in seen:
            continue
        if image.ecr_region != handle.region:
            seen[image.reference] = False
            problems.append(f"{image}: not in the {handle.region} registry (registry "
                            f"{image.registry or 'docker.io'})")
            continue
        seen[image.reference] = True
        lookups.append(image)
    # One DescribeImages per repository (up to 100 images a call; ECR has no query across
    # repositories), a few repositories at a time.
    facts = ecr.registry_images(handle, lookups, concurrency=ECR_LOOKUP_CONCURRENCY)
    for image in lookups:
        fact = facts[image.reference]
        seen[image.reference] = fact.found
        if not fact.found:
            problems.append(f"{image}: {fact}")
    if problems:
        raise CheckFailed("DR deployments use images the DR registry does not have",
                          region=handle.region, resource=f"namespace {namespace}",
                          expected=f"every image in ECR {handle.region}",
                          observed="; ".join(problems))
    deployments = len({image.deployment for image in images})
    return (f"all {len(seen)} images of {deployments} DR deployments present in ECR "
            f"{handle.region}")


def dr_secrets_replicated(inputs: ReadinessInputs) -> str:
    """Each named secret exists in DR; a replica's status in its primary reads InSync."""
    handle = inputs.handles.secondary
    names = inputs.thresholds.required_secrets
    if not names:
        raise CheckFailed("no secrets named to check", region=handle.region,
                          expected="at least one secret name", observed="none")
    regions = {h.region for h in inputs.handles}
    problems: list[str] = []
    details: list[str] = []
    for name in names:
        fact = secrets.describe_secret(handle, name)
        if not fact.exists or fact.deleted:
            problems.append(str(fact))
            continue
        status = None
        if fact.primary_region and fact.primary_region != handle.region:
            source = fact
            if fact.primary_region in regions:
                source = secrets.describe_secret(inputs.handles.by_name(fact.primary_region),
                                                 name)
            status = source.replication_status(handle.region)
            if status != "InSync":
                problems.append(f"secret {name}: replication {fact.primary_region} -> "
                                f"{handle.region} is {status or 'not configured'}")
                continue
        details.append(f"{name} ({'replica, ' + status if status else 'own copy'})")
    if problems:
        raise CheckFailed("secrets the services need are not ready in DR", region=handle.region,
                          resource=", ".join(names), expected="present, replication InSync",
                          observed="; ".join(problems))
    return f"{len(details)} secrets in {handle.region}: " + ", ".join(details)


def dr_alb_healthy_targets(inputs: ReadinessInputs) -> str:
    """Every target group of the DR ALB has at least the given number of healthy targets."""
    handle = inputs.handles.secondary
    alb = elb.load_balancer(handle, inputs.topology.secondary.alb_name)
    groups = network.target_health(handle, alb.arn)
    minimum = inputs.thresholds.min_healthy_targets
    if not groups:
        raise CheckFailed("DR ALB has no target group", region=handle.region, resource=alb.name,
                          expected=f">= {minimum} healthy targets", observed="no target groups")
    short = [g for g in groups if len(g.healthy) < minimum]
    if short:
        raise CheckFailed("DR ALB target groups without enough healthy targets",
                          region=handle.region, resource=alb.name,
                          expected=f">= {minimum} healthy targets per target group",
                          observed="; ".join(map(str, short)))
    return "; ".join(map(str, groups))


def endpoint_certificate_valid(inputs: ReadinessInputs) -> str:
    """The public endpoint's certificate verifies and is valid for the given days at least."""
    parts = urlsplit(inputs.target.public_endpoint_url)
    if parts.scheme != "https" or not parts.hostname:
        raise CheckFailed("public endpoint is not an HTTPS URL",
                          resource=inputs.target.public_endpoint_url, expected="https://<host>")
    minimum = inputs.thresholds.certificate_min_days
    fact = tls.peer_certificate(parts.hostname, parts.port or 443, resolver=inputs.resolver,
                                ca_bundle=inputs.target.ca_bundle)
    if fact.days_remaining < minimum:
        raise CheckFailed("endpoint certificate expires too soon", resource=parts.hostname,
                          expected=f">= {minimum:g} days of validity", observed=str(fact))
    return str(fact)


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
        Check("DynamoDB global table ACTIVE", "both", dynamodb_global_table),
        Check("DynamoDB replication latency", s, dynamodb_replication_latency),
        Check("MSK clusters ACTIVE", "both", msk_clusters_active),
        Check("MSK replicator RUNNING and lag", s, msk_replicator),
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
        detail = check.run(inputs)
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
    return CheckResult(check.name, check.region, True, detail, time.monotonic() - started)


def run_readiness(inputs: ReadinessInputs, *, max_workers: int = 8) -> list[CheckResult]:
    """Run every check concurrently (bounded); results in the checks' order."""
    checks = readiness_checks(inputs.topology)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="readiness") as pool:
        return list(pool.map(lambda check: _run_one(check, inputs), checks))
