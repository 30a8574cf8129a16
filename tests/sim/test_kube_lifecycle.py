"""Graceful pod termination and capacity in the fake Kubernetes API, seen through the official
client, kubectl and the suite's probes (issue 14: "the application fence", "capacity in DR").

Each test runs its own cluster, HTTPS server and controller on 127.0.0.1 with the simulation's
eight services and the DR node group's 2 standby m6i.xlarge nodes.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from kubernetes import client, config

from maip_drlib.config import RegionConnection
from maip_drlib.drill import scale_wait
from maip_drlib.drill.guards import FencingEvidence, service_pods
from maip_drlib.probes import kube as kube_probes
from maip_drlib.regions import RegionHandle
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.kube import (
    DeploymentSpec,
    FakeKubeApiServer,
    KubeCluster,
    KubeContextSpec,
    KubeController,
    write_kubeconfig,
)
from maip_drlib.sim.kube.capacity import INSTANCE_TYPES, node_resources
from maip_drlib.sim.simulation import MAIP_SERVICES
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

KUBECTL = shutil.which("kubectl")
NAMESPACE = "maip-services"
TOKEN = "sim-token-lifecycle"
CONTEXT = "maip-prod-dr"


@dataclass
class Fake:
    cluster: KubeCluster
    controller: KubeController
    nodes: dict[str, int]
    kubeconfig: Path
    home: Path
    handle: RegionHandle

    def api(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig), context=CONTEXT,
                                             persist_config=False)

    def kubectl(self, *args: str) -> str:
        assert KUBECTL is not None
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--context", CONTEXT,
             "--request-timeout=10s", *args], capture_output=True, text=True, timeout=60,
            env={"HOME": str(self.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout


def wait_until(probe: Callable[[], Any], accept: Callable[[Any], bool],
               timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {value!r}")
        time.sleep(0.05)


def _fake(tmp_path: Path, *, time_scale: float) -> Iterator[Fake]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    cluster = KubeCluster("us-west-2", nodegroup="maip-prod-dr-nodegroup",
                          sim_clock=SimClock(time_scale))
    cluster.seed(NAMESPACE, [DeploymentSpec(name, 1, f"maip/{name}:1") for name in MAIP_SERVICES],
                 nodes=2, nodegroup="maip-prod-dr-nodegroup")
    nodes = {"desired": 2}
    server = FakeKubeApiServer(cluster, ssl_context=context, token=TOKEN).start()
    controller = KubeController(cluster, pod_start_seconds=0.05, node_start_seconds=0.1,
                                desired_node_count=lambda: nodes["desired"]).start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", [KubeContextSpec(
        CONTEXT, server.url, ca.cert_pem.bytes(), TOKEN, NAMESPACE)])
    home = tmp_path / "home"
    home.mkdir()
    handle = RegionHandle(RegionConnection("us-west-2", CONTEXT, kubeconfig=kubeconfig),
                          target_name="fake", simulated=True,
                          writes=WriteGate.consented(target="fake"))
    try:
        yield Fake(cluster, controller, nodes, kubeconfig, home, handle)
    finally:
        handle.close()
        controller.stop()
        server.stop()


@pytest.fixture
def slow_grace(tmp_path: Path) -> Iterator[Fake]:
    # 60 real seconds per simulated minute: the 30 s grace period lasts 30 real seconds.
    yield from _fake(tmp_path, time_scale=60.0)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Fake]:
    yield from _fake(tmp_path, time_scale=1.0)


def _pods(api: client.ApiClient) -> list[client.V1Pod]:
    return client.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items


# -- the application fence ------------------------------------------------------------------


def test_a_scaled_down_pod_terminates_over_its_grace_period_and_still_counts(
        slow_grace: Fake) -> None:
    api = slow_grace.api()
    client.AppsV1Api(api).patch_namespaced_deployment_scale(
        "merchant-api", NAMESPACE, {"spec": {"replicas": 0}})
    pod = wait_until(lambda: [p for p in _pods(api) if p.metadata.name.startswith(
        "merchant-api-")], lambda pods: pods and pods[0].metadata.deletion_timestamp)[0]
    assert pod.metadata.deletion_grace_period_seconds == 30
    assert pod.status.phase == "Running"  # it runs, and writes, until the grace period ends
    deployment = client.AppsV1Api(api).read_namespaced_deployment("merchant-api", NAMESPACE)
    assert not deployment.status.ready_replicas  # the ReplicaSet no longer counts it
    name = pod.metadata.name
    if KUBECTL is not None:
        rows = [line.split() for line in slow_grace.kubectl("get", "pods").splitlines()]
        assert [row[2] for row in rows if row[0] == name] == ["Terminating"]
    # "Writes stopped" is false while it terminates: the fence sees it.
    left = service_pods(slow_grace.handle, NAMESPACE)
    assert f"{name} (Terminating)" in left
    assert not FencingEvidence("us-west-2", pods=left, sessions=()).fenced
    facts = {p.name: p for p in kube_probes.pods(slow_grace.handle, NAMESPACE)}
    assert facts[name].terminating and facts[name].grace_period_s == 30
    # A shorter grace period ends it sooner (kubectl delete --grace-period, as on a cluster).
    core = client.CoreV1Api(api)
    core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=1)
    wait_until(lambda: [p.metadata.name for p in _pods(api)], lambda names: name not in names)
    assert not [pod for pod in service_pods(slow_grace.handle, NAMESPACE)
                if pod.startswith("merchant-api-")]


def test_pods_go_after_the_grace_period_in_simulated_time(fake: Fake) -> None:
    api = fake.api()
    started = time.monotonic()
    client.AppsV1Api(api).patch_namespaced_deployment_scale(
        "ledger-service", NAMESPACE, {"spec": {"replicas": 0}})
    wait_until(lambda: [p for p in _pods(api) if p.metadata.name.startswith("ledger-service-")],
               lambda pods: not pods)
    # 30 simulated seconds at 1 real second per simulated minute: half a second, not 0.
    assert time.monotonic() - started >= SimClock(1.0).real_seconds(30) - 0.05


# -- capacity in DR -------------------------------------------------------------------------


def test_instance_types_have_the_vpc_cni_pod_limit_and_less_allocatable_than_capacity() -> None:
    assert INSTANCE_TYPES["m5.large"].max_pods == 29
    assert (INSTANCE_TYPES["m5.large"].vcpus, INSTANCE_TYPES["m5.large"].memory_mib) == (2, 8192)
    assert INSTANCE_TYPES["m6i.xlarge"].max_pods == 58
    capacity, allocatable = node_resources("m6i.xlarge")
    assert capacity["cpu"] == "4" and allocatable["cpu"] == "3920m"
    assert int(allocatable["memory"][:-2]) < int(capacity["memory"][:-2])
    assert allocatable["pods"] == capacity["pods"] == "58"


def test_the_runbook_scale_on_two_standby_nodes_leaves_pods_pending_until_nodes_join(
        fake: Fake) -> None:
    api = fake.api()
    node = client.CoreV1Api(api).list_node().items[0]
    assert node.metadata.labels["node.kubernetes.io/instance-type"] == "m6i.xlarge"
    assert node.status.allocatable["pods"] == "58"
    scale = ("scale", "deployment", "--all", "-n", NAMESPACE, "--replicas=4")
    if KUBECTL is not None:
        fake.kubectl(*scale)
    else:
        for name in MAIP_SERVICES:
            client.AppsV1Api(api).patch_namespaced_deployment_scale(
                name, NAMESPACE, {"spec": {"replicas": 4}})

    def pending() -> list[client.V1Pod]:
        return [p for p in _pods(api) if p.status.phase == "Pending"]

    waiting = wait_until(pending, lambda pods: len(pods) == 32 - 14 and all(
        c.type == "PodScheduled" and c.status == "False" for p in pods
        for c in p.status.conditions or []))
    condition = waiting[0].status.conditions[0]
    assert condition.reason == "Unschedulable"
    assert condition.message.startswith("0/2 nodes are available: 2 Insufficient cpu.")
    reasons = scale_wait.pod_reasons(fake.handle, NAMESPACE)
    assert "18 Pending: 0/2 nodes are available: 2 Insufficient cpu." in reasons
    fake.nodes["desired"] = 8  # the node group grows: the runbook's first step
    wait_until(lambda: [p.status.phase for p in _pods(api)],
               lambda phases: len(phases) == 32 and set(phases) == {"Running"})
    apps = client.AppsV1Api(api)
    assert all(d.status.ready_replicas == 4 for d in apps.list_namespaced_deployment(
        NAMESPACE).items)
