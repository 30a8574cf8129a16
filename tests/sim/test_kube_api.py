"""The fake Kubernetes API server against the official ``kubernetes`` Python client.

Each test starts its own cluster, HTTPS server (trustme CA) and controller on 127.0.0.1 and
builds the client from a kubeconfig written by ``write_kubeconfig``, as the suite does.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import trustme
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.kube import (
    DeploymentSpec,
    FakeKubeApiServer,
    KubeCluster,
    KubeContextSpec,
    KubeController,
    write_kubeconfig,
)

pytestmark = pytest.mark.sim

REGION = "us-east-1"
NAMESPACE = "maip-services"
TOKEN = "sim-token-primary"
T = TypeVar("T")


def wait_until(probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 5.0) -> T:
    """Poll ``probe`` every 50 ms until ``accept`` holds; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        time.sleep(0.05)


@dataclass
class Sim:
    cluster: KubeCluster
    server: FakeKubeApiServer
    controller: KubeController
    faults: FaultState
    kubeconfig: Path
    ca: trustme.CA
    tmp_path: Path

    def api_client(self, token: str = TOKEN) -> client.ApiClient:
        path = self.kubeconfig
        if token != TOKEN:
            path = write_kubeconfig(self.tmp_path / "other.kubeconfig", [KubeContextSpec(
                "maip-prod", self.server.url, self.ca.cert_pem.bytes(), token, NAMESPACE)])
        configuration = client.Configuration()
        configuration.retries = 0
        return config.new_client_from_config(config_file=str(path), context="maip-prod",
                                             persist_config=False,
                                             client_configuration=configuration)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture()
def sim(ca: trustme.CA, tmp_path: Path) -> Iterator[Sim]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    faults = FaultState((REGION, "us-west-2"))
    cluster = KubeCluster(REGION)
    cluster.seed(NAMESPACE, [
        DeploymentSpec("payments", 2, "maip/payments:1.4.2", 8080, 2, 10),
        DeploymentSpec("ledger", 1, "maip/ledger:3.1.0", 8081),
    ], nodes=2, nodegroup="maip-prod-nodegroup")
    server = FakeKubeApiServer(cluster, ssl_context=context, token=TOKEN, faults=faults,
                               hang_max_seconds=5.0)
    controller = KubeController(cluster, faults=faults, pod_start_seconds=0.1,
                                node_start_seconds=0.1, crash_restart_seconds=0.2)
    server.start()
    controller.start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", [KubeContextSpec(
        "maip-prod", server.url, ca.cert_pem.bytes(), TOKEN, NAMESPACE)])
    try:
        yield Sim(cluster, server, controller, faults, kubeconfig, ca, tmp_path)
    finally:
        controller.stop()
        server.stop()


def _ready_replicas(apps: client.AppsV1Api, name: str) -> int:
    status = apps.read_namespaced_deployment(name, NAMESPACE).status
    return status.ready_replicas or 0


def test_nodes_are_listed_with_their_ready_condition_and_nodegroup(sim: Sim) -> None:
    core = client.CoreV1Api(sim.api_client())
    nodes = core.list_node().items
    assert len(nodes) == 2
    for node in nodes:
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready[0].status == "True"
        assert node.metadata.labels["eks.amazonaws.com/nodegroup"] == "maip-prod-nodegroup"
    sim.cluster.set_nodes_ready(False)
    conditions = [c.status for n in core.list_node().items for c in n.status.conditions]
    assert conditions == ["Unknown", "Unknown"]


def test_deployments_pods_services_and_hpas_are_readable(sim: Sim) -> None:
    api = sim.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment(NAMESPACE).items}
    assert sorted(deployments) == ["ledger", "payments"]
    payments = apps.read_namespaced_deployment("payments", NAMESPACE)
    assert payments.spec.replicas == 2
    assert payments.status.ready_replicas == 2
    assert payments.spec.template.spec.containers[0].image == "maip/payments:1.4.2"
    pods = core.list_namespaced_pod(NAMESPACE).items
    assert len(pods) == 3
    assert all(p.status.phase == "Running" and p.spec.node_name for p in pods)
    assert all(p.status.container_statuses[0].ready for p in pods)
    services = core.list_namespaced_service(NAMESPACE).items
    assert {(s.metadata.name, s.spec.type) for s in services} == {
        ("payments", "ClusterIP"), ("ledger", "ClusterIP")}
    assert core.read_namespace(NAMESPACE).status.phase == "Active"
    hpas = client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler(NAMESPACE)
    assert [(h.spec.min_replicas, h.spec.max_replicas, h.spec.scale_target_ref.name)
            for h in hpas.items] == [(2, 10, "payments")]
    v1_hpas = client.AutoscalingV1Api(api).list_horizontal_pod_autoscaler_for_all_namespaces()
    assert v1_hpas.items[0].spec.target_cpu_utilization_percentage == 70
    assert len(core.list_pod_for_all_namespaces().items) == 3


