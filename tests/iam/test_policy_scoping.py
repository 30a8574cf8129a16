"""The policies are scoped to the topology's resources (structure; moto checks actions only).

Every ``Resource: "*"`` statement holds only actions AWS authorizes on no resource; the
documents rendered for a custom topology name its instances, tables, clusters, node groups,
secrets, bucket, record and namespace, never the runbook's defaults; the RBAC grants nothing
on deployments outside the services' namespace; ``dynamodb:GetItem`` (``lease show``) is in
the read-only and the operator's policies, on the lease table alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from maip_drlib.config import Topology
from maip_drlib.config_loader import load_config
from maip_drlib.iam_policies import (
    POLICY_FILES,
    RBAC_FILE,
    Recording,
    load_operations,
    operations_document,
    render_policies,
)
from maip_drlib.iam_scope import (
    ACTION_GRANTS,
    GRANTS,
    UNSCOPED_ACTIONS,
    PolicyScope,
    check_names,
)
from maip_drlib.permissions import (
    DATABASE_SECRETS_POLICY,
    METRICS_POLICY,
    OPERATOR_POLICY,
    POLICY_DIR,
    READONLY_POLICY,
    is_mutating_action,
)

pytestmark = pytest.mark.unit

CUSTOM_CONFIG = Path(__file__).with_name("custom_topology.toml")
ACCOUNT = "111122223333"
REGIONS = ["us-east-1", "us-west-2"]
# Names of the runbook's topology that a custom topology's documents must not carry.
DEFAULT_NAMES = ("maip-prod-postgres", "maip-prod-merchant-analytics", "maip-dr-canaries",
                 "maip-dr-drill-lease", "maip-prod-eks-cluster", "maip-prod-dr-eks-cluster",
                 "maip-prod-nodegroup", "maip-prod-dr-nodegroup", "maip-services",
                 "api.maip.example.com", "ACCOUNT_ID", "EVIDENCE_BUCKET")


def custom_scope() -> PolicyScope:
    config = load_config(CUSTOM_CONFIG)
    database = config.target("prod").database
    assert database is not None
    return PolicyScope(topology=config.topology, account=ACCOUNT, s3_bucket="pay-evidence",
                       s3_prefix="game-days", metrics_namespace="PAY/DR",
                       hosted_zone_id="Z0PAY12345", database_secrets=database.secret_ids)


def statements(text: str) -> list[dict[str, Any]]:
    return json.loads(text)["Statement"]


def matches(pattern: str, value: str) -> bool:
    """IAM's ARN matching: ``*`` any run of characters, ``?`` one; case-sensitive."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value) is not None


