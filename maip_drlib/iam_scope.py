"""IAM policies and Kubernetes RBAC scoped to one topology's resources (``docs/iam.md``).

``policy_document(operations, policy, scope)`` turns the recorded actions of one policy
(``operations.json``, made by ``maip_drlib.iam_policies``) into statements, one per ``Grant``:
each action is granted on the resources of ``scope`` (a ``PolicyScope``: the topology, the
account, the game day's operations) that it touches, every ARN in one of the two regions;
``Resource: "*"`` is left to ``UNSCOPED_ACTIONS`` alone (the Service Authorization Reference
lists no resource type for them), limited to the two regions by ``aws:RequestedRegion`` on
regional services, ``cloudwatch:PutMetricData`` also by ``cloudwatch:namespace``.
``route53:ChangeResourceRecordSets`` is limited by the record's name (the hosted zone's id is
known only at run time: ``hostedzone/*`` unless ``hosted_zone_id`` is given).
``rbac_document`` writes a namespaced Role per use for the services' namespace and a
ClusterRole only for cluster-scoped resources.

Not supported: partitions other than ``aws``; ECR repositories by name (the images are
discovered from the deployments, possibly in another account: any repository of the two
regions); ``kms:*`` or ``iam:PassRole`` behind a call; proving the scoping against AWS (the
simulation checks actions only, so the tests check the documents' structure and the planned
calls' resources).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maip_drlib.config import Topology
from maip_drlib.drill.operations import Operations
from maip_drlib.metrics_publish import DEFAULT_NAMESPACE
from maip_drlib.readiness import DEFAULT_REQUIRED_SECRETS

DEFAULT_NAMESPACE_K8S = Topology().namespace
RBAC_GROUPS = {"readonly": "maip-dr-readonly", "drill-operator": "maip-dr-drill-operator"}

PLACEHOLDER_ACCOUNT = "ACCOUNT_ID"
PLACEHOLDER_BUCKET = "EVIDENCE_BUCKET"
DEFAULT_S3_PREFIX = Operations.__dataclass_fields__["s3_prefix"].default
DEFAULT_DATABASE_SECRET = DEFAULT_REQUIRED_SECRETS[0]
FINAL_SNAPSHOT_PATTERN = "-failback-*"  # failback 4: "<instance>-failback-<drill id>"
SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"


@dataclass(frozen=True)
class PolicyScope:
    """What the policies name: the topology's resources, the account, and the options of the
    game day's operations. Placeholders (``ACCOUNT_ID``, ``EVIDENCE_BUCKET``) stay in the
    documents until given; ``hosted_zone_id`` None grants ``hostedzone/*`` and relies on the
    record-name condition of ``route53:ChangeResourceRecordSets``."""

    topology: Topology = field(default_factory=Topology)
    account: str = PLACEHOLDER_ACCOUNT
    hosted_zone_id: str | None = None
    s3_bucket: str = PLACEHOLDER_BUCKET
    s3_prefix: str = DEFAULT_S3_PREFIX
    metrics_namespace: str = DEFAULT_NAMESPACE
    # (region, secret id or ARN) of the database access; empty: the runbook's name everywhere.
    database_secrets: tuple[tuple[str, str], ...] = ()
    required_secrets: tuple[str, ...] = DEFAULT_REQUIRED_SECRETS

    @property
    def regions(self) -> tuple[str, str]:
        return (self.topology.primary.region, self.topology.secondary.region)

    def placeholders(self) -> list[str]:
        return [p for p, v in ((PLACEHOLDER_ACCOUNT, self.account),
                               (PLACEHOLDER_BUCKET, self.s3_bucket)) if p == v]

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"

    def in_regions(self, service: str, resource: str) -> list[str]:
        return [self.arn(service, region, resource) for region in self.regions]


_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}\Z")
_SECRET = re.compile(r"^[A-Za-z0-9/_+=.@:-]{1,2048}\Z")
_RECORD = re.compile(r"^[A-Za-z0-9._-]{1,253}\.?\Z")
_K8S_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


def check_names(scope: PolicyScope) -> tuple[str, str] | None:
    """(config key, message) of the first name that cannot go into an ARN or the RBAC as
    given: a wildcard (``*``, ``?``) or an unexpected character would widen the grant."""
    topology = scope.topology
    names: list[tuple[str, str, re.Pattern[str]]] = [
        (f"topology.{side}.{key}", getattr(getattr(topology, side), key), _NAME)
        for side in ("primary", "secondary") for key in ("rds_instance", "eks_cluster",
                                                          "nodegroup")]
    names += [(f"topology.{key}", getattr(topology, key), _NAME)
              for key in ("failback_replica", "dynamodb_table", "canary_table", "lease_table")]
    names += [("topology.record_name", topology.record_name, _RECORD),
              ("topology.namespace", topology.namespace, _K8S_NAMESPACE)]
    names += [(f"database.secret_ids.{region}", secret, _SECRET)
              for region, secret in scope.database_secrets]
    for key, value, pattern in names:
        if not pattern.match(value):
            return key, (f"{value!r} cannot be scoped in a policy (wildcards and unexpected "
                         "characters would widen the grant)")
    return None


def _instances(scope: PolicyScope) -> list[tuple[str, str]]:
    """(region, name) of each candidate instance: the writer's name lives in the primary
    region, the replica's in DR, the failback replica's in the primary (DESIGN.md section 3);
    the roles move between them, the names and regions do not."""
    topology = scope.topology
    return [(topology.primary.region, topology.primary.rds_instance),
            (topology.secondary.region, topology.secondary.rds_instance),
            (topology.primary.region, topology.failback_replica)]


def _db(scope: PolicyScope) -> list[str]:
    return [scope.arn("rds", region, f"db:{name}") for region, name in _instances(scope)]


def _snapshots(scope: PolicyScope) -> list[str]:
    return [scope.arn("rds", region, f"snapshot:{name}{FINAL_SNAPSHOT_PATTERN}")
            for region, name in _instances(scope)]


def _tables(*names: Callable[[Topology], str],
            dr_only: bool = False) -> Callable[[PolicyScope], list[str]]:
    def arns(scope: PolicyScope) -> list[str]:
        regions = scope.regions[1:] if dr_only else scope.regions
        return [scope.arn("dynamodb", region, f"table/{name(scope.topology)}")
                for name in names for region in regions]
    return arns


def _lease_and(*names: Callable[[Topology], str]) -> Callable[[PolicyScope], list[str]]:
    """The lease table lives in the DR region only (drill/lease.py); the others in both."""
    return lambda scope: _tables(*names)(scope) + _tables(_LEASE, dr_only=True)(scope)


def _eks(scope: PolicyScope) -> list[str]:
    sides = (scope.topology.primary, scope.topology.secondary)
    return ([scope.arn("eks", s.region, f"cluster/{s.eks_cluster}") for s in sides]
            + [scope.arn("eks", s.region, f"nodegroup/{s.eks_cluster}/{s.nodegroup}/*")
               for s in sides])


def _msk(scope: PolicyScope) -> list[str]:
    """Both MSK clusters and the replicator (DescribeReplicator, GetBootstrapBrokers)."""
    t = scope.topology
    return [*_kafka_clusters(scope),
            scope.arn("kafka", t.secondary.region,
                      f"replicator/*{t.replicator_name_contains}*/*")]


