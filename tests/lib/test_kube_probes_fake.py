"""Kubernetes probes and the scale action over a RegionHandle against the fake API server."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from maip_drlib.actions.kube import scale_all_deployments
from maip_drlib.config import RegionConnection
from maip_drlib.errors import WaitTimeout
from maip_drlib.facts import ApiUnreachable, NodesFact
from maip_drlib.probes import kube
from maip_drlib.regions import RegionHandle
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

sim_kube = pytest.importorskip("maip_drlib.sim.kube")

NAMESPACE = "maip-services"
TOKEN = "sim-token-dr"


@pytest.fixture
def cluster_and_handle(tmp_path: Path) -> Iterator[tuple[object, object, RegionHandle]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    cluster = sim_kube.KubeCluster("us-west-2")
    cluster.seed(NAMESPACE, [
        sim_kube.DeploymentSpec("payments", 1, "maip/payments:1", 8080, 1, 10),
        sim_kube.DeploymentSpec("ledger", 1, "maip/ledger:1", 8081),
    ], nodes=2, nodegroup="maip-prod-dr-nodegroup")
    server = sim_kube.FakeKubeApiServer(cluster, ssl_context=context, token=TOKEN,
                                        hang_max_seconds=3.0)
    controller = sim_kube.KubeController(cluster, pod_start_seconds=0.1, node_start_seconds=0.1,
                                         crash_restart_seconds=0.2)
    server.start()
    controller.start()
    path = sim_kube.write_kubeconfig(tmp_path / "kubeconfig", [sim_kube.KubeContextSpec(
        "maip-prod-dr", server.url, ca.cert_pem.bytes(), TOKEN, NAMESPACE)])
    # Consent to write: the scale action patches deployments.
    handle = RegionHandle(RegionConnection("us-west-2", "maip-prod-dr", kubeconfig=path),
                          target_name="fake", simulated=True,
                          writes=WriteGate.consented(target="fake"))
    try:
        yield cluster, server, handle
    finally:
        handle.close()
        controller.stop()
        server.stop()


def test_read_probes(cluster_and_handle):
    _, _, handle = cluster_and_handle
    nodes = kube.nodes(handle)
    assert isinstance(nodes, NodesFact) and len(nodes.ready) == 2 and not nodes.not_ready
    deployments = {item.name: item for item in kube.deployments(handle, NAMESPACE)}
    assert set(deployments) == {"payments", "ledger"}
    assert deployments["payments"].selector
    pods = kube.pods(handle, NAMESPACE)
    assert len(pods) == 2 and all(pod.ready and pod.phase == "Running" for pod in pods)
    assert all(pod.matches(deployments[pod.name.rsplit("-", 2)[0]].selector) for pod in pods)
    services = kube.services(handle, NAMESPACE)
    assert {service.name for service in services} == {"payments", "ledger"}
    hpas = kube.hpas(handle, NAMESPACE)
    assert [(hpa.target_name, hpa.max_replicas) for hpa in hpas] == [("payments", 10)]


def test_not_ready_nodes_and_refused_api(cluster_and_handle):
    cluster, server, handle = cluster_and_handle
    cluster.set_nodes_ready(False)
    nodes = kube.nodes(handle)
    assert isinstance(nodes, NodesFact) and len(nodes.not_ready) == 2
    server.refuse()
    unreachable = kube.nodes(handle)
    assert isinstance(unreachable, ApiUnreachable)
    assert unreachable.region == "us-west-2" and unreachable.elapsed_s < 10


def test_scale_all_deployments_waits_until_ready(cluster_and_handle):
    _, _, handle = cluster_and_handle
    outcome = scale_all_deployments(handle, NAMESPACE, 3, deadline_s=15)
    assert not outcome.value.not_ready
    assert all(item.ready == 3 for item in kube.deployments(handle, NAMESPACE))


def test_scale_timeout_names_deployments_and_waiting_reasons(cluster_and_handle):
    cluster, _, handle = cluster_and_handle
    cluster.set_nodes_ready(False)
    with pytest.raises(WaitTimeout) as caught:
        scale_all_deployments(handle, NAMESPACE, 2, deadline_s=1.5)
    message = str(caught.value)
    assert "payments" in message and "ledger" in message and "pods waiting on" in message