def test_patch_scale_brings_ready_replicas_to_the_target(sim: Sim) -> None:
    apps = client.AppsV1Api(sim.api_client())
    scale = apps.patch_namespaced_deployment_scale("payments", NAMESPACE,
                                                   {"spec": {"replicas": 5}})
    assert (scale.kind, scale.spec.replicas) == ("Scale", 5)
    assert scale.status.selector == "app=payments"
    wait_until(lambda: _ready_replicas(apps, "payments"), lambda ready: ready == 5)
    assert apps.read_namespaced_deployment("payments", NAMESPACE).metadata.generation == 2


def test_put_scale_and_json_patch_scale_down(sim: Sim) -> None:
    apps = client.AppsV1Api(sim.api_client())
    current = apps.read_namespaced_deployment_scale("ledger", NAMESPACE)
    current.spec.replicas = 4
    assert apps.replace_namespaced_deployment_scale("ledger", NAMESPACE, current
                                                    ).spec.replicas == 4
    wait_until(lambda: _ready_replicas(apps, "ledger"), lambda ready: ready == 4)
    with pytest.raises(ApiException) as stale:
        apps.replace_namespaced_deployment_scale("ledger", NAMESPACE, current)
    assert stale.value.status == 409
    apps.patch_namespaced_deployment_scale(
        "ledger", NAMESPACE, [{"op": "replace", "path": "/spec/replicas", "value": 1}])
    core = client.CoreV1Api(sim.api_client())
    wait_until(lambda: len(core.list_namespaced_pod(NAMESPACE, label_selector="app=ledger")
                           .items), lambda count: count == 1)


def test_negative_replicas_are_rejected_with_an_invalid_status(sim: Sim) -> None:
    apps = client.AppsV1Api(sim.api_client())
    with pytest.raises(ApiException) as rejected:
        apps.patch_namespaced_deployment_scale("ledger", NAMESPACE, {"spec": {"replicas": -1}})
    assert rejected.value.status == 422
    assert '"reason": "Invalid"' in rejected.value.body.replace('":"', '": "')


