"""The simulation is a sibling of the library, not a dependant (and the other way round).

- ``maip_drlib/sim`` imports, of the suite, only the configuration types, the error classes,
  the loopback check, the user cache folder and botocore's shared data loader (plus the
  package itself, whose files the snapshot fingerprint reads): never probes, actions, drill,
  readiness or the DNS resolver, so that a misreading in the library cannot be confirmed by a
  fake that borrows it.
- The library never imports the simulation; only the edge (the command line ``cli/`` and
  the pytest plugin ``pytest_dr/``) wires them together.
- Where the simulation states what the library also knows (the platform's secrets, the lease
  table's key, Route 53's record sets and health rule), the two agree: a drift fails here
  rather than as a puzzling readiness failure against the simulation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import maip_drlib
from maip_drlib.drill.lease import LEASE_KEY_ATTRIBUTE
from maip_drlib.probes.route53 import observations_healthy, parse_record_set
from maip_drlib.readiness_base import DEFAULT_REQUIRED_SECRETS
from maip_drlib.sim.dns.records import checkers_say_healthy, record_set
from maip_drlib.sim.platform import LEASE_TABLE_KEY, MAIP_SECRETS

pytestmark = pytest.mark.unit

PACKAGE = Path(maip_drlib.__file__).parent
SIM_MAY_IMPORT = {"maip_drlib", "maip_drlib.config", "maip_drlib.errors", "maip_drlib.loopback",
                  "maip_drlib.user_cache", "maip_drlib.botocore_data"}


def _imported(path: Path) -> set[str]:
    """Every ``maip_drlib`` module a file imports, at any depth (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "maip_drlib" or name.startswith("maip_drlib.")}


def _is_sim(module: str) -> bool:
    return module == "maip_drlib.sim" or module.startswith("maip_drlib.sim.")


def test_the_simulation_imports_only_configuration_types_and_its_own_code() -> None:
    wrong = {f"{path.relative_to(PACKAGE)}: {module}"
             for path in sorted((PACKAGE / "sim").rglob("*.py"))
             for module in _imported(path)
             if not _is_sim(module) and module not in SIM_MAY_IMPORT}
    assert not wrong, sorted(wrong)


def test_only_the_edge_imports_the_simulation() -> None:
    def edge(path: Path) -> bool:
        relative = path.relative_to(PACKAGE)
        return relative.parts[0] in ("sim", "pytest_dr", "cli")

    wrong = {f"{path.relative_to(PACKAGE)}: {module}"
             for path in sorted(PACKAGE.rglob("*.py")) if not edge(path)
             for module in _imported(path) if _is_sim(module)}
    assert not wrong, sorted(wrong)


def test_the_simulated_platform_has_what_the_library_looks_for() -> None:
    assert set(DEFAULT_REQUIRED_SECRETS) <= set(MAIP_SECRETS)
    assert LEASE_TABLE_KEY == LEASE_KEY_ATTRIBUTE


RECORD_SETS = [
    {"Name": "API.maip.example.com", "Type": "A", "SetIdentifier": "primary",
     "Failover": "PRIMARY", "HealthCheckId": "hc-1",
     "AliasTarget": {"DNSName": "Alb-1.us-east-1.ELB.amazonaws.com.", "HostedZoneId": "Z35",
                     "EvaluateTargetHealth": True}},
    {"Name": "api.maip.example.com.", "Type": "A", "SetIdentifier": "west", "Weight": 20,
     "AliasTarget": {"DNSName": "alb-2.us-west-2.elb.amazonaws.com", "HostedZoneId": "Z1H"}},
    {"Name": "maip.example.com.", "Type": "NS", "TTL": 172800,
     "ResourceRecords": [{"Value": "ns-1.awsdns-01.org."}, {"Value": "ns-2.awsdns-02.com."}]},
    {"Name": "lat.maip.example.com.", "Type": "A", "SetIdentifier": "x", "Region": "us-east-1",
     "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
]


@pytest.mark.parametrize("raw", RECORD_SETS, ids=["failover", "weighted", "simple", "latency"])
def test_the_simulated_dns_reads_record_sets_as_the_route53_probe_does(raw: dict) -> None:
    simulated, probed = record_set(raw), parse_record_set(raw)
    for name in ("name", "type", "kind", "set_identifier", "failover", "weight", "values",
                 "ttl", "health_check_id"):
        assert getattr(simulated, name) == getattr(probed, name), name
    assert (simulated.alias is None) == (probed.alias is None)
    if simulated.alias is not None and probed.alias is not None:
        assert (simulated.alias.dns_name, simulated.alias.evaluate_target_health) == (
            probed.alias.dns_name, probed.alias.evaluate_target_health)


@pytest.mark.parametrize("total", [0, 1, 3, 16])
def test_the_simulated_dns_applies_route53s_health_rule_as_the_probe_does(total: int) -> None:
    for successes in range(total + 1):
        observations = ([{"StatusReport": {"Status": "Success: HTTP 200"}}] * successes
                        + [{"StatusReport": {"Status": "Failure: timeout"}}] * (total - successes))
        assert checkers_say_healthy(observations) == observations_healthy(observations)[0], (
            successes, total)
