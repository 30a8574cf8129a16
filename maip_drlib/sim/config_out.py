"""The config file ``maip-dr sim up --config-out`` writes: one ``sim`` target for this process.

Strings are written as TOML basic strings (JSON escaping is a subset of TOML's). With the
data plane on, the target gets its ``[targets.<name>.database]`` table (a Secrets Manager
secret per region, ``sslmode = "disable"``) and its ``dns_nameservers`` (the simulation's
loopback DNS server: the drill stages then see the public name through real DNS answers,
docs/simulated-dns.md). Not supported: writing topology overrides (a ``sim up`` process always
runs the default topology).
"""

from __future__ import annotations

import json

from maip_drlib.config import DatabaseAccess, Target, Topology


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
    return "\n".join(lines) + "\n"


def _database_lines(name: str, access: DatabaseAccess) -> list[str]:
    lines = ["", f"[targets.{name}.database]", _line("dbname", access.dbname),
             _line("sslmode", access.sslmode), "", f"[targets.{name}.database.secret_ids]"]
    return lines + [_line(region, secret) for region, secret in access.secret_ids]
