"""The Kubernetes manifests: schema-valid for a pinned Kubernetes release, shaped as the issue
asks, their config loadable by the suite and their RBAC equal to policies/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from maip_drlib.config_loader import load_config
from maip_drlib.regions_kube import is_eks_exec

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.31.0"  # an EKS standard-support release; the schemas ship with the package
MANIFESTS = sorted(p for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((KUBE / name).read_text()) if d]


def one(name: str, kind: str) -> dict[str, Any]:
    (found,) = [d for d in documents(name) if d["kind"] == kind]
    return found


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_schema_valid_for_the_pinned_kubernetes_release(path):
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is not installed "
                                      "(pip install kubernetes-validate)")
    for document in yaml.safe_load_all(path.read_text()):
        if not document:
            continue
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest():
    kubernetes_validate = pytest.importorskip("kubernetes_validate",
                                              reason="kubernetes-validate is not installed")
    cronjob = one("readiness-cronjob.yaml", "CronJob")
    cronjob["spec"]["concurrencyPolicy"] = ["Forbid"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)
    cronjob = one("readiness-cronjob.yaml", "CronJob")
    cronjob["spec"]["concurencyPolicy"] = "Forbid"  # a typo: strict mode rejects it
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)


def test_readiness_cronjob_every_15_minutes_one_at_a_time():
    spec = one("readiness-cronjob.yaml", "CronJob")["spec"]
    assert spec["schedule"] == "*/15 * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] < 15 * 60
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == "maip-dr-readiness"
    (container,) = pod["containers"]
    args = container["args"]
    # it publishes its results as metrics, a write: consent for the target it reads
    assert args[-5:] == ["readiness", "--json", "--dr-execute", "--dr-confirm", "prod"]
    assert args[args.index("--dr-confirm") + 1] == args[args.index("--target") + 1]
    assert "cluster that survives the failure" in (KUBE / "readiness-cronjob.yaml").read_text()


def test_gameday_job_carries_the_deliberate_safety_flags():
    text = (KUBE / "gameday-job.yaml").read_text()
    job = one("gameday-job.yaml", "Job")
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] > 0
    (container,) = job["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert "gameday" in args and "--dr-execute" in args
    assert args[args.index("--dr-confirm") + 1] == args[args.index("--target") + 1] == "prod"
    assert ("--dr-planned" in args) != ("--dr-declare-outage" in args)
    assert args[args.index("--reports") + 1] == "/var/lib/maip-dr/reports"
    assert "DELIBERATE" in text and "--dr-declare-outage" in text
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/var/lib/maip-dr/reports"]]["persistentVolumeClaim"]["claimName"] \
        == one("reports-pvc.yaml", "PersistentVolumeClaim")["metadata"]["name"]


@pytest.mark.parametrize("name", ["readiness-cronjob.yaml", "gameday-job.yaml"])
def test_pods_are_bounded_non_root_and_keep_secrets_in_secrets(name):
    (workload,) = documents(name)
    pod = (workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
           if workload["kind"] == "CronJob" else workload["spec"]["template"]["spec"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        env = {e["name"]: e for e in container["env"]}
        assert "value" not in env["MAIP_DR_WEBHOOK_URL"]
        assert env["MAIP_DR_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"]["optional"] is True
        assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_service_accounts_carry_the_irsa_role():
    accounts = {d["metadata"]["name"]: d for d in documents("serviceaccounts.yaml")}
    assert set(accounts) == {"maip-dr-readiness", "maip-dr-gameday"}
    for account in accounts.values():
        annotations = account["metadata"]["annotations"]
        assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
        assert annotations["eks.amazonaws.com/sts-regional-endpoints"] == "true"


def test_kustomization_lists_every_runner_manifest():
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert all((KUBE / name).exists() for name in listed)
    outside = {"gameday-job.yaml", "verify-job.yaml",  # applied separately (comments)
               "target-cluster-rbac.yaml"}
    assert listed == {p.name for p in MANIFESTS} - outside


def _configmap_files(tmp_path: Path) -> Path:
    data = one("configmap.yaml", "ConfigMap")["data"]
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    return tmp_path / "config.toml"


def test_the_configmap_config_loads_with_the_suite(tmp_path):
    config = load_config(_configmap_files(tmp_path))
    target = config.targets["prod"]
    assert target.kind == "live" and config.default_target == "prod"
    kubeconfig = yaml.safe_load((tmp_path / "kubeconfig.yaml").read_text())
    contexts = {c["name"]: c["context"] for c in kubeconfig["contexts"]}
    users = {u["name"]: u["user"] for u in kubeconfig["users"]}
    for connection in target.connections:
        assert connection.profile is None  # IRSA: the default credential chain
        assert connection.kubeconfig == tmp_path / "kubeconfig.yaml"
        context = contexts[connection.kube_context]
        exec_spec = users[context["user"]]["exec"]
        assert is_eks_exec(exec_spec)  # the suite makes these tokens itself
        assert connection.region in exec_spec["args"]
        assert connection.region in next(c["cluster"]["server"] for c in kubeconfig["clusters"]
                                         if c["name"] == context["cluster"])


def test_config_check_runs_without_the_simulation_extra(tmp_path):
    path = _configmap_files(tmp_path)
    code = ("import sys; sys.modules['moto'] = None\n"
            "from maip_drlib.cli import main\n"
            f"main(['config', 'check', {str(path)!r}])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prod" in done.stdout


RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
POLICY_NAMES = ("k8s-rbac.yaml", "k8s-rbac-role.yaml")


def _rbac(documents_: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    """(kind, namespace or "", name) -> rules as (group, resource, verb) triples, or a
    binding's ref and subjects."""
    out: dict[tuple[str, str, str], Any] = {}
    for document in documents_:
        kind = document.get("kind")
        if kind not in RBAC_KINDS:
            continue
        key = (kind, document["metadata"].get("namespace", ""), document["metadata"]["name"])
        if kind.endswith("Binding"):
            out[key] = (document["roleRef"]["kind"], document["roleRef"]["name"],
                        sorted((s["kind"], s["name"]) for s in document["subjects"]))
        else:
            out[key] = {(group, resource, verb) for rule in document.get("rules", [])
                        for group in rule.get("apiGroups", [])
                        for resource in rule.get("resources", [])
                        for verb in rule.get("verbs", [])}
    return out


