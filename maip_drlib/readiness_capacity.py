"""Readiness checks of DR capacity and what DR needs to serve: subnet addresses, the vCPU
quota, autoscalers, images in the DR registry, secrets, the DR ALB's targets, the endpoint's
certificate (read-only).

Not supported: quota usage (the quota is compared with the failover's whole need, not with its
headroom), images outside private ECR, secrets outside Secrets Manager.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from maip_drlib.facts_platform import QuotaNotAvailable
from maip_drlib.probes import ecr, elb, kube, network, quotas, secrets, tls
from maip_drlib.readiness_base import ECR_LOOKUP_CONCURRENCY, NotChecked, ReadinessInputs
from maip_drlib.readiness_verdict import Verdict, failed, passed


def _failover_nodes(inputs: ReadinessInputs) -> int:
    given = inputs.thresholds.failover_nodes
    return inputs.topology.failover_scaling.max_size if given is None else given


def dr_subnet_capacity(inputs: ReadinessInputs) -> Verdict:
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
    fact = "free addresses in the DR node group's subnets"
    expected = f">= {needed} free addresses ({nodes} nodes x (1 + {per_node} pods))"
    if free < needed:
        return failed(fact, "DR subnets lack free addresses for the failover capacity",
                      region=handle.region, resource=resource, expected=expected,
                      observed=f"{free} free: " + ("; ".join(map(str, subnets)) or "none"))
    return passed(fact, f"{free} free addresses in {len(subnets)} subnets of {dr.nodegroup} "
                        f">= {needed} ({nodes} nodes x (1 + {per_node} pods))",
                  expected=expected, observed=f"{free} free", region=handle.region,
                  resource=resource)


_STANDARD_FAMILIES = frozenset("acdhimrtz")


def dr_instance_quota(inputs: ReadinessInputs) -> Verdict:
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
    fact, resource = "EC2 On-Demand vCPU quota", f"{quota.service_code}/{quota.quota_code}"
    expected = (f">= {needed} vCPUs ({nodes} nodes x {vcpus} vCPUs, "
                f"{'/'.join(placement.instance_types)})")
    if quota.value < needed:
        return failed(fact, "EC2 On-Demand vCPU quota below the failover capacity",
                      region=handle.region, resource=resource, expected=expected,
                      observed=f"{quota.value:g} vCPUs")
    return passed(fact, f"{quota} >= {needed} vCPUs for {nodes} nodes (usage not subtracted)",
                  expected=expected, observed=f"{quota.value:g} vCPUs", region=handle.region,
                  resource=resource)


def dr_autoscalers_allow_failover_replicas(inputs: ReadinessInputs) -> Verdict:
    """No DR HorizontalPodAutoscaler holds a deployment away from the failover replica count."""
    handle, namespace = inputs.handles.secondary, inputs.topology.namespace
    given = inputs.thresholds.failover_replicas
    replicas = inputs.topology.failover_replicas if given is None else given
    found = kube.hpas(handle, namespace)
    fact, expected = "DR autoscalers' replica bounds", f"min <= {replicas} <= max"
    if not found:
        return passed(fact, f"no HorizontalPodAutoscaler in {namespace} in DR ({handle.region}): "
                            f"nothing overrides {replicas} replicas",
                      expected=expected, observed="no HorizontalPodAutoscaler",
                      region=handle.region, resource=f"namespace {namespace}")
    fighting = [h for h in found
                if not ((h.min_replicas or 1) <= replicas <= h.max_replicas)]
    if fighting:
        return failed(
            fact, "DR autoscalers would fight the failover replica count", region=handle.region,
            resource=", ".join(f"hpa {namespace}/{h.name} -> {h.target_kind}/{h.target_name}"
                               for h in fighting),
            expected=expected,
            observed="; ".join(f"{h.name}: min={h.min_replicas or 1} max={h.max_replicas}"
                               for h in fighting))
    bounds = ", ".join(f"{h.name} {h.min_replicas or 1}..{h.max_replicas}" for h in found)
    return passed(fact, f"{len(found)} HPAs in {namespace} in DR allow {replicas} replicas: "
                        + bounds, expected=expected, observed=bounds, region=handle.region,
                  resource=f"namespace {namespace}")


def dr_images_in_registry(inputs: ReadinessInputs) -> Verdict:
    """Every image the DR deployments run is in the DR region's own ECR registry."""
    handle, namespace = inputs.handles.secondary, inputs.topology.namespace
    # The same facts as ecr.deployment_images, read as JSON (no typed client models).
    images = tuple(ecr.parse_image(*found) for found in kube.container_images(handle, namespace))
    fact = "DR deployments' images in the DR registry"
    if not images:
        return failed(fact, "no deployment images in DR", region=handle.region,
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
    expected = f"every image in ECR {handle.region}"
    if problems:
        return failed(fact, "DR deployments use images the DR registry does not have",
                      region=handle.region, resource=f"namespace {namespace}",
                      expected=expected, observed="; ".join(problems))
    deployments = len({image.deployment for image in images})
    return passed(fact, f"all {len(seen)} images of {deployments} DR deployments present in ECR "
                        f"{handle.region}", expected=expected,
                  observed=f"{len(seen)} images present", region=handle.region,
                  resource=f"namespace {namespace}")


def dr_secrets_replicated(inputs: ReadinessInputs) -> Verdict:
    """Each named secret exists in DR; a replica's status in its primary reads InSync."""
    handle = inputs.handles.secondary
    names = inputs.thresholds.required_secrets
    fact = "secrets the services need in DR"
    if not names:
        return failed(fact, "no secrets named to check", region=handle.region,
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
    expected = "present, replication InSync"
    if problems:
        return failed(fact, "secrets the services need are not ready in DR",
                      region=handle.region, resource=", ".join(names), expected=expected,
                      observed="; ".join(problems))
    return passed(fact, f"{len(details)} secrets in {handle.region}: " + ", ".join(details),
                  expected=expected, observed=", ".join(details), region=handle.region,
                  resource=", ".join(names))


def dr_alb_healthy_targets(inputs: ReadinessInputs) -> Verdict:
    """Every target group of the DR ALB has at least the given number of healthy targets."""
    handle = inputs.handles.secondary
    alb = elb.load_balancer(handle, inputs.topology.secondary.alb_name)
    groups = network.target_health(handle, alb.arn)
    minimum = inputs.thresholds.min_healthy_targets
    fact = "healthy targets per DR ALB target group"
    if not groups:
        return failed(fact, "DR ALB has no target group", region=handle.region,
                      resource=alb.name, expected=f">= {minimum} healthy targets",
                      observed="no target groups")
    short = [g for g in groups if len(g.healthy) < minimum]
    expected = f">= {minimum} healthy targets per target group"
    if short:
        return failed(fact, "DR ALB target groups without enough healthy targets",
                      region=handle.region, resource=alb.name, expected=expected,
                      observed="; ".join(map(str, short)))
    return passed(fact, "; ".join(map(str, groups)), expected=expected, region=handle.region,
                  resource=alb.name)


def endpoint_certificate_valid(inputs: ReadinessInputs) -> Verdict:
    """The public endpoint's certificate verifies and is valid for the given days at least."""
    parts = urlsplit(inputs.target.public_endpoint_url)
    what = "endpoint certificate validity"
    if parts.scheme != "https" or not parts.hostname:
        return failed(what, "public endpoint is not an HTTPS URL",
                      resource=inputs.target.public_endpoint_url, expected="https://<host>")
    minimum = inputs.thresholds.certificate_min_days
    fact = tls.peer_certificate(parts.hostname, parts.port or 443, resolver=inputs.resolver,
                                ca_bundle=inputs.target.ca_bundle)
    expected = f">= {minimum:g} days of validity"
    if fact.days_remaining < minimum:
        return failed(what, "endpoint certificate expires too soon", resource=parts.hostname,
                      expected=expected, observed=str(fact))
    return passed(what, str(fact), expected=expected, resource=parts.hostname)
