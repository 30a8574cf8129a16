"""The least-privilege policies in ``policies/``, derived from recorded runs and scoped to a
topology's resources (``docs/iam.md``).

``python -m maip_drlib.iam_policies regenerate`` runs, against the embedded simulation and
with ``MAIP_DR_RECORD_AWS_OPERATIONS`` on, ``maip-dr readiness`` and ``maip-dr plan`` (the
read-only uses) and ``maip-dr gameday`` (the drill operator's) with its operations on
(``--metrics-namespace`` and ``--s3-bucket``), then writes ``policies/operations.json`` (every
AWS operation and Kubernetes request seen, its IAM action, whether it mutates, which uses made
it, which policy grants it) and renders from it, for the default topology, the policies:
``iam-readonly.json`` (readiness, plan, ``lease show``), ``iam-drill-operator.json`` (every
action but the Kafka data plane's), the add-ons ``iam-metrics-publisher.json``
(``cloudwatch:PutMetricData``), ``iam-database-secrets-reader.json``
(``secretsmanager:GetSecretValue``) and ``iam-kafka-data-plane.json`` (every
``kafka-cluster:*`` action, for a target with Kafka access, beside either policy), and
``k8s-rbac.yaml``. ``maip-dr iam policies`` renders the same documents with the same function
(``render_policies``) for the user's own topology (``PolicyScope``).

Scoping: every action is granted on the resources of the topology it touches (``GRANTS``:
RDS instances of the candidates and the final snapshots failback 4 makes, the hosted zone,
the three DynamoDB tables in both regions, the EKS clusters and node groups, the secrets,
the evidence bucket's prefix), with ``aws:RequestedRegion`` limited to the two regions on
regional services. ``Resource: "*"`` is left only to the actions in ``UNSCOPED_ACTIONS``,
which the Service Authorization Reference lists with no resource type. The RBAC is a
namespaced ``Role`` per use in the services' namespace and a ``ClusterRole`` only for
cluster-scoped resources (nodes); regeneration fails if the suite requested a namespaced
resource across all namespaces.

``--from RECORDING_DIR`` reuses ``readonly.jsonl`` and ``drill.jsonl`` of an earlier run.
Regeneration fails (exit 2) when a read-only use made a mutating call, when the recorded game
day published no metrics or uploaded nothing, or when an action has no entry in ``GRANTS``.
The embedded simulation has no evidence bucket, so the recorded upload's first ``PutObject``
is answered ``NoSuchBucket``; the recorder sees the call before it is sent.

Calls a passing recorded run never makes are declared in ``DECLARED`` with the reason
(failure paths, ``lease show``, and what AWS checks behind a call of the drill).

Not supported: partitions other than ``aws``; resource scoping proven against AWS (the
simulation checks actions only, see ``docs/iam.md``); ``kms:*`` and ``iam:PassRole`` behind
a call; ECR repositories by name (images are discovered from the deployments).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maip_drlib.aws_operations import ENV_VAR, aws_operations, kube_permissions, read_records
from maip_drlib.iam_scope import PolicyScope, policy_document, rbac_document
from maip_drlib.permissions import (
    DATABASE_SECRET_OPERATIONS,
    DATABASE_SECRETS_POLICY,
    KAFKA_DATA_PLANE_POLICY,
    KAFKA_DATA_PLANE_SERVICE,
    METRICS_OPERATIONS,
    METRICS_POLICY,
    OPERATOR_POLICY,
    POLICY_DIR,
    READONLY_POLICY,
    iam_action,
    is_mutating,
)

OPERATIONS_FILE = "operations.json"
RBAC_FILE = "k8s-rbac.yaml"
READONLY_RECORDING = "readonly.jsonl"
DRILL_RECORDING = "drill.jsonl"
REGENERATE_COMMAND = "python -m maip_drlib.iam_policies regenerate"
KUBE_READ_VERBS = frozenset({"get", "list", "watch"})
# Kubernetes resources without a namespace: only these go to a ClusterRole.
CLUSTER_SCOPED_RESOURCES = frozenset({"nodes", "namespaces", "persistentvolumes",
                                      "storageclasses"})
POLICY_FILES = {"readonly": READONLY_POLICY, "drill-operator": OPERATOR_POLICY,
                "metrics-publisher": METRICS_POLICY,
                "database-secrets-reader": DATABASE_SECRETS_POLICY,
                "kafka-data-plane": KAFKA_DATA_PLANE_POLICY}
# The recorded game day's operations (drill/operations.py): a namespace of its own and a bucket
# the embedded simulation does not have (see the module docstring).
RECORDED_OPERATIONS_ARGS = ("--metrics-namespace", "MAIP/DR-recording",
                            "--s3-bucket", "maip-dr-recording-evidence")

# (kind, group or service, resource or operation, verb or "", use, why): calls a passing
# recorded run does not make.
DECLARED: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("kube", "", "pods", "list", "drill",
     "failover stages 4 and 5 list pods to name why they are not ready (failure path)"),
    ("aws", "dynamodb", "GetItem", "", "readonly",
     "maip-dr lease show and --dr-break-lease read the lease item"),
    ("aws", "rds", "CreateDBSnapshot", "", "drill",
     "AWS checks it behind rds:DeleteDBInstance with a final snapshot (failback 4)"),
    ("aws", "rds", "AddTagsToResource", "", "drill",
     "AWS checks it on the final snapshot behind rds:DeleteDBInstance when the instance "
     "copies its tags to snapshots (failback 4)"),
    ("aws", "dynamodb", "PutItem", "", "drill",
     "maip-dr approve and a drill under --dr-require-approval put the approval items in the "
     "lease table (docs/approval.md)"),
    # MSK's Kafka data plane under IAM auth (docs/rpo.md): the Kafka protocol, not recorded.
    ("aws", "kafka-cluster", "Connect", "", "drill",
     "MSK canaries: the writer connects to the primary cluster, the RPO phase to the DR one"),
    ("aws", "kafka-cluster", "DescribeTopic", "", "drill",
     "MSK canaries: the canary topic and its replicated copy are described"),
    ("aws", "kafka-cluster", "CreateTopic", "", "drill",
     "MSK canaries: the canary topic is created on the primary cluster unless it exists"),
    ("aws", "kafka-cluster", "WriteData", "", "drill",
     "MSK canaries: canary messages to the canary topic on the primary cluster"),
    ("aws", "kafka-cluster", "ReadData", "", "drill",
     "MSK RPO: the replicated canary topic is read in DR"),
    ("aws", "kafka-cluster", "Connect", "", "readonly",
     "readiness compares the canary topic's offsets on both clusters (ListOffsets)"),
    ("aws", "kafka-cluster", "DescribeTopic", "", "readonly",
     "readiness compares the canary topic's offsets on both clusters (ListOffsets)"),
    ("aws", "kafka-cluster", "DescribeGroup", "", "drill",
     "failover 5: the business consumer group's offsets synced to DR (OffsetFetch) and the "
     "replicated business topic's end (ListOffsets, DescribeTopic)"),
)

@dataclass(frozen=True)
class Recording:
    """The recorded calls of the read-only uses and of the drill."""

    readonly: list[dict[str, Any]]
    drill: list[dict[str, Any]]

    @classmethod
    def from_dir(cls, folder: Path) -> Recording:
        return cls(readonly=read_records([folder / READONLY_RECORDING]),
                   drill=read_records([folder / DRILL_RECORDING]))


def record_runs(folder: Path, *, time_scale: float | None = None, timeout_s: float = 600,
                environ: Mapping[str, str] | None = None,
                drill_recording: Path | None = None) -> Recording:
    """Run readiness, plan and a game day on the embedded simulation (``time_scale`` real
    seconds per simulated minute, default the embedded target's), recording every call into
    ``folder``; raises RuntimeError naming the command that failed. ``drill_recording``: the
    recording of a game day already run (with ``RECORDED_OPERATIONS_ARGS`` and
    ``MAIP_DR_RECORD_AWS_OPERATIONS`` on), used instead of running one."""
    executable = str(Path(sys.executable).parent / "maip-dr")
    base = dict(os.environ if environ is None else environ)
    base = {k: v for k, v in base.items() if not k.startswith(("AWS_", "MAIP_DR_"))}
    prefix = [executable]
    if time_scale is not None:
        config = folder / "embedded.toml"
        config.write_text(f'[targets.embedded]\nkind = "embedded"\ntime_scale = {time_scale}\n',
                          encoding="utf-8")
        prefix += ["--config", str(config)]
    runs: tuple[tuple[str, list[str]], ...] = (
        (READONLY_RECORDING, ["readiness"]), (READONLY_RECORDING, ["plan"]))
    if drill_recording is None:
        runs += ((DRILL_RECORDING, ["gameday", "--reports", str(folder / "reports"),
                                    *RECORDED_OPERATIONS_ARGS]),)
    else:
        (folder / DRILL_RECORDING).write_bytes(drill_recording.read_bytes())
    for recording, args in runs:
        env = {**base, ENV_VAR: str(folder / recording)}
        done = subprocess.run([*prefix, *args], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
        if done.returncode != 0 and not (args[0] == "gameday" and every_stage_ran(folder)):
            raise RuntimeError(f"maip-dr {' '.join(args)} exited {done.returncode}: "
                               f"{(done.stdout + done.stderr)[-2000:]}")
    return Recording.from_dir(folder)


def every_stage_ran(folder: Path) -> bool:
    """Whether the game day ran every failover and failback stage to a passed outcome (an
    RTO verdict missed under a loaded machine still recorded every call)."""
    passed = set()
    for path in (folder / "reports").glob("*/attempt-1/results-*.json"):
        if path.name.endswith(".decisions.json"):
            continue
        for row in json.loads(path.read_text(encoding="utf-8")):
            if row.get("stage") and row.get("outcome") == "passed":
                passed.add((row["phase"], row["stage"]))
    expected = {("failover", n) for n in range(1, 6)} | {("failback", n) for n in range(1, 5)}
    return expected <= passed


def _uses(records: Iterable[Mapping[str, Any]], use: str) -> dict[Any, set[str]]:
    seen: dict[Any, set[str]] = {}
    for key in aws_operations(records):
        seen.setdefault(("aws", *key), set()).add(use)
    for key in kube_permissions(records):
        seen.setdefault(("kube", *key), set()).add(use)
    return seen


def _cluster_wide(records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """Kubernetes (group, resource, verb) requested at least once outside a namespace."""
    return {(str(r["group"]), str(r["resource"]), str(r["verb"])) for r in records
            if r.get("kind") == "kube" and not r.get("namespaced")}


def operations_document(recording: Recording) -> dict[str, Any]:
    """``operations.json``: every call of the recording, its action and its policies."""
    seen: dict[Any, set[str]] = {}
    for use, records in (("readonly", recording.readonly), ("drill", recording.drill)):
        for key, uses in _uses(records, use).items():
            seen.setdefault(key, set()).update(uses)
    declared: dict[Any, str] = {}
    for kind, first, second, verb, use, why in DECLARED:
        key = (kind, first, second, verb) if kind == "kube" else (kind, first, second)
        if key not in seen:
            declared[key] = why
        seen.setdefault(key, set()).add(use)
    mutating_reads = sorted(f"{service}:{operation}" for kind, service, operation, *_ in seen
                            if kind == "aws" and "readonly" in seen[(kind, service, operation)]
                            and is_mutating(service, operation) and
                            (kind, service, operation) not in declared)
    if mutating_reads:
        raise ValueError("a read-only use made mutating calls: " + ", ".join(mutating_reads))
    for needed in (*sorted(METRICS_OPERATIONS), ("s3", "PutObject")):
        if ("aws", *needed) not in seen:
            raise ValueError(f"the recorded game day never called {iam_action(*needed)} "
                             "(its metrics or evidence upload did not run)")
    cluster_wide = _cluster_wide([*recording.readonly, *recording.drill])
    aws = []
    kube = []
    for key in sorted(seen):
        uses = sorted(seen[key])
        if key[0] == "aws":
            _, service, operation = key
            aws.append({"service": service, "operation": operation,
                        "action": iam_action(service, operation),
                        "mutating": is_mutating(service, operation), "used_by": uses,
                        "policies": _policies(uses, (service, operation))})
            if key in declared:
                aws[-1]["declared"] = declared[key]
        else:
            _, group, resource, verb = key
            scope = "cluster" if resource.split("/")[0] in CLUSTER_SCOPED_RESOURCES else \
                "namespace"
            if scope == "namespace" and (group, resource, verb) in cluster_wide:
                raise ValueError(f"the suite made '{verb} {resource}' across all namespaces; "
                                 "a Role in the services' namespace cannot grant it: ask "
                                 "within the namespace (topology.namespace)")
            kube.append({"group": group, "resource": resource, "verb": verb, "scope": scope,
                         "mutating": verb not in KUBE_READ_VERBS, "used_by": uses,
                         "roles": _policies(uses)})
            if key in declared:
                kube[-1]["declared"] = declared[key]
    return {"regenerate": REGENERATE_COMMAND,
            "note": "Recorded from readiness and plan (readonly) and a game day with metrics "
                    "and evidence upload on (drill) against the embedded simulation; entries "
                    "with 'declared' are listed in maip_drlib.iam_policies.DECLARED; "
                    "'metrics-publisher' is the add-on policy for readiness "
                    "--metrics-namespace, 'database-secrets-reader' the one for readiness "
                    "with database access. Kubernetes 'scope': 'namespace' is granted by a "
                    "Role in the services' namespace, 'cluster' by a ClusterRole.",
            "aws": aws, "kube": kube}


def _policies(uses: list[str], operation: tuple[str, str] | None = None) -> list[str]:
    if operation is not None and operation[0] == KAFKA_DATA_PLANE_SERVICE:
        return ["kafka-data-plane"]  # an add-on beside either policy, for every use
    policies = ["drill-operator", "readonly"] if "readonly" in uses else ["drill-operator"]
    if operation in METRICS_OPERATIONS:
        policies.insert(1, "metrics-publisher")
    if operation in DATABASE_SECRET_OPERATIONS:  # never the read-only policy's
        policies = ["drill-operator", "database-secrets-reader"]
    return policies


def render_policies(operations: Mapping[str, Any],
                    scope: PolicyScope | None = None) -> dict[str, str]:
    """File name -> text of every policy and the RBAC for ``scope``: what ``regenerate``
    writes to ``policies/`` (the default scope) and ``maip-dr iam policies`` prints."""
    scope = scope or PolicyScope()
    files = {name: json.dumps(policy_document(operations, policy, scope), indent=2) + "\n"
             for policy, name in POLICY_FILES.items()}
    files[RBAC_FILE] = rbac_document(operations, scope.topology.namespace)
    return files


def load_operations(folder: Path = POLICY_DIR) -> dict[str, Any]:
    """``operations.json`` of ``folder``; OSError or ValueError when missing or unreadable."""
    document = json.loads((folder / OPERATIONS_FILE).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or "aws" not in document or "kube" not in document:
        raise ValueError(f"{folder / OPERATIONS_FILE}: not an operations document")
    return document


def write_policies(recording: Recording, folder: Path = POLICY_DIR) -> dict[str, Any]:
    operations = operations_document(recording)
    files = render_policies(operations)  # before writing: a missing grant changes nothing
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OPERATIONS_FILE).write_text(json.dumps(operations, indent=2) + "\n",
                                          encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return operations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maip_drlib.iam_policies",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["regenerate"])
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="a folder with readonly.jsonl and drill.jsonl of an earlier run")
    parser.add_argument("--out", type=Path, default=POLICY_DIR, help="default: policies/")
    args = parser.parse_args(argv)
    try:
        if args.source is not None:
            recording = Recording.from_dir(args.source)
        else:
            with tempfile.TemporaryDirectory(prefix="maip-iam-record-") as folder:
                recording = record_runs(Path(folder))
        operations = write_policies(recording, args.out)
    except (RuntimeError, ValueError, OSError) as error:
        print(f"iam_policies: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {len(operations['aws'])} AWS operations, "
          f"{len(operations['kube'])} Kubernetes permissions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