def test_rbac_grants_only_scale_writes_and_only_in_the_services_namespace():
    rbac = _rbac(documents("target-cluster-rbac.yaml"))
    rules = set().union(*(v for (kind, *_), v in rbac.items() if not kind.endswith("Binding")))
    writes = {r for r in rules if r[2] not in ("get", "list", "watch")}
    assert writes == {("apps", "deployments/scale", "patch")}
    assert ("", "nodes", "list") in rules and not any(r[1] == "secrets" for r in rules)
    readonly = rbac[("Role", "maip-services", "maip-dr-readonly")]
    assert all(verb == "list" for _, _, verb in readonly)
    # Cluster-wide objects hold cluster-scoped resources only: nothing on deployments (or any
    # namespaced resource) in another namespace.
    for (kind, namespace, name), value in rbac.items():
        if kind == "ClusterRole":
            assert value == {("", "nodes", "list")}, name
        elif kind in ("Role", "RoleBinding"):
            assert namespace == "maip-services", name
        if kind == "RoleBinding":
            assert value[0] == "Role" and ("Role", namespace, value[1]) in rbac
        if kind == "ClusterRoleBinding":
            assert value[0] == "ClusterRole" and ("ClusterRole", "", value[1]) in rbac
    assert [key for key, value in rbac.items() if not key[0].endswith("Binding")
            and ("apps", "deployments/scale", "patch") in value] == [
        ("Role", "maip-services", "maip-dr-drill-operator")]


def test_rbac_equals_the_policies_rbac():
    found = [ROOT / "policies" / name for name in POLICY_NAMES
             if (ROOT / "policies" / name).exists()]
    if not found:
        pytest.skip("policies/k8s-rbac.yaml does not exist: nothing to compare with")
    theirs = _rbac([d for d in yaml.safe_load_all(found[0].read_text()) if d])
    assert theirs, f"{found[0]} holds no RBAC objects"
    assert _rbac(documents("target-cluster-rbac.yaml")) == theirs