def _kafka_clusters(scope: PolicyScope) -> list[str]:
    """Both MSK clusters (kafka-cluster:Connect under IAM auth)."""
    t = scope.topology
    return [scope.arn("kafka", t.primary.region, f"cluster/{t.primary.msk_cluster}/*"),
            scope.arn("kafka", t.secondary.region, f"cluster/{t.secondary.msk_cluster}/*")]


def _canary_topics(scope: PolicyScope, *, primary_only: bool = False) -> list[str]:
    """The canary topic on the primary cluster and its replicated copy in DR (named
    ``<alias>.<topic>`` or as the source: ``*<topic>``)."""
    t = scope.topology
    topics = [scope.arn("kafka", t.primary.region,
                        f"topic/{t.primary.msk_cluster}/*/{t.canary_topic}")]
    if not primary_only:
        topics.append(scope.arn("kafka", t.secondary.region,
                                f"topic/{t.secondary.msk_cluster}/*/*{t.canary_topic}"))
    return topics


def _described_topics(scope: PolicyScope) -> list[str]:
    """The canary topics, and the replicated business topic in DR (failover 5 reads its end
    offset: ListOffsets needs DescribeTopic, and so does the group's OffsetFetch)."""
    t = scope.topology
    return [*_canary_topics(scope),
            scope.arn("kafka", t.secondary.region,
                      f"topic/{t.secondary.msk_cluster}/*/*{t.business_topic}")]


