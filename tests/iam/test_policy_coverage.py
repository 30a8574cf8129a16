"""The least-privilege policies in ``policies/`` against the calls the suite really makes.

Static half (fast): the policy files, ``operations.json`` and the RBAC roles agree with each
other, the read-only policy and role allow nothing that mutates, publishing metrics is
the separate add-on ``iam-metrics-publisher.json`` (``cloudwatch:PutMetricData`` alone) and
reading the database secrets the add-on ``iam-database-secrets-reader.json``.

Recorded half: ``maip-dr readiness`` and ``maip-dr plan`` (read-only uses) and a whole
``maip-dr gameday`` with metrics and evidence upload on (the session's shared game day,
tests/shared_gameday.py), run against the embedded simulation with
``MAIP_DR_RECORD_AWS_OPERATIONS`` on; every AWS operation and Kubernetes request they made
must be allowed by the policy of its use, so a new call (a lease table, a new probe) fails
here until ``python -m maip_drlib.iam_policies regenerate`` is run and reviewed.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml
from shared_gameday import SharedGameDay

from maip_drlib.aws_operations import aws_operations, kube_permissions
from maip_drlib.iam_policies import (
    KUBE_READ_VERBS,
    OPERATIONS_FILE,
    POLICY_FILES,
    RBAC_FILE,
    REGENERATE_COMMAND,
    Recording,
    every_stage_ran,
    load_operations,
    record_runs,
    render_policies,
)
from maip_drlib.permissions import (
    DATABASE_SECRET_OPERATIONS,
    DATABASE_SECRETS_POLICY,
    IAM_PREFIX,
    KAFKA_DATA_PLANE_POLICY,
    METRICS_POLICY,
    OPERATOR_POLICY,
    POLICY_DIR,
    READONLY_POLICY,
    iam_action,
    is_mutating,
    is_mutating_action,
    load_policy_actions,
)

pytestmark = pytest.mark.gameday

FIX = f"run `{REGENERATE_COMMAND}` and review the diff of policies/"


def operations() -> dict:
    return json.loads((POLICY_DIR / OPERATIONS_FILE).read_text(encoding="utf-8"))


def allows(actions: Iterable[str], action: str) -> bool:
    """IAM's matching: case-insensitive, ``*`` and ``?`` wildcards."""
    for pattern in actions:
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, action, flags=re.IGNORECASE):
            return True
    return False


def rbac_rules() -> dict[str, set[tuple[str, str, str]]]:
    """Role or ClusterRole name -> allowed (group, resource, verb). The Role of a use is
    ``maip-dr-<use>`` (in the services' namespace), its ClusterRole ``maip-dr-<use>-nodes``."""
    roles: dict[str, set[tuple[str, str, str]]] = {}
    for document in yaml.safe_load_all((POLICY_DIR / RBAC_FILE).read_text(encoding="utf-8")):
        if not document or document.get("kind") not in ("Role", "ClusterRole"):
            continue
        allowed = roles.setdefault(document["metadata"]["name"], set())
        for rule in document.get("rules", []):
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        allowed.add((group, resource, verb))
    return roles


def role_allows(rules: set[tuple[str, str, str]], request: tuple[str, str, str]) -> bool:
    group, resource, verb = request
    return any(g in (group, "*") and r in (resource, "*") and v in (verb, "*")
               for g, r, v in rules)


# -- static --------------------------------------------------------------------------------


def test_policy_files_are_exactly_what_operations_json_lists() -> None:
    listed = operations()
    assert set(POLICY_FILES.values()) == {READONLY_POLICY, OPERATOR_POLICY, METRICS_POLICY,
                                          DATABASE_SECRETS_POLICY, KAFKA_DATA_PLANE_POLICY}
    rendered = render_policies(load_operations())  # the default topology's
    assert set(rendered) == {*POLICY_FILES.values(), RBAC_FILE}
    for name, text in rendered.items():
        assert (POLICY_DIR / name).read_text(encoding="utf-8") == text, f"{name} differs: {FIX}"
    for row in listed["aws"]:
        assert row["action"] == iam_action(row["service"], row["operation"])
        assert row["mutating"] == is_mutating(row["service"], row["operation"])
        # Every action is the operator's, but the Kafka data plane's: its own add-on.
        expected = ("kafka-data-plane" if row["service"] == "kafka-cluster"
                    else "drill-operator")
        assert expected in row["policies"], row


