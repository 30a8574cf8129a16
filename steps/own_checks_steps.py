"""Steps for a team's own checks: the resource is named in the step, not in the topology.

Each runs one read-only check of ``maip_drlib.readiness_named`` (docs/own-checks.md) and
asserts its ``Verdict`` (printed when ok, its ``CheckFailed`` otherwise). Under a
declared outage a failure in the declared region alone is noted as expected, as the runbook's
readiness checks do.
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from maip_drlib import readiness_named
from maip_drlib.readiness import ReadinessInputs
from steps.readiness_steps import expected_under_declared_outage


@then(parsers.parse('the RDS instance "{identifier}" in the {role} region is available'))
@expected_under_declared_outage
def named_rds_available(dr_readiness_inputs: ReadinessInputs, identifier: str,
                        role: str) -> None:
    """The named RDS instance exists in that region and its status is available."""
    print(readiness_named.rds_instance_available(dr_readiness_inputs, role, identifier)
          .require().render())


@then(parsers.parse('the RDS instance "{identifier}" in the {role} region is an available '
                    '{db_role}'))
@expected_under_declared_outage
def named_rds_role(dr_readiness_inputs: ReadinessInputs, identifier: str, role: str,
                   db_role: str) -> None:
    """The named RDS instance is available and is a "writer" or a "read replica" (as RDS
    reports it)."""
    print(readiness_named.rds_instance_available(dr_readiness_inputs, role, identifier,
                                                 db_role).require().render())


@then(parsers.parse('the deployment "{name}" in namespace "{namespace}" has at least '
                    '{count:d} ready replica in the {role} region'))
@then(parsers.parse('the deployment "{name}" in namespace "{namespace}" has at least '
                    '{count:d} ready replicas in the {role} region'))
@expected_under_declared_outage
def named_deployment_ready(dr_readiness_inputs: ReadinessInputs, name: str, namespace: str,
                           count: int, role: str) -> None:
    """The named deployment exists in that namespace and region with at least that many
    ready and available replicas."""
    print(readiness_named.deployment_ready(dr_readiness_inputs, role, namespace, name, count)
          .require().render())


@then(parsers.parse('the deployment "{name}" in namespace "{namespace}" exists in the {role} '
                    'region'))
@expected_under_declared_outage
def named_deployment_exists(dr_readiness_inputs: ReadinessInputs, name: str, namespace: str,
                            role: str) -> None:
    """The named deployment exists in that namespace and region (any number of replicas)."""
    print(readiness_named.deployment_ready(dr_readiness_inputs, role, namespace, name, 0)
          .require().render())
