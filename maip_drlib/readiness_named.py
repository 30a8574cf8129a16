"""Read-only checks of resources a team names in its own feature files (docs/own-checks.md).

The runbook's checks (``maip_drlib.readiness``) read their names from the topology; these take
the name from the step instead, so a team can hold another RDS instance or another deployment
to the same standard without Python. Each returns a ``Verdict`` (``readiness_verdict``) naming
region, resource, expectation and observation (a missing resource included: a failed verdict).

Not supported: Aurora clusters (DB clusters), resources outside the target's two regions, and
replica lag of a named instance (the runbook's lag check reads the WAL distance of the
topology's pair; a metric alone is not proof, DESIGN.md 6a).
"""

from __future__ import annotations

from maip_drlib.errors import CheckFailed, NotFound
from maip_drlib.facts import DbInstanceFact
from maip_drlib.probes import kube, rds
from maip_drlib.readiness_base import ReadinessInputs, _role
from maip_drlib.readiness_verdict import Verdict, failed, passed

DB_ROLES = {"writer": "writer", "read replica": "replica"}


def _instance(inputs: ReadinessInputs, role: str,
              identifier: str) -> tuple[str, DbInstanceFact | None]:
    """(the role's region, the instance or None when RDS has none of that name)."""
    handle, _ = _role(inputs, role)
    try:
        return handle.region, rds.db_instance(handle, identifier)
    except NotFound:
        return handle.region, None


def rds_instance_available(inputs: ReadinessInputs, role: str, identifier: str,
                           db_role: str | None = None) -> Verdict:
    """The named instance exists in the ``role`` region and is ``available``; with ``db_role``
    ("writer" or "read replica") it also has that role as RDS reports it (a replica has a
    source; a writer has none and is not stopped)."""
    region, fact = _instance(inputs, role, identifier)
    what = f"RDS instance {identifier}"
    if fact is None:
        return failed(what, "RDS instance not found", region=region, resource=identifier,
                      expected="an instance of that name", observed="none")
    if fact.status != "available":
        return failed(what, "RDS instance is not available", region=fact.region,
                      resource=identifier, expected="available", observed=fact.status)
    if db_role is not None:
        if db_role not in DB_ROLES:
            raise CheckFailed(f"unknown database role {db_role!r}",
                              expected=" or ".join(DB_ROLES))
        if fact.role != DB_ROLES[db_role]:
            return failed(what, f"RDS instance is not a {db_role}", region=fact.region,
                          resource=identifier, expected=db_role, observed=fact.role)
    source = f", replicating from {fact.source}" if fact.source else ""
    return passed(what, f"RDS instance {identifier} ({fact.region}): {fact.status}, "
                        f"{fact.role}{source}, backups kept {fact.backup_retention_days} days",
                  expected="available" + (f" {db_role}" if db_role else ""),
                  observed=f"{fact.status} {fact.role}", region=fact.region,
                  resource=identifier)


def deployment_ready(inputs: ReadinessInputs, role: str, namespace: str, name: str,
                     minimum: int) -> Verdict:
    """The named deployment exists in ``namespace`` of the ``role`` region's cluster with at
    least ``minimum`` ready and available replicas (0: it only has to exist)."""
    handle, _ = _role(inputs, role)
    found = [fact for fact in kube.deployments(handle, namespace) if fact.name == name]
    what, resource = f"deployment {namespace}/{name}", f"{namespace}/{name}"
    if not found:
        return failed(what, "deployment not found", region=handle.region, resource=resource,
                      expected="a deployment of that name", observed="none")
    fact = found[0]
    expected = f"at least {minimum} ready and available"
    observed = f"ready {fact.ready}, available {fact.available}"
    if min(fact.ready, fact.available) < minimum:
        return failed(what, "deployment has too few ready replicas", region=handle.region,
                      resource=resource, expected=expected, observed=observed)
    return passed(what, f"{fact} ({handle.region})", expected=expected, observed=observed,
                  region=handle.region, resource=resource)