def test_readonly_policy_allows_no_mutating_action() -> None:
    readonly = load_policy_actions(POLICY_DIR / READONLY_POLICY)
    assert readonly, "the read-only policy is empty"
    assert not [a for a in readonly if is_mutating_action(a)]
    mutating = {row["action"] for row in operations()["aws"] if row["mutating"]}
    assert mutating, "operations.json lists no mutating action: the drill was not recorded"
    assert not [a for a in mutating if allows(readonly, a)]


def test_publishing_metrics_is_an_add_on_and_the_operator_has_the_operations() -> None:
    """Readiness stays read-only; ``--metrics-namespace`` on a read-only runner needs the
    add-on, whose one action is a write to CloudWatch metrics, never to the platform."""
    publisher = load_policy_actions(POLICY_DIR / METRICS_POLICY)
    readonly = load_policy_actions(POLICY_DIR / READONLY_POLICY)
    operator = load_policy_actions(POLICY_DIR / OPERATOR_POLICY)
    assert publisher == {"cloudwatch:PutMetricData"}
    assert not allows(readonly, "cloudwatch:PutMetricData")
    assert not allows(readonly, "s3:PutObject") and not allows(publisher, "s3:PutObject")
    assert {"cloudwatch:PutMetricData", "s3:PutObject"} <= operator


def test_reading_database_secrets_is_the_operators_never_the_read_only_policys() -> None:
    """The game day's data plane reads the database's credentials (recorded); the read-only
    policy never reads a secret value: readiness with database access gets it from the
    add-on, and a denial says so."""
    from maip_drlib.permissions import _policy_hint

    readonly = load_policy_actions(POLICY_DIR / READONLY_POLICY)
    operator = load_policy_actions(POLICY_DIR / OPERATOR_POLICY)
    secrets_reader = load_policy_actions(POLICY_DIR / DATABASE_SECRETS_POLICY)
    assert "secretsmanager:GetSecretValue" in operator
    assert secrets_reader == {"secretsmanager:GetSecretValue"}
    assert not allows(readonly, "secretsmanager:GetSecretValue")
    hint = _policy_hint("secretsmanager", "GetSecretValue")
    assert OPERATOR_POLICY in hint and DATABASE_SECRETS_POLICY in hint
    assert "docs/iam.md" in hint and "iam_user" in hint


def test_the_kafka_data_plane_is_its_own_add_on() -> None:
    """MSK's Kafka data plane (every kafka-cluster:* action, failover 5's DescribeGroup
    included) is in its add-on only, never ReadData on the business topic, and a denial
    names the add-on; the operator policy stays within IAM's 6,144 characters."""
    from maip_drlib.permissions import _policy_hint

    kafka = load_policy_actions(POLICY_DIR / KAFKA_DATA_PLANE_POLICY)
    assert {"kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData",
            "kafka-cluster:WriteData", "kafka-cluster:CreateTopic",
            "kafka-cluster:DescribeGroup"} == kafka
    for other in (READONLY_POLICY, OPERATOR_POLICY):
        assert not {a for a in load_policy_actions(POLICY_DIR / other)
                    if a.startswith("kafka-cluster:")}, other
    document = json.loads((POLICY_DIR / KAFKA_DATA_PLANE_POLICY).read_text(encoding="utf-8"))
    read_data = [s for s in document["Statement"] if "kafka-cluster:ReadData" in s["Action"]]
    assert read_data and not any("payments" in r for s in read_data for r in s["Resource"])
    assert KAFKA_DATA_PLANE_POLICY in _policy_hint("kafka-cluster", "DescribeGroup")
    operator = json.loads((POLICY_DIR / OPERATOR_POLICY).read_text(encoding="utf-8"))
    assert len(json.dumps(operator, separators=(",", ":"))) <= 6144


