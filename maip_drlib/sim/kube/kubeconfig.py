"""Write a kubeconfig for the fake API servers: one cluster, user and context per region.

Not supported: client certificates, exec credential plugins, auth providers; the file holds
bearer tokens, so it is written with mode 0600.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class KubeContextSpec:
    """One context: ``name`` (e.g. maip-prod), server URL, CA PEM, token, default namespace."""

    name: str
    server: str
    ca_pem: bytes
    token: str
    namespace: str = "default"


def kubeconfig_dict(contexts: Sequence[KubeContextSpec]) -> dict[str, object]:
    if not contexts:
        raise ValueError("at least one context is required")
    names = [spec.name for spec in contexts]
    if len(set(names)) != len(names):
        raise ValueError(f"context names must be unique, got {names}")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": spec.name, "cluster": {
            "server": spec.server,
            "certificate-authority-data": base64.b64encode(spec.ca_pem).decode(),
        }} for spec in contexts],
        "users": [{"name": spec.name, "user": {"token": spec.token}} for spec in contexts],
        "contexts": [{"name": spec.name, "context": {
            "cluster": spec.name, "user": spec.name, "namespace": spec.namespace,
        }} for spec in contexts],
        "current-context": contexts[0].name,
    }


def write_kubeconfig(path: str | os.PathLike[str], clusters: Sequence[KubeContextSpec]) -> Path:
    """Write the kubeconfig (mode 0600); the first context is the current one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig_dict(clusters), sort_keys=False)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(target, 0o600)
    return target
