"""The least-privilege policies in ``policies/``, derived from recorded runs (``docs/iam.md``).

``python -m maip_drlib.iam_policies regenerate`` runs, against the embedded simulation and
with ``MAIP_DR_RECORD_AWS_OPERATIONS`` on, ``maip-dr readiness`` and ``maip-dr plan`` (the
read-only uses) and ``maip-dr gameday`` (the drill operator's) with its operations on
(``--metrics-namespace`` and ``--s3-bucket``: the metrics and the evidence upload run after
the seal, in the same process), then writes:

- ``policies/operations.json``: every AWS operation and Kubernetes request seen, with its IAM
  action, whether it mutates, which uses made it and which policy grants it;
- ``policies/iam-readonly.json``: the actions of readiness and plan, all read-only;
- ``policies/iam-drill-operator.json``: every action of every use;
- ``policies/iam-metrics-publisher.json``: ``cloudwatch:PutMetricData`` alone, the add-on a
  read-only runner needs for ``--metrics-namespace`` (the read-only policy stays free of
  writes; the action is taken from the recorded game day, which must have published);
- ``policies/iam-database-secrets-reader.json``: ``secretsmanager:GetSecretValue`` alone, the
  add-on a read-only runner needs for readiness to ask the databases (the embedded readiness
  runs the data plane when PostgreSQL is installed); the read-only policy never reads a
  secret value;
- ``policies/k8s-rbac.yaml``: a ``ClusterRole`` per use (nodes are cluster-scoped, so a
  namespaced ``Role`` cannot grant them) with the verbs recorded, and bindings to the groups
  ``maip-dr-readonly`` and ``maip-dr-drill-operator``.

``--from RECORDING_DIR`` reuses ``readonly.jsonl`` and ``drill.jsonl`` of an earlier run.
Regeneration fails (exit 2) when a read-only use made a mutating call, or when the recorded
game day published no metrics or uploaded nothing.

The embedded simulation has no evidence bucket (its S3 starts empty and lives in the game
day's process), so the recorded upload's first ``s3:PutObject`` is answered ``NoSuchBucket``
and the upload stops there; the recorder sees the call before it is sent, which is what the
policy needs. The successful upload is shown against ``maip-dr sim up`` by
``tests/operations``.

Calls made only on failure paths, which a passing recorded run never makes, are declared in
``DECLARED`` with the reason (listing pods to name why they are not ready).

Not supported: resource-level scoping (every statement is ``Resource: "*"``, see
``docs/iam.md``); conditions; actions AWS checks behind a call (``kms:*`` for an encrypted
cross-region replica, ``iam:PassRole``), which no recording sees.
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
from maip_drlib.permissions import (
    DATABASE_SECRET_OPERATIONS,
    DATABASE_SECRETS_POLICY,
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
RBAC_GROUPS = {"readonly": "maip-dr-readonly", "drill-operator": "maip-dr-drill-operator"}
POLICY_FILES = {"readonly": READONLY_POLICY, "drill-operator": OPERATOR_POLICY,
                "metrics-publisher": METRICS_POLICY,
                "database-secrets-reader": DATABASE_SECRETS_POLICY}
STATEMENT_IDS = {"drill-operator": "MaipDrDrill", "metrics-publisher": "MaipDrPublishMetrics"}
READ_STATEMENT_IDS = {"database-secrets-reader": "MaipDrReadDatabaseSecrets"}
# The recorded game day's operations (drill/operations.py): a namespace of its own and a bucket
# the embedded simulation does not have (see the module docstring).
RECORDED_OPERATIONS_ARGS = ("--metrics-namespace", "MAIP/DR-recording",
                            "--s3-bucket", "maip-dr-recording-evidence")

# (kind, group or service, resource or operation, verb or "", use, why): failure-path calls.
DECLARED: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("kube", "", "pods", "list", "drill",
     "failover stages 4 and 5 list pods to name why they are not ready (failure path)"),
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
                environ: Mapping[str, str] | None = None) -> Recording:
    """Run readiness, plan and a game day on the embedded simulation (``time_scale`` real
    seconds per simulated minute, default the embedded target's), recording every call into
    ``folder``; raises RuntimeError naming the command that failed."""
    executable = str(Path(sys.executable).parent / "maip-dr")
    base = dict(os.environ if environ is None else environ)
    base = {k: v for k, v in base.items() if not k.startswith(("AWS_", "MAIP_DR_"))}
    prefix = [executable]
    if time_scale is not None:
        config = folder / "embedded.toml"
        config.write_text(f'[targets.embedded]\nkind = "embedded"\ntime_scale = {time_scale}\n',
                          encoding="utf-8")
        prefix += ["--config", str(config)]
    runs = ((READONLY_RECORDING, ["readiness"]), (READONLY_RECORDING, ["plan"]),
            (DRILL_RECORDING, ["gameday", "--reports", str(folder / "reports"),
                               *RECORDED_OPERATIONS_ARGS]))
    for recording, args in runs:
        env = {**base, ENV_VAR: str(folder / recording)}
        done = subprocess.run([*prefix, *args], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
        if done.returncode != 0 and not (args[0] == "gameday" and _every_stage_ran(folder)):
            raise RuntimeError(f"maip-dr {' '.join(args)} exited {done.returncode}: "
                               f"{(done.stdout + done.stderr)[-2000:]}")
    return Recording.from_dir(folder)


def _every_stage_ran(folder: Path) -> bool:
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
                            and is_mutating(service, operation))
    if mutating_reads:
        raise ValueError("a read-only use made mutating calls: " + ", ".join(mutating_reads))
    for needed in (*sorted(METRICS_OPERATIONS), ("s3", "PutObject")):
        if ("aws", *needed) not in seen:
            raise ValueError(f"the recorded game day never called {iam_action(*needed)} "
                             "(its metrics or evidence upload did not run)")
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
            kube.append({"group": group, "resource": resource, "verb": verb,
                         "mutating": verb not in KUBE_READ_VERBS, "used_by": uses,
                         "roles": _policies(uses)})
            if key in declared:
                kube[-1]["declared"] = declared[key]
    return {"regenerate": REGENERATE_COMMAND,
            "note": "Recorded from readiness and plan (readonly) and a game day with metrics "
                    "and evidence upload on (drill) against the embedded simulation; entries "
                    "with 'declared' are failure-path calls listed in "
                    "maip_drlib.iam_policies.DECLARED; 'metrics-publisher' is the add-on "
                    "policy for readiness --metrics-namespace, 'database-secrets-reader' the "
                    "one for readiness with database access.",
            "aws": aws, "kube": kube}


def _policies(uses: list[str], operation: tuple[str, str] | None = None) -> list[str]:
    policies = ["drill-operator", "readonly"] if "readonly" in uses else ["drill-operator"]
    if operation in METRICS_OPERATIONS:
        policies.insert(1, "metrics-publisher")
    if operation in DATABASE_SECRET_OPERATIONS:  # never the read-only policy's
        policies = ["drill-operator", "database-secrets-reader"]
    return policies


def policy_document(operations: Mapping[str, Any], policy: str) -> dict[str, Any]:
    """The IAM policy document of ``policy`` (a key of ``POLICY_FILES``); a statement without
    actions is left out."""
    rows = [row for row in operations["aws"] if policy in row["policies"]]
    reads = sorted({row["action"] for row in rows if not row["mutating"]})
    writes = sorted({row["action"] for row in rows if row["mutating"]})
    statements = []
    if reads:
        statements.append({"Sid": READ_STATEMENT_IDS.get(policy, "MaipDrRead"),
                           "Effect": "Allow", "Action": reads, "Resource": "*"})
    if writes:
        statements.append({"Sid": STATEMENT_IDS.get(policy, "MaipDrDrill"), "Effect": "Allow",
                           "Action": writes, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def rbac_document(operations: Mapping[str, Any]) -> str:
    """``k8s-rbac.yaml``: a ClusterRole and ClusterRoleBinding per use."""
    lines = [f"# Generated by `{REGENERATE_COMMAND}` from recorded Kubernetes requests.",
             "# ClusterRoles: nodes are cluster-scoped, which a namespaced Role cannot grant.",
             "# Bind the groups to the runner's IAM principals (EKS access entries or the",
             "# aws-auth ConfigMap), in both clusters."]
    for role, group in RBAC_GROUPS.items():
        rules: dict[tuple[str, str], set[str]] = {}
        for row in operations["kube"]:
            if role in row["roles"]:
                rules.setdefault((row["group"], row["resource"]), set()).add(row["verb"])
        name = f"maip-dr-{role}"
        lines += ["---", "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole",
                  "metadata:", f"  name: {name}", "rules:"]
        for (api_group, resource), verbs in sorted(rules.items()):
            lines += [f"  - apiGroups: [{json.dumps(api_group)}]",
                      f"    resources: [{json.dumps(resource)}]",
                      f"    verbs: [{', '.join(json.dumps(v) for v in sorted(verbs))}]"]
        lines += ["---", "apiVersion: rbac.authorization.k8s.io/v1",
                  "kind: ClusterRoleBinding", "metadata:", f"  name: {name}", "roleRef:",
                  "  apiGroup: rbac.authorization.k8s.io", "  kind: ClusterRole",
                  f"  name: {name}", "subjects:", "  - apiGroup: rbac.authorization.k8s.io",
                  "    kind: Group", f"    name: {group}"]
    return "\n".join(lines) + "\n"


def write_policies(recording: Recording, folder: Path = POLICY_DIR) -> dict[str, Any]:
    operations = operations_document(recording)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OPERATIONS_FILE).write_text(json.dumps(operations, indent=2) + "\n",
                                          encoding="utf-8")
    for policy, name in POLICY_FILES.items():
        (folder / name).write_text(json.dumps(policy_document(operations, policy), indent=2)
                                   + "\n", encoding="utf-8")
    (folder / RBAC_FILE).write_text(rbac_document(operations), encoding="utf-8")
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