def test_rbac_roles_are_what_operations_json_lists_and_readonly_only_reads() -> None:
    roles = rbac_rules()
    assert set(roles) == {"maip-dr-readonly", "maip-dr-drill-operator",
                          "maip-dr-readonly-nodes", "maip-dr-drill-operator-nodes"}
    for role in ("readonly", "drill-operator"):
        for scope, name in (("namespace", f"maip-dr-{role}"),
                            ("cluster", f"maip-dr-{role}-nodes")):
            expected = {(row["group"], row["resource"], row["verb"])
                        for row in operations()["kube"]
                        if role in row["roles"] and row["scope"] == scope}
            assert roles[name] == expected, f"{RBAC_FILE} differs: {FIX}"
    assert {verb for name in ("maip-dr-readonly", "maip-dr-readonly-nodes")
            for *_, verb in roles[name]} <= KUBE_READ_VERBS
    operator = roles["maip-dr-drill-operator"]
    for needed in (("", "pods", "list"), ("", "services", "list"),
                   ("apps", "deployments", "list"),
                   ("autoscaling", "horizontalpodautoscalers", "list"),
                   ("apps", "deployments/scale", "patch")):
        assert role_allows(operator, needed), needed
    assert roles["maip-dr-drill-operator-nodes"] == {("", "nodes", "list")}


# -- recorded ------------------------------------------------------------------------------


_RECORDED: dict[str, Recording | str] = {}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory,
              embedded_gameday: SharedGameDay) -> Recording:
    """One recorded readiness + plan for the module, and the session's shared game day, run
    with the recording and the operations (metrics, upload) on; a failed run is not retried
    for the second test (pytest would run a failing module fixture again)."""
    if "run" not in _RECORDED:
        try:
            if embedded_gameday.returncode not in (0, 1) or not every_stage_ran(
                    embedded_gameday.workdir):
                raise RuntimeError(f"the shared game day did not run every stage: "
                                   f"{embedded_gameday.output}")
            _RECORDED["run"] = record_runs(tmp_path_factory.mktemp("iam-recording"),
                                           time_scale=0.2,
                                           drill_recording=embedded_gameday.drill_recording)
        except RuntimeError as error:
            _RECORDED["run"] = str(error)
    recorded = _RECORDED["run"]
    if isinstance(recorded, str):
        pytest.fail(f"the recorded run failed: {recorded}")
    return recorded


def _missing(operations_seen: set[tuple[str, str]], actions: set[str]) -> list[str]:
    return sorted(iam_action(service, operation) for service, operation in operations_seen
                  if not allows(actions, iam_action(service, operation)))


@pytest.mark.cli
def test_every_recorded_aws_operation_is_allowed_by_the_policy_of_its_use(
        recording: Recording) -> None:
    readonly_seen = aws_operations(recording.readonly)
    drill_seen = aws_operations(recording.drill)
    assert len(readonly_seen) >= 15 and len(drill_seen) >= 20, "the runs recorded too little"
    unknown = sorted({s for s, _ in readonly_seen | drill_seen} - IAM_PREFIX.keys())
    assert not unknown, f"services without a known IAM prefix: {unknown}"
    mutating_reads = sorted(f"{s}:{o}" for s, o in readonly_seen if is_mutating(s, o))
    assert not mutating_reads, f"readiness or plan made mutating calls: {mutating_reads}"
    # the game day's operations ran (drill/operations.py, after the seal)
    assert {("cloudwatch", "PutMetricData"), ("s3", "PutObject")} <= drill_seen
    readonly = load_policy_actions(POLICY_DIR / READONLY_POLICY)
    operator = load_policy_actions(POLICY_DIR / OPERATOR_POLICY)
    secrets_reader = load_policy_actions(POLICY_DIR / DATABASE_SECRETS_POLICY)
    # Reading a database secret is the add-on's, never the read-only policy's.
    plain_reads = readonly_seen - DATABASE_SECRET_OPERATIONS
    assert not _missing(plain_reads, readonly), \
        f"{READONLY_POLICY} lacks {_missing(plain_reads, readonly)}: {FIX}"
    secret_reads = readonly_seen & DATABASE_SECRET_OPERATIONS
    assert not _missing(secret_reads, secrets_reader), \
        f"{DATABASE_SECRETS_POLICY} lacks {_missing(secret_reads, secrets_reader)}: {FIX}"
    missing = _missing(readonly_seen | drill_seen, operator)
    assert not missing, f"{OPERATOR_POLICY} lacks {missing}: {FIX}"
    declared = {row["action"] for row in operations()["aws"] if "declared" in row}
    stale = sorted(operator - declared - {iam_action(s, o) for s, o in readonly_seen | drill_seen})
    if stale:  # a branch this run did not take (not a failure: runs differ)
        warnings.warn(f"not seen in this run, still in {OPERATOR_POLICY}: {stale}",
                      stacklevel=1)


