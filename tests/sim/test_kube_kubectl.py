"""The fake Kubernetes API server against the real kubectl on PATH (the runbook's commands).

kubectl negotiates discovery and server-side Tables itself, so these tests prove that
``kubectl get nodes`` shows a STATUS column with Ready/NotReady and that
``kubectl scale deployment --all`` works. Every call has ``--request-timeout`` and a
subprocess timeout; HOME is a temporary directory so kubectl's caches land there.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.kube import (
    DeploymentSpec,
    FakeKubeApiServer,
    KubeCluster,
    KubeContextSpec,
    KubeController,
    write_kubeconfig,
)

KUBECTL = shutil.which("kubectl")
pytestmark = [pytest.mark.sim, pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]
NAMESPACE = "maip-services"
TOKEN = "sim-token-kubectl"


@dataclass
class KubectlSim:
    cluster: KubeCluster
    server: FakeKubeApiServer
    faults: FaultState
    kubeconfig: Path
    home: Path

    def kubectl(self, *args: str, context: str = "maip-prod") -> subprocess.CompletedProcess[str]:
        command = [str(KUBECTL), "--kubeconfig", str(self.kubeconfig), "--context", context,
                   "--request-timeout=5s", *args]
        env = {"HOME": str(self.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=30,
                              check=False)

    def ok(self, *args: str) -> str:
        result = self.kubectl(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture()
def sim(tmp_path: Path) -> Iterator[KubectlSim]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    faults = FaultState(("us-east-1", "us-west-2"))
    clusters, servers, controllers = [], [], []
    for region in ("us-east-1", "us-west-2"):
        cluster = KubeCluster(region)
        cluster.seed(NAMESPACE, [
            DeploymentSpec("payments", 2, "maip/payments:1.4.2", 8080, 2, 10),
            DeploymentSpec("ledger", 1, "maip/ledger:3.1.0", 8081),
        ], nodes=2, nodegroup=f"{'maip-prod' if region == 'us-east-1' else 'maip-prod-dr'}"
                              "-nodegroup")
        clusters.append(cluster)
        servers.append(FakeKubeApiServer(cluster, ssl_context=context, token=TOKEN,
                                         faults=faults).start())
        controllers.append(KubeController(cluster, faults=faults,
                                          pod_start_seconds=0.1).start())
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", [
        KubeContextSpec(name, server.url, ca.cert_pem.bytes(), TOKEN, NAMESPACE)
        for name, server in zip(("maip-prod", "maip-prod-dr"), servers, strict=True)])
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield KubectlSim(clusters[0], servers[0], faults, kubeconfig, home)
    finally:
        for part in (*controllers, *servers):
            part.stop()


def _rows(table_text: str) -> list[list[str]]:
    return [line.split() for line in table_text.strip().splitlines()]


def wait_until(probe: Callable[[], object], accept: Callable[[object], bool],
               timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {value!r}")
        time.sleep(0.1)


def test_get_nodes_shows_the_status_column_ready_then_notready(sim: KubectlSim) -> None:
    rows = _rows(sim.ok("get", "nodes"))
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [row[1] for row in rows[1:]] == ["Ready", "Ready"]
    assert all(row[0].endswith(".ec2.internal") for row in rows[1:])
    sim.cluster.set_nodes_ready(False)
    assert [row[1] for row in _rows(sim.ok("get", "nodes"))[1:]] == ["NotReady", "NotReady"]


def test_each_context_reaches_its_own_region(sim: KubectlSim) -> None:
    result = sim.kubectl("get", "nodes", context="maip-prod-dr")
    assert result.returncode == 0, result.stderr
    assert all("us-west-2.compute.internal" in row[0] for row in _rows(result.stdout)[1:])


def test_get_pods_and_services_in_the_namespace(sim: KubectlSim) -> None:
    pods = _rows(sim.ok("get", "pods", "-n", NAMESPACE))
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(pods) == 4
    assert all(row[1:4] == ["1/1", "Running", "0"] for row in pods[1:])
    services = _rows(sim.ok("get", "svc", "-n", NAMESPACE))
    assert services[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert sorted((row[0], row[1], row[4]) for row in services[1:]) == [
        ("ledger", "ClusterIP", "80/TCP"), ("payments", "ClusterIP", "80/TCP")]
    hpa = _rows(sim.ok("get", "hpa", "-n", NAMESPACE))
    assert hpa[0][:2] == ["NAME", "REFERENCE"] and hpa[1][:2] == ["payments",
                                                                  "Deployment/payments"]


def test_scale_all_deployments_then_they_report_four_replicas(sim: KubectlSim) -> None:
    out = sim.ok("scale", "deployment", "--all", "-n", NAMESPACE, "--replicas=4")
    assert "deployment.apps/payments scaled" in out
    assert "deployment.apps/ledger scaled" in out

    def ready_columns() -> list[str]:
        return [row[1] for row in _rows(sim.ok("get", "deploy", "-n", NAMESPACE))[1:]]

    wait_until(ready_columns, lambda ready: ready == ["4/4", "4/4"])
    document = json.loads(sim.ok("get", "deploy", "-n", NAMESPACE, "-o", "json"))
    assert [(item["metadata"]["name"], item["spec"]["replicas"],
             item["status"].get("readyReplicas")) for item in document["items"]] == [
        ("ledger", 4, 4), ("payments", 4, 4)]
    patches = [r for r in sim.server.requests if r.method == "PATCH"]
    assert {r.path.split("?")[0].rsplit("/", 2)[-2] for r in patches} == {"ledger", "payments"}


def test_get_pods_shows_crashloop_and_pending(sim: KubectlSim) -> None:
    sim.faults.set_pods_never_ready("us-east-1", "CrashLoopBackOff")
    sim.ok("scale", "deployment", "ledger", "-n", NAMESPACE, "--replicas=2")
    wait_until(lambda: sim.ok("get", "pods", "-n", NAMESPACE, "-l", "app=ledger"),
               lambda text: "CrashLoopBackOff" in str(text))
    sim.faults.set_pods_never_ready("us-east-1", None)
    sim.cluster.set_nodes_ready(False)
    sim.ok("scale", "deployment", "payments", "-n", NAMESPACE, "--replicas=3")
    wait_until(lambda: sim.ok("get", "pods", "-n", NAMESPACE, "-l", "app=payments"),
               lambda text: "Pending" in str(text))


def test_refused_region_fails_fast_and_a_wrong_token_is_unauthorized(sim: KubectlSim) -> None:
    sim.faults.region_outage("us-east-1", "refuse")
    wait_until(lambda: sim.server.listening, lambda listening: not listening)
    result = sim.kubectl("get", "nodes")
    assert result.returncode != 0
    assert "connection refused" in result.stderr
    sim.faults.restore_region("us-east-1")
    wait_until(lambda: sim.server.listening, bool)
    assert sim.kubectl("get", "nodes").returncode == 0
    other = write_kubeconfig(sim.home / "bad", [KubeContextSpec(
        "maip-prod", sim.server.url, b"", "wrong-token", NAMESPACE)])
    denied = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(other), "--request-timeout=5s",
         "--insecure-skip-tls-verify", "get", "nodes"],
        capture_output=True, text=True, env={"HOME": str(sim.home)}, timeout=30, check=False)
    assert denied.returncode != 0
    assert "Unauthorized" in denied.stderr or "credentials" in denied.stderr