def granted(document: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(action in s["Action"] and (s["Resource"] == "*" or any(
        matches(p, arn) for p in s["Resource"])) for s in document)


@pytest.fixture(scope="module")
def default_files() -> dict[str, str]:
    return {name: (POLICY_DIR / name).read_text(encoding="utf-8")
            for name in (*POLICY_FILES.values(), RBAC_FILE)}


@pytest.fixture(scope="module")
def custom_files() -> dict[str, str]:
    return render_policies(load_operations(), custom_scope())


# -- IAM ---------------------------------------------------------------------------------------


def test_star_resources_hold_only_actions_that_take_no_resource(
        default_files: dict[str, str], custom_files: dict[str, str]) -> None:
    for files in (default_files, custom_files):
        for name in POLICY_FILES.values():
            for statement in statements(files[name]):
                if statement["Resource"] == "*":
                    scoped = sorted(set(statement["Action"]) - UNSCOPED_ACTIONS.keys())
                    assert not scoped, f"{name} {statement['Sid']}: {scoped} on '*'"
                else:
                    assert all(arn.startswith("arn:aws:") for arn in statement["Resource"])
    # the allow-list is the reference's: every entry cites its page, and the one write
    # among them is narrowed by its condition key
    assert all(ref.startswith("https://docs.aws.amazon.com/service-authorization/")
               for ref in UNSCOPED_ACTIONS.values())
    writes = [a for a in UNSCOPED_ACTIONS if is_mutating_action(a)]
    assert writes == ["cloudwatch:PutMetricData"]
    (publish,) = [s for s in statements(custom_files[OPERATOR_POLICY])
                  if "cloudwatch:PutMetricData" in s["Action"]]
    assert publish["Condition"]["StringEquals"]["cloudwatch:namespace"] == "PAY/DR"


def test_every_recorded_action_has_a_decided_scope_and_statements_are_regional() -> None:
    actions = {row["action"] for row in load_operations()["aws"]}
    assert actions <= ACTION_GRANTS.keys()
    assert {ACTION_GRANTS[a] for a in actions} <= {g.sid for g in GRANTS}
    for name in POLICY_FILES.values():
        for statement in statements((POLICY_DIR / name).read_text(encoding="utf-8")):
            if statement["Resource"] == "*":
                global_only = all(a.startswith(("route53:", "sts:"))
                                  for a in statement["Action"])
                regions = statement.get("Condition", {}).get("StringEquals", {}).get(
                    "aws:RequestedRegion")
                assert global_only or regions == REGIONS, statement["Sid"]
            else:
                for arn in statement["Resource"]:
                    region = arn.split(":")[3]
                    assert region in ("", *REGIONS), arn  # "": global (Route 53, S3)


def test_custom_topology_names_its_resources_and_never_the_defaults(
        custom_files: dict[str, str]) -> None:
    text = "".join(custom_files[name] for name in POLICY_FILES.values())
    for default in DEFAULT_NAMES:
        assert default not in text, default
    operator = statements(custom_files[OPERATOR_POLICY])
    east, west = (f"arn:aws:rds:{r}:{ACCOUNT}:db:" for r in REGIONS)
    assert granted(operator, "rds:PromoteReadReplica", west + "pay-db-replica")
    assert granted(operator, "rds:StopDBInstance", east + "pay-db")
    assert granted(operator, "rds:CreateDBInstanceReadReplica", east + "pay-db-new")
    assert not granted(operator, "rds:DeleteDBInstance", west + "someone-elses-db")
    assert granted(operator, "rds:CreateDBSnapshot",
                   f"arn:aws:rds:us-west-2:{ACCOUNT}:snapshot:pay-db-replica-failback-2026")
    assert not granted(operator, "rds:CreateDBSnapshot",
                       f"arn:aws:rds:us-west-2:{ACCOUNT}:snapshot:other")
    table = f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/"
    assert granted(operator, "dynamodb:PutItem", table + "pay-dr-canaries")
    assert granted(operator, "dynamodb:UpdateItem", table + "pay-dr-lease")
    assert not granted(operator, "dynamodb:UpdateItem", table + "pay-dr-canaries")
    for write in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert not granted(operator, write, table + "pay-merchants"), write  # business data
    assert granted(operator, "dynamodb:DescribeTable", table + "pay-merchants")
    nodegroup = f"arn:aws:eks:us-west-2:{ACCOUNT}:nodegroup/pay-dr-eks/pay-dr-ng/0a1b"
    assert granted(operator, "eks:UpdateNodegroupConfig", nodegroup)
    assert not granted(operator, "eks:UpdateNodegroupConfig",
                       f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/pay-eks/pay-ng/0a1b")
    assert granted(operator, "route53:ChangeResourceRecordSets",
                   "arn:aws:route53:::hostedzone/Z0PAY12345")
    assert not granted(operator, "route53:ChangeResourceRecordSets",
                       "arn:aws:route53:::hostedzone/ZOTHER")
    (change,) = [s for s in operator if "route53:ChangeResourceRecordSets" in s["Action"]]
    assert change["Condition"] == {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["api.pay.example.org"]}}
    assert granted(operator, "secretsmanager:GetSecretValue",
                   f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:pay/db-dr-AbC123")
    for other in ("pay/db-AbC123", "maip/prod/db-credentials-AbC123"):
        assert not granted(operator, "secretsmanager:GetSecretValue",
                           f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:{other}")
    assert granted(operator, "s3:PutObject", "arn:aws:s3:::pay-evidence/game-days/d1/x.json")
    assert not granted(operator, "s3:PutObject", "arn:aws:s3:::pay-evidence/other/x.json")
    secrets_reader = statements(custom_files[DATABASE_SECRETS_POLICY])
    assert granted(secrets_reader, "secretsmanager:GetSecretValue",
                   f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:pay/db-AbC123")


def test_get_item_is_in_the_read_only_and_operator_policies_on_the_lease_table_only(
        default_files: dict[str, str]) -> None:
    lease = "arn:aws:dynamodb:us-west-2:ACCOUNT_ID:table/maip-dr-drill-lease"
    for name in (READONLY_POLICY, OPERATOR_POLICY):
        document = statements(default_files[name])
        assert granted(document, "dynamodb:GetItem", lease), name
        assert not granted(document, "dynamodb:GetItem",
                           "arn:aws:dynamodb:us-west-2:ACCOUNT_ID:table/"
                           "maip-prod-merchant-analytics"), name
    for name in (METRICS_POLICY, DATABASE_SECRETS_POLICY):
        assert "dynamodb:GetItem" not in default_files[name]
    row = next(r for r in load_operations()["aws"] if r["action"] == "dynamodb:GetItem")
    assert row["policies"] == ["drill-operator", "readonly"] and "readonly" in row["used_by"]


def test_policies_fit_the_managed_policy_size_limit(
        default_files: dict[str, str], custom_files: dict[str, str]) -> None:
    """IAM counts a managed policy's characters without whitespace: at most 6,144."""
    for files in (default_files, custom_files):
        for name in POLICY_FILES.values():
            assert len(re.sub(r"\s", "", files[name])) <= 6144, name


@pytest.mark.parametrize(("change", "key"), [
    ({"namespace": "*"}, "topology.namespace"),
    ({"dynamodb_table": "pay-*"}, "topology.dynamodb_table"),
    ({"record_name": "*.pay.example.org"}, "topology.record_name"),
])
def test_a_name_that_would_widen_the_grant_is_refused(change: dict[str, str], key: str) -> None:
    scope = PolicyScope(topology=replace(Topology(), **change))
    problem = check_names(scope)
    assert problem is not None and problem[0] == key
    primary = replace(Topology().primary, rds_instance="db?")
    assert check_names(PolicyScope(topology=replace(Topology(), primary=primary))) == (
        "topology.primary.rds_instance", "'db?' cannot be scoped in a policy (wildcards and "
        "unexpected characters would widen the grant)")
    assert check_names(PolicyScope()) is None


# -- Kubernetes RBAC ---------------------------------------------------------------------------


def rbac_objects(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("which", ["default", "custom"])
def test_rbac_grants_no_verb_on_deployments_outside_the_namespace(
        which: str, default_files: dict[str, str], custom_files: dict[str, str]) -> None:
    namespace = {"default": "maip-services", "custom": "payments-prod"}[which]
    objects = rbac_objects({"default": default_files, "custom": custom_files}[which][RBAC_FILE])
    kinds = {d["kind"] for d in objects}
    assert kinds == {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    for document in objects:
        if document["kind"] == "ClusterRole":  # cluster-scoped resources only, read-only
            assert {(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"]))
                    for r in document["rules"]} == {(("",), ("nodes",), ("list",))}
        elif document["kind"] in ("Role", "RoleBinding"):
            assert document["metadata"]["namespace"] == namespace
        if document["kind"] == "RoleBinding":
            assert document["roleRef"]["kind"] == "Role"
        if document["kind"] == "ClusterRoleBinding":
            assert document["roleRef"]["name"].endswith("-nodes")
    scale = [d for d in objects if any("deployments/scale" in r["resources"]
                                       for r in d.get("rules", []))]
    assert [(d["kind"], d["metadata"]["name"]) for d in scale] == [
        ("Role", "maip-dr-drill-operator")]


def test_regeneration_refuses_a_namespaced_resource_asked_across_all_namespaces() -> None:
    base = [{"kind": "aws", "service": "cloudwatch", "operation": "PutMetricData"},
            {"kind": "aws", "service": "s3", "operation": "PutObject"}]
    namespaced = {"kind": "kube", "group": "apps", "resource": "deployments", "verb": "list",
                  "namespaced": True}
    document = operations_document(Recording(readonly=[namespaced], drill=base))
    (row,) = [r for r in document["kube"] if r["resource"] == "deployments"]
    assert row["scope"] == "namespace"
    with pytest.raises(ValueError, match="'list deployments' across all namespaces"):
        operations_document(Recording(readonly=[{**namespaced, "namespaced": False}],
                                      drill=base))
