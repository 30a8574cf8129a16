"""A small, stateful fake Kubernetes API server for the embedded simulation (DESIGN.md 6).

One ``KubeCluster`` holds one region's objects, a ``FakeKubeApiServer`` serves it over HTTPS
on 127.0.0.1 with the real JSON shapes (discovery, lists, watch, server-side Tables, the
deployment scale subresource), and a ``KubeController`` brings pods up on Ready nodes.
``write_kubeconfig`` writes a kubeconfig for the official client and kubectl.

Not supported: ReplicaSets, rolling updates of changed pod templates, creating or deleting
anything but pods, admission, RBAC, protobuf, server-side apply, OpenAPI documents.
"""

from __future__ import annotations

from maip_drlib.sim.kube.controller import KubeController
from maip_drlib.sim.kube.kubeconfig import KubeContextSpec, write_kubeconfig
from maip_drlib.sim.kube.objects import DeploymentSpec
from maip_drlib.sim.kube.server import FakeKubeApiServer
from maip_drlib.sim.kube.state import KubeCluster

__all__ = [
    "DeploymentSpec",
    "FakeKubeApiServer",
    "KubeCluster",
    "KubeContextSpec",
    "KubeController",
    "write_kubeconfig",
]
