"""``describe_config``: the resolved configuration as readable lines (``maip-dr config check``).

Profiles, role ARNs and file paths are shown by name; nothing secret is in a ``Config``. Not
supported: any other output format (the command prints these lines).
"""

from __future__ import annotations

from dataclasses import fields

from maip_drlib.config import Config, ScalingConfig, Topology

_NO_DATABASE = "not configured (the database checks report 'not configured')"
_NO_KAFKA = "not configured (MSK RPO and canary offsets read 'not measured')"
_DEFAULT_DNS = {"sim": "simulation control server (/dns/resolve)", "live": "system resolver"}


def describe_config(config: Config) -> str:
    """The resolved configuration as readable lines (no secrets: profiles are names only)."""
    topology = config.topology
    lines = [f"source: {config.source or '(defaults)'}", "topology:"]
    for side in (topology.primary, topology.secondary):
        scaling = side.standby_scaling
        lines.append(
            f"  {side.region}: kube_context={side.kube_context} aws_profile={side.aws_profile} "
            f"eks={side.eks_cluster}/{side.nodegroup} rds={side.rds_instance} "
            f"msk={side.msk_cluster} alb={side.alb_name} standby_scaling="
            f"{scaling.min_size}/{scaling.desired_size}/{scaling.max_size} "
            f"kms_key_id={side.kms_key_id or '-'}"
        )
    for item in fields(Topology):
        if item.name in ("primary", "secondary"):
            continue
        value = getattr(topology, item.name)
        if isinstance(value, ScalingConfig):
            value = f"{value.min_size}/{value.desired_size}/{value.max_size} (min/desired/max)"
        lines.append(f"  {item.name}: {value}")
    lines.append(f"default_target: {config.default_target or '-'}")
    if config.feature_paths:
        lines.append("features: " + ", ".join(str(path) for path in config.feature_paths))
    if not config.targets:
        lines.append("targets: none (the embedded simulation is used)")
    else:
        lines.append("targets:")
    for name, target in sorted(config.targets.items()):
        lines.append(f"  {name}: kind={target.kind} public_endpoint_url="
                     f"{target.public_endpoint_url}")
        for label in ("control_url", "ca_bundle", "time_scale"):
            value = getattr(target, label)
            if value is not None:
                lines.append(f"    {label}: {value}")
        if target.kind == "embedded":
            lines.append("    (endpoints are those of the embedded simulation, at run time)")
            continue
        lines.append(f"    database: {target.database or _NO_DATABASE}")
        lines.append(f"    kafka: {target.kafka_access or _NO_KAFKA}")
        lines.append("    dns: " + (", ".join(target.dns_nameservers) if target.dns_nameservers
                                    else _DEFAULT_DNS[target.kind]))
        for connection in target.connections:
            if target.kind == "live":
                profile = connection.profile or "(default chain)"
            else:
                profile = "(simulation dummy keys)"
            if connection.role_arn:
                profile += f" then role {connection.role_arn}" + (
                    " (with external id)" if connection.external_id else "")
            lines.append(
                f"    {connection.region}: profile={profile} "
                f"endpoint_url={connection.endpoint_url or '(AWS default)'} "
                f"kube_context={connection.kube_context} "
                f"kubeconfig={connection.kubeconfig or '(default)'}"
            )
    return "\n".join(lines)