def _consumer_group(scope: PolicyScope) -> list[str]:
    """The business consumer group in DR (failover 5 reads its synced offsets)."""
    t = scope.topology
    return [scope.arn("kafka", t.secondary.region,
                      f"group/{t.secondary.msk_cluster}/*/{t.consumer_group}")]


def _dr_nodegroup(scope: PolicyScope) -> list[str]:
    dr = scope.topology.secondary
    return [scope.arn("eks", dr.region, f"nodegroup/{dr.eks_cluster}/{dr.nodegroup}/*")]


def _zone(scope: PolicyScope) -> list[str]:
    return [f"arn:aws:route53:::hostedzone/{scope.hosted_zone_id or '*'}"]


def _secret_arns(scope: PolicyScope, named: Iterable[tuple[str, str]]) -> list[str]:
    """A name matches its ARN with the 6-character suffix Secrets Manager adds."""
    return [name if name.startswith("arn:") else scope.arn("secretsmanager", region,
                                                            f"secret:{name}-??????")
            for region, name in named]


def _required_secrets(scope: PolicyScope) -> list[str]:
    return _secret_arns(scope, [(r, n) for n in scope.required_secrets for r in scope.regions])


def _database_secrets(scope: PolicyScope) -> list[str]:
    named = scope.database_secrets or tuple((r, DEFAULT_DATABASE_SECRET) for r in scope.regions)
    return _secret_arns(scope, named)


def _evidence_objects(scope: PolicyScope) -> str:
    prefix = scope.s3_prefix.strip("/")
    return f"arn:aws:s3:::{scope.s3_bucket}/{prefix + '/' if prefix else ''}*"


def _record_names(scope: PolicyScope) -> dict[str, Any]:
    name = scope.topology.record_name.rstrip(".").lower()
    return {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [name]}}


@dataclass(frozen=True)
class Grant:
    """One statement: its resources (None: ``*``, only for ``UNSCOPED_ACTIONS``), whether its
    service is regional (a ``*`` statement of a regional service is limited to the two
    regions by ``aws:RequestedRegion``; an ARN names its region itself), and a condition."""

    sid: str
    resources: Callable[[PolicyScope], list[str]] | None = None
    regional: bool = True
    condition: Callable[[PolicyScope], dict[str, Any]] | None = None


_BUSINESS, _CANARY, _LEASE = ((lambda t: t.dynamodb_table), (lambda t: t.canary_table),
                              (lambda t: t.lease_table))
