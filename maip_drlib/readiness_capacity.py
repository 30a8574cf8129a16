"""Readiness checks of DR capacity and what DR needs to serve: subnet addresses, the vCPU
quota, autoscalers, images in the DR registry, secrets, the DR ALB's targets, the endpoint's
certificate (read-only).

Not supported: quota usage (the quota is compared with the failover's whole need, not with its
headroom), images outside private ECR, secrets outside Secrets Manager.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from maip_drlib.errors import CheckFailed
from maip_drlib.facts_platform import QuotaNotAvailable
from maip_drlib.probes import ecr, elb, kube, network, quotas, secrets, tls
from maip_drlib.readiness_base import ECR_LOOKUP_CONCURRENCY, NotChecked, ReadinessInputs


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