@pytest.mark.cli
def test_every_recorded_kube_request_is_allowed_by_the_role_of_its_use(
        recording: Recording) -> None:
    """A request in a namespace needs the use's Role (the services' namespace), one outside
    any namespace its ClusterRole (nodes only)."""
    roles = rbac_rules()
    readonly_seen = kube_permissions(recording.readonly)
    drill_seen = kube_permissions(recording.drill)
    assert ("", "nodes", "list") in readonly_seen
    assert ("apps", "deployments/scale", "patch") in drill_seen
    missing = []
    for use, records in (("readonly", recording.readonly),
                         ("drill-operator", [*recording.readonly, *recording.drill])):
        for record in records:
            if record.get("kind") != "kube":
                continue
            name = f"maip-dr-{use}" if record["namespaced"] else f"maip-dr-{use}-nodes"
            request = (record["group"], record["resource"], record["verb"])
            if not role_allows(roles[name], request):
                missing.append(f"{name} lacks {request}")
    assert not missing, f"{sorted(set(missing))}: {FIX}"


def test_recording_file_survives_threads_and_is_read_back(tmp_path: Path) -> None:
    import threading

    from maip_drlib.aws_operations import append_record, read_records

    path = tmp_path / "r.jsonl"

    def write(n: int) -> None:
        for i in range(200):
            append_record(path, {"kind": "aws", "service": "rds", "operation": f"Op{n}",
                                 "i": i, "pad": "x" * 200})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    records = read_records([path, tmp_path / "absent.jsonl"])
    assert len(records) == 800
    assert aws_operations(records) == {("rds", f"Op{n}") for n in range(4)}


@pytest.mark.parametrize(("method", "url", "expected"), [
    ("GET", "https://h/api/v1/nodes", ("list", "", "nodes", False)),
    ("GET", "https://h/api/v1/nodes/ip-1", ("get", "", "nodes", False)),
    ("GET", "https://h/api/v1/namespaces/ns/pods?labelSelector=a", ("list", "", "pods", True)),
    ("GET", "https://h/api/v1/namespaces/ns/pods?watch=true", ("watch", "", "pods", True)),
    ("PATCH", "https://h/apis/apps/v1/namespaces/ns/deployments/d/scale",
     ("patch", "apps", "deployments/scale", True)),
    ("GET", "https://h/apis/autoscaling/v2/namespaces/ns/horizontalpodautoscalers",
     ("list", "autoscaling", "horizontalpodautoscalers", True)),
    ("GET", "https://h/api/v1/namespaces/ns", ("get", "", "namespaces", False)),
])
def test_kube_request_urls_map_to_rbac_verbs_and_resources(
        method: str, url: str, expected: tuple[str, str, str, bool]) -> None:
    from maip_drlib.aws_operations import kube_request

    request = kube_request(method, url)
    assert request is not None
    assert (request.verb, request.group, request.resource, request.namespaced) == expected
    assert kube_request("GET", "https://h/version/") is None