GRANTS: tuple[Grant, ...] = (
    Grant("MaipDrAccountLevelReads"),
    Grant("MaipDrGlobalReads", regional=False),
    Grant("MaipDrPublishMetrics", condition=lambda s: {
        "StringEquals": {"cloudwatch:namespace": s.metrics_namespace}}),
    Grant("MaipDrDescribeDatabases", lambda s: s.in_regions("rds", "db:*")),
    Grant("MaipDrDatabaseInstances", lambda s: _db(s) + _snapshots(s)),
    Grant("MaipDrTagFinalSnapshot", _snapshots),
    Grant("MaipDrReadTables", _lease_and(_BUSINESS, _CANARY)),
    Grant("MaipDrCanaries", _tables(_CANARY)),
    Grant("MaipDrCanariesAndLease", _lease_and(_CANARY)),
    Grant("MaipDrLease", _tables(_LEASE, dr_only=True)),
    Grant("MaipDrReadClusters", _eks),
    Grant("MaipDrScaleDrNodegroup", _dr_nodegroup),
    Grant("MaipDrKafkaClusters", _msk),
    Grant("MaipDrKafkaClusterAccess", _kafka_clusters),
    Grant("MaipDrKafkaDescribeTopics", _described_topics),
    Grant("MaipDrKafkaCanaryTopics", _canary_topics),
    Grant("MaipDrKafkaWriteCanaries", lambda s: _canary_topics(s, primary_only=True)),
    Grant("MaipDrKafkaConsumerGroup", _consumer_group),
    Grant("MaipDrRegistryImages", lambda s: [f"arn:aws:ecr:{r}:*:repository/*"
                                             for r in s.regions]),
    Grant("MaipDrReadDns", lambda s: [*_zone(s), "arn:aws:route53:::change/*",
                                      "arn:aws:route53:::healthcheck/*"], regional=False),
    Grant("MaipDrChangeRecord", _zone, regional=False, condition=_record_names),
    Grant("MaipDrDescribeSecrets", _required_secrets),
    Grant("MaipDrReadDatabaseSecrets", _database_secrets),
    Grant("MaipDrUploadEvidence", lambda s: [_evidence_objects(s)], regional=False),
)
# Actions the Service Authorization Reference lists with no resource type: "*" is the only
# resource they take (the page of the service's actions says so per row).
UNSCOPED_ACTIONS: dict[str, str] = {
    "cloudwatch:GetMetricStatistics": SAR + "list_amazoncloudwatch.html",
    "cloudwatch:PutMetricData": SAR + "list_amazoncloudwatch.html (cloudwatch:namespace)",
    "ec2:DescribeInstanceTypes": SAR + "list_amazonec2.html",
    "ec2:DescribeSubnets": SAR + "list_amazonec2.html",
    "elasticloadbalancing:DescribeLoadBalancers": SAR + "list_elasticloadbalancingv2.html",
    "elasticloadbalancing:DescribeTargetGroups": SAR + "list_elasticloadbalancingv2.html",
    "elasticloadbalancing:DescribeTargetHealth": SAR + "list_elasticloadbalancingv2.html",
    "kafka:ListClustersV2": SAR + "list_amazonmanagedstreamingforapachekafka.html",
    "kafka:ListReplicators": SAR + "list_amazonmanagedstreamingforapachekafka.html",
    "route53:ListHostedZonesByName": SAR + "list_amazonroute53.html",
    "servicequotas:GetServiceQuota": SAR + "list_servicequotas.html",
    "sts:GetCallerIdentity": SAR + "list_awssecuritytokenservice.html (needs no permission)",
}
ACTION_GRANTS: dict[str, str] = {
    **{action: "MaipDrAccountLevelReads" for action in UNSCOPED_ACTIONS},
    "route53:ListHostedZonesByName": "MaipDrGlobalReads",
    "sts:GetCallerIdentity": "MaipDrGlobalReads",
    "cloudwatch:PutMetricData": "MaipDrPublishMetrics",
    "rds:DescribeDBInstances": "MaipDrDescribeDatabases",  # a filtered call: db:*
    "rds:PromoteReadReplica": "MaipDrDatabaseInstances",
    "rds:StopDBInstance": "MaipDrDatabaseInstances",
    "rds:DeleteDBInstance": "MaipDrDatabaseInstances",
    "rds:CreateDBInstanceReadReplica": "MaipDrDatabaseInstances",  # the source's ARN too
    "rds:CreateDBSnapshot": "MaipDrDatabaseInstances",  # the instance's and the snapshot's
    "rds:AddTagsToResource": "MaipDrTagFinalSnapshot",
    "dynamodb:DescribeTable": "MaipDrReadTables",
    "dynamodb:Query": "MaipDrCanaries",
    "dynamodb:PutItem": "MaipDrCanariesAndLease",
    "dynamodb:GetItem": "MaipDrLease",
    "dynamodb:UpdateItem": "MaipDrLease",
    "dynamodb:DeleteItem": "MaipDrLease",
    "eks:DescribeCluster": "MaipDrReadClusters",
    "eks:DescribeNodegroup": "MaipDrReadClusters",
    "eks:DescribeUpdate": "MaipDrReadClusters",
    "eks:ListUpdates": "MaipDrReadClusters",
    "eks:UpdateNodegroupConfig": "MaipDrScaleDrNodegroup",
    "kafka:DescribeReplicator": "MaipDrKafkaClusters",
    "kafka:GetBootstrapBrokers": "MaipDrKafkaClusters",
    "kafka-cluster:Connect": "MaipDrKafkaClusterAccess",
    "kafka-cluster:DescribeTopic": "MaipDrKafkaDescribeTopics",
    "kafka-cluster:DescribeGroup": "MaipDrKafkaConsumerGroup",
    "kafka-cluster:ReadData": "MaipDrKafkaCanaryTopics",
    "kafka-cluster:CreateTopic": "MaipDrKafkaWriteCanaries",
    "kafka-cluster:WriteData": "MaipDrKafkaWriteCanaries",
    "ecr:DescribeImages": "MaipDrRegistryImages",
    "route53:ListResourceRecordSets": "MaipDrReadDns",
    "route53:GetChange": "MaipDrReadDns",
    "route53:GetHealthCheckStatus": "MaipDrReadDns",
    "route53:ChangeResourceRecordSets": "MaipDrChangeRecord",
    "secretsmanager:DescribeSecret": "MaipDrDescribeSecrets",
    "secretsmanager:GetSecretValue": "MaipDrReadDatabaseSecrets",
    "s3:PutObject": "MaipDrUploadEvidence",
}


