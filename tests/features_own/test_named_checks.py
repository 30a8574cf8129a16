"""The checks behind the steps for a team's own resources (``maip_drlib.readiness_named``):
the name comes from the step; a missing or unready resource fails naming region and resource."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from maip_drlib import readiness_named
from maip_drlib.errors import CheckFailed, NotFound
from maip_drlib.facts import DbInstanceFact, DeploymentFact

pytestmark = pytest.mark.unit

INPUTS = SimpleNamespace(
    handles=SimpleNamespace(primary=SimpleNamespace(region="us-east-1"),
                            secondary=SimpleNamespace(region="us-west-2")),
    topology=SimpleNamespace(primary="p", secondary="s"))


def _instance(status: str = "available", source: str | None = "arn:writer") -> DbInstanceFact:
    return DbInstanceFact(identifier="ledger-db", region="us-west-2", status=status,
                          role="replica" if source else "writer", source=source, replicas=(),
                          backup_retention_days=7, arn="arn:ledger-db")


def _with_instance(monkeypatch: pytest.MonkeyPatch, fact: DbInstanceFact | None) -> list:
    asked: list = []

    def db_instance(handle: SimpleNamespace, identifier: str) -> DbInstanceFact:
        asked.append((handle.region, identifier))
        if fact is None:
            raise NotFound(f"RDS instance {identifier} not found in {handle.region}")
        return fact
    monkeypatch.setattr(readiness_named.rds, "db_instance", db_instance)
    return asked


def test_a_named_replica_passes_and_says_what_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _with_instance(monkeypatch, _instance())
    detail = readiness_named.rds_instance_available(INPUTS, "secondary", "ledger-db",  # type: ignore[arg-type]
                                                    "read replica").require().render()
    assert asked == [("us-west-2", "ledger-db")]
    assert "ledger-db (us-west-2): available, replica, replicating from arn:writer" in detail


@pytest.mark.parametrize(("fact", "db_role", "expected"), [
    (None, None, "RDS instance not found; region=us-west-2; resource=ledger-db"),
    (_instance(status="modifying"), None, "not available; region=us-west-2; resource=ledger-db"
                                          "; expected=available; observed=modifying"),
    (_instance(source=None), "read replica", "is not a read replica"),
    (_instance(), "writer", "is not a writer"),
])
def test_a_named_instance_fails_naming_what_it_saw(monkeypatch: pytest.MonkeyPatch,
                                                   fact: DbInstanceFact | None,
                                                   db_role: str | None, expected: str) -> None:
    _with_instance(monkeypatch, fact)
    with pytest.raises(CheckFailed, match=expected.replace("(", r"\(")) as raised:
        readiness_named.rds_instance_available(INPUTS, "secondary", "ledger-db",  # type: ignore[arg-type]
                                               db_role).require()
    assert raised.value.region == "us-west-2"  # the declared-outage rule reads it


def test_an_unknown_region_role_fails() -> None:
    with pytest.raises(CheckFailed, match="unknown region role 'tertiary'"):
        readiness_named.rds_instance_available(INPUTS, "tertiary", "x")  # type: ignore[arg-type]


def _deployments(monkeypatch: pytest.MonkeyPatch, ready: int) -> None:
    def deployments(handle: SimpleNamespace, namespace: str) -> tuple[DeploymentFact, ...]:
        return (DeploymentFact(namespace=namespace, name="ledger-service", desired=2,
                               ready=ready, available=ready),)
    monkeypatch.setattr(readiness_named.kube, "deployments", deployments)


def test_a_named_deployment_with_enough_ready_replicas_passes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _deployments(monkeypatch, ready=2)
    detail = readiness_named.deployment_ready(INPUTS, "primary", "ledger",  # type: ignore[arg-type]
                                              "ledger-service", 2).require().render()
    assert detail == "deployment ledger/ledger-service: ready 2/2, available 2 (us-east-1)"


def test_a_named_deployment_short_of_replicas_or_missing_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _deployments(monkeypatch, ready=0)
    with pytest.raises(CheckFailed, match="too few ready replicas; region=us-west-2; "
                                          "resource=ledger/ledger-service"):
        readiness_named.deployment_ready(INPUTS, "secondary", "ledger",  # type: ignore[arg-type]
                                         "ledger-service", 1).require()
    assert readiness_named.deployment_ready(INPUTS, "secondary", "ledger",  # type: ignore[arg-type]
                                            "ledger-service", 0).ok
    with pytest.raises(CheckFailed, match="deployment not found; region=us-west-2; "
                                          "resource=ledger/billing"):
        readiness_named.deployment_ready(INPUTS, "secondary", "ledger", "billing",  # type: ignore[arg-type]
                                         0).require()