def test_patching_the_deployment_itself_scales_it(sim: Sim) -> None:
    apps = client.AppsV1Api(sim.api_client())
    patched = apps.patch_namespaced_deployment("ledger", NAMESPACE, {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3
    wait_until(lambda: _ready_replicas(apps, "ledger"), lambda ready: ready == 3)


def test_label_and_field_selectors(sim: Sim) -> None:
    core = client.CoreV1Api(sim.api_client())

    def names(**selectors: str) -> list[str]:
        pods = core.list_namespaced_pod(NAMESPACE, **selectors).items
        return sorted(p.metadata.labels["app"] for p in pods)

    assert names(label_selector="app=payments") == ["payments", "payments"]
    assert names(label_selector="app==ledger") == ["ledger"]
    assert names(label_selector="app!=payments") == ["ledger"]
    assert names(label_selector="app in (ledger, payments)") == ["ledger", "payments", "payments"]
    assert names(label_selector="app notin (payments),pod-template-hash") == ["ledger"]
    assert names(label_selector="!app") == []
    first = core.list_namespaced_pod(NAMESPACE).items[0].metadata.name
    assert len(core.list_namespaced_pod(NAMESPACE,
                                        field_selector=f"metadata.name={first}").items) == 1
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_pod(NAMESPACE, label_selector="app in payments")
    assert bad.value.status == 400


def test_pagination_with_limit_and_continue(sim: Sim) -> None:
    core = client.CoreV1Api(sim.api_client())
    first = core.list_namespaced_pod(NAMESPACE, limit=2)
    assert len(first.items) == 2
    assert first.metadata._continue
    assert first.metadata.remaining_item_count == 1
    second = core.list_namespaced_pod(NAMESPACE, limit=2, _continue=first.metadata._continue)
    assert second.metadata._continue is None
    names = [p.metadata.name for p in first.items + second.items]
    assert sorted(names) == sorted(p.metadata.name
                                   for p in core.list_namespaced_pod(NAMESPACE).items)


def test_watch_streams_changes_after_a_resource_version(sim: Sim) -> None:
    apps = client.AppsV1Api(sim.api_client())
    listed = apps.list_namespaced_deployment(NAMESPACE)
    apps.patch_namespaced_deployment_scale("ledger", NAMESPACE, {"spec": {"replicas": 2}})
    started = time.monotonic()
    events = list(watch.Watch().stream(
        apps.list_namespaced_deployment, NAMESPACE,
        resource_version=listed.metadata.resource_version, timeout_seconds=1))
    assert time.monotonic() - started < 5
    assert all(event["type"] == "MODIFIED" for event in events)
    assert any(event["object"].metadata.name == "ledger" and event["object"].spec.replicas == 2
               for event in events)
    initial = list(watch.Watch().stream(client.CoreV1Api(sim.api_client()).list_node,
                                        timeout_seconds=1))
    assert [event["type"] for event in initial] == ["ADDED", "ADDED"]


def test_a_wrong_token_gets_401_unauthorized(sim: Sim) -> None:
    core = client.CoreV1Api(sim.api_client(token="not-the-token"))
    with pytest.raises(ApiException) as denied:
        core.list_node()
    assert denied.value.status == 401
    assert "Unauthorized" in denied.value.body


def test_a_missing_object_gets_a_404_status(sim: Sim) -> None:
    apps = client.AppsV1Api(sim.api_client())
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("checkout", NAMESPACE)
    assert missing.value.status == 404
    assert '"kind": "Status"' in missing.value.body.replace('":"', '": "')
    assert 'deployments.apps \\"checkout\\" not found' in missing.value.body


def test_refuse_fault_closes_the_port_and_restore_reopens_the_same_port(sim: Sim) -> None:
    core = client.CoreV1Api(sim.api_client())
    port = sim.server.port
    assert core.list_node().items
    sim.faults.region_outage(REGION, "refuse")
    wait_until(lambda: sim.server.listening, lambda listening: not listening)
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.MaxRetryError) as refused:
        client.CoreV1Api(sim.api_client()).list_node(_request_timeout=2)
    assert time.monotonic() - started < 2
    assert isinstance(refused.value.reason, urllib3.exceptions.NewConnectionError)
    assert "refused" in str(refused.value.reason).lower()
    sim.faults.restore_region(REGION)
    wait_until(lambda: sim.server.listening, bool)
    assert sim.server.port == port
    assert len(client.CoreV1Api(sim.api_client()).list_node(_request_timeout=2).items) == 2


def test_a_kube_api_fault_is_in_force_when_the_control_returns(sim: Sim) -> None:
    """No follower-thread race: the listening socket follows each control before it returns."""
    for _ in range(20):
        sim.faults.set_kube_api(REGION, "refuse")
        assert not sim.server.listening
        sim.faults.set_kube_api(REGION, None)
        assert sim.server.listening
    assert len(client.CoreV1Api(sim.api_client()).list_node(_request_timeout=2).items) == 2


def test_hang_fault_makes_the_client_time_out_until_restored(sim: Sim) -> None:
    sim.faults.region_outage(REGION, "hang")
    core = client.CoreV1Api(sim.api_client())
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.MaxRetryError) as hung:
        core.list_node(_request_timeout=(2, 0.5))
    assert isinstance(hung.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert time.monotonic() - started < 3
    sim.faults.restore_region(REGION)
    assert len(client.CoreV1Api(sim.api_client()).list_node(_request_timeout=2).items) == 2


@pytest.mark.parametrize("reason", ["CrashLoopBackOff", "ImagePullBackOff"])
def test_pods_never_ready_fault_shows_the_waiting_reason(sim: Sim, reason: str) -> None:
    api = sim.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    sim.faults.set_pods_never_ready(REGION, reason)
    apps.patch_namespaced_deployment_scale("ledger", NAMESPACE, {"spec": {"replicas": 2}})

    def waiting() -> list[client.V1Pod]:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=ledger").items
        return [p for p in pods if p.status.container_statuses and
                p.status.container_statuses[0].state.waiting and
                p.status.container_statuses[0].state.waiting.reason == reason]

    stuck = wait_until(waiting, lambda pods: len(pods) == 1)[0]
    assert not stuck.status.container_statuses[0].ready
    if reason == "CrashLoopBackOff":
        wait_until(lambda: waiting()[0].status.container_statuses[0].restart_count,
                   lambda restarts: restarts >= 2)
    assert _ready_replicas(apps, "ledger") == 1
    sim.faults.set_pods_never_ready(REGION, None)
    wait_until(lambda: _ready_replicas(apps, "ledger"), lambda ready: ready == 2)


def test_pods_stay_pending_without_a_ready_node(sim: Sim) -> None:
    api = sim.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    sim.cluster.set_nodes_ready(False)
    apps.patch_namespaced_deployment_scale("ledger", NAMESPACE, {"spec": {"replicas": 2}})

    def pending() -> list[client.V1Pod]:
        return [p for p in core.list_namespaced_pod(NAMESPACE).items
                if p.status.phase == "Pending"]

    pod = wait_until(pending, lambda pods: len(pods) == 1)[0]
    scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    assert pod.spec.node_name is None
    wait_until(lambda: _ready_replicas(apps, "payments"), lambda ready: ready == 0)
    sim.cluster.set_nodes_ready(True)
    wait_until(lambda: _ready_replicas(apps, "ledger"), lambda ready: ready == 2)


def test_controller_follows_the_desired_node_count(sim: Sim) -> None:
    wanted = {"nodes": 2}
    sim.controller.stop()
    controller = KubeController(sim.cluster, node_start_seconds=0.2, pod_start_seconds=0.05,
                                desired_node_count=lambda: wanted["nodes"]).start()
    try:
        core = client.CoreV1Api(sim.api_client())
        wanted["nodes"] = 4

        def ready_nodes() -> int:
            return sum(1 for n in core.list_node().items for c in n.status.conditions
                       if c.type == "Ready" and c.status == "True")

        wait_until(lambda: len(core.list_node().items), lambda count: count == 4)
        assert ready_nodes() < 4  # new nodes start NotReady
        wait_until(ready_nodes, lambda count: count == 4)
        wanted["nodes"] = 1
        wait_until(lambda: len(core.list_node().items), lambda count: count == 1)
        apps = client.AppsV1Api(sim.api_client())
        wait_until(lambda: _ready_replicas(apps, "payments"), lambda ready: ready == 2)
    finally:
        controller.stop()


def test_manual_refuse_and_resume_without_a_fault_state(ca: trustme.CA) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    cluster = KubeCluster("us-west-2")
    with FakeKubeApiServer(cluster, ssl_context=context, token=TOKEN) as server:
        port = server.port
        server.refuse()
        assert not server.listening
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        server.resume()
        assert server.listening and server.port == port
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_stop_ends_an_open_watch_quickly(sim: Sim) -> None:
    core = client.CoreV1Api(sim.api_client())
    response = core.list_node(watch=True, timeout_seconds=60, _preload_content=False)
    first = response.readline()
    assert b'"ADDED"' in first
    started = time.monotonic()
    sim.controller.stop()
    sim.server.stop()
    assert time.monotonic() - started < 4
    with pytest.raises((urllib3.exceptions.ProtocolError, OSError)):
        for _ in range(100):
            if not response.readline():
                raise OSError("stream ended")
    response.release_conn()


def test_a_deleted_pod_is_replaced_by_the_controller(sim: Sim) -> None:
    api = sim.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    victim = core.list_namespaced_pod(NAMESPACE, label_selector="app=ledger").items[0]
    core.delete_namespaced_pod(victim.metadata.name, NAMESPACE)

    def ledger_pods() -> list[str]:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="app=ledger").items
        return [p.metadata.name for p in pods if p.status.phase == "Running"]

    replacement = wait_until(ledger_pods, lambda names: len(names) == 1 and
                             victim.metadata.name not in names)
    assert replacement[0].startswith("ledger-")
    wait_until(lambda: _ready_replicas(apps, "ledger"), lambda ready: ready == 1)