def policy_document(operations: Mapping[str, Any], policy: str,
                    scope: PolicyScope | None = None) -> dict[str, Any]:
    """The IAM policy ``policy`` (a key of ``POLICY_FILES``) scoped to ``scope`` (default: the
    runbook's topology with placeholders); ValueError for an action without a grant."""
    scope = scope or PolicyScope()
    actions = {row["action"] for row in operations["aws"] if policy in row["policies"]}
    unknown = sorted(actions - ACTION_GRANTS.keys())
    if unknown:
        raise ValueError(f"no resource scope decided for {', '.join(unknown)}: add it to "
                         "maip_drlib.iam_policies.ACTION_GRANTS (and to UNSCOPED_ACTIONS only "
                         "if AWS lists no resource type for it)")
    statements = []
    for grant in GRANTS:
        granted = sorted(a for a in actions if ACTION_GRANTS[a] == grant.sid)
        if not granted:
            continue
        statement: dict[str, Any] = {"Sid": grant.sid, "Effect": "Allow", "Action": granted,
                                     "Resource": "*"}
        if grant.resources is not None:
            statement["Resource"] = list(dict.fromkeys(grant.resources(scope)))
        condition = dict(grant.condition(scope)) if grant.condition else {}
        if grant.regional and grant.resources is None:  # an ARN names its region already
            condition.setdefault("StringEquals", {})
            condition["StringEquals"] = {**condition["StringEquals"],
                                         "aws:RequestedRegion": list(scope.regions)}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def rbac_document(operations: Mapping[str, Any], namespace: str = DEFAULT_NAMESPACE_K8S) -> str:
    """``k8s-rbac.yaml``: per use, a Role (and RoleBinding) in ``namespace`` for namespaced
    resources and a ClusterRole (and ClusterRoleBinding) for cluster-scoped ones (nodes)."""
    lines = ["# Generated by `python -m maip_drlib.iam_policies regenerate` (or `maip-dr iam",
             "# policies`) from recorded Kubernetes requests. Roles in the services' namespace",
             f"# ({namespace}): the suite lists and scales deployments there and nowhere else;",
             "# ClusterRoles only for cluster-scoped resources (nodes). Bind the groups to the",
             "# runner's IAM principals (EKS access entries or the aws-auth ConfigMap), in both",
             "# clusters."]
    api = "rbac.authorization.k8s.io"
    for use, group in RBAC_GROUPS.items():
        for scope, kind, suffix in (("namespace", "Role", ""),
                                    ("cluster", "ClusterRole", "-nodes")):
            rules: dict[tuple[str, str], set[str]] = {}
            for row in operations["kube"]:
                if use in row["roles"] and row.get("scope", "cluster") == scope:
                    rules.setdefault((row["group"], row["resource"]), set()).add(row["verb"])
            if not rules:
                continue
            name = f"maip-dr-{use}{suffix}"
            meta = ["metadata:", f"  name: {name}"]
            if kind == "Role":
                meta.append(f"  namespace: {namespace}")
            lines += ["---", f"apiVersion: {api}/v1", f"kind: {kind}", *meta, "rules:"]
            for (api_group, resource), verbs in sorted(rules.items()):
                lines += [f"  - apiGroups: [{json.dumps(api_group)}]",
                          f"    resources: [{json.dumps(resource)}]",
                          f"    verbs: [{', '.join(json.dumps(v) for v in sorted(verbs))}]"]
            lines += ["---", f"apiVersion: {api}/v1", f"kind: {kind}Binding", *meta,
                      "roleRef:", f"  apiGroup: {api}", f"  kind: {kind}", f"  name: {name}",
                      "subjects:", f"  - apiGroup: {api}", "    kind: Group", f"    name: {group}"]
    return "\n".join(lines) + "\n"
