"""A region handle's Kubernetes ``ApiClient``: its kubeconfig read, checked and loaded.

``build_api_client(handle)`` reads the handle's kubeconfig, finds its context, refuses for a
simulated handle a context beyond loopback (or with an exec plugin or auth-provider), replaces
a live context's EKS exec plugin (``aws eks get-token``, ``aws-iam-authenticator``) with the
suite's ``EksTokenProvider``, and attaches the operation recorder and the write gate.
``RegionHandle.api_client`` calls it once. Not supported: exec plugins other than EKS's on live
contexts (kubernetes' own loader runs them), kubeconfig merging across files.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maip_drlib.aws_operations import attach_kube_recorder
from maip_drlib.errors import ConfigError
from maip_drlib.evidence.redact import default_redactor

if TYPE_CHECKING:
    from kubernetes import client as kube_client

    from maip_drlib.regions import RegionHandle

_EKS_EXEC_COMMANDS = ("aws", "aws-iam-authenticator")


def build_api_client(self: RegionHandle) -> kube_client.ApiClient:
    from kubernetes import client as kube_client
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    path = self.kubeconfig_path
    document = _read_kubeconfig(path)
    context = _find_named(document, "contexts", self.kube_context)
    if context is None:
        known = ", ".join(
            str(item.get("name")) for item in document.get("contexts") or []
            if isinstance(item, dict)
        ) or "none"
        raise ConfigError(
            f"kube context {self.kube_context!r} not found in {path} (contexts: {known})",
            key=f"{self.region}.kube_context",
        )
    if self.simulated:  # the load-time check again, on the document used below
        _refuse_beyond_loopback(document, path, self.kube_context, self.region)
    configuration = kube_client.Configuration()
    configuration.retries = self.policy.kube_retries
    user_name = (context.get("context") or {}).get("user")
    user = _find_named(document, "users", user_name) if user_name else None
    exec_spec = ((user or {}).get("user") or {}).get("exec")
    try:
        if exec_spec and not self.simulated and is_eks_exec(exec_spec):
            _load_with_eks_tokens(self, document, path, user_name, exec_spec, configuration)
        elif self.simulated:
            _load_checked(document, path, self.kube_context, configuration)
        else:
            kube_config.new_client_from_config(
                config_file=str(path), context=self.kube_context, persist_config=False,
                client_configuration=configuration,
            )
    except ConfigException as error:
        raise ConfigError(
            f"kube context {self.kube_context!r} in {path} is unusable: "
            f"{default_redactor().text(str(error))}",
            key=f"{self.region}.kube_context",
        ) from error
    api = kube_client.ApiClient(configuration=configuration)
    attach_kube_recorder(api, target=self.target_name, region=self.region)
    self.writes.attach_kube(api, region=self.region)
    return api

def _load_with_eks_tokens(self: RegionHandle, document: dict, path: Path,
                          user_name: str, exec_spec: dict, configuration: Any) -> None:
    from kubernetes.config.kube_config import KubeConfigLoader

    from maip_drlib.eks_token import EksTokenProvider

    args = [str(arg) for arg in exec_spec.get("args") or []]
    cluster = _flag_value(args, ("--cluster-name", "--cluster-id", "-i")) or self.eks_cluster
    if not cluster:
        raise ConfigError(
            f"kube context {self.kube_context!r} in {path} uses an EKS exec plugin without "
            "a cluster name, and the topology names none",
            key=f"{self.region}.kube_context",
        )
    token_region = _flag_value(args, ("--region",)) or self.region
    stripped = copy.deepcopy(document)
    for item in stripped.get("users") or []:
        if isinstance(item, dict) and item.get("name") == user_name:
            item["user"] = {
                key: value for key, value in (item.get("user") or {}).items() if key != "exec"
            }
    loader = KubeConfigLoader(
        config_dict=stripped, active_context=self.kube_context,
        config_base_path=str(path.parent),
    )
    loader.load_and_set(configuration)
    self.token_provider = EksTokenProvider(self.session, cluster, token_region,
                                           sts_endpoint_url=self.connection.endpoint_url)
    self.token_provider.install(configuration)


def _read_kubeconfig(path: Path) -> dict:
    from maip_drlib.kubeconfig_check import read_kubeconfig

    return read_kubeconfig(path, key="kubeconfig")


def _refuse_beyond_loopback(document: dict, path: Path, context: str, region: str) -> None:
    """A simulated handle's context: loopback cluster servers, no exec, no auth-provider."""
    from maip_drlib.kubeconfig_check import loopback_problem

    problem = loopback_problem(document, context)
    if problem is not None:
        raise ConfigError(f"kubeconfig {path}: {problem}", key=f"{region}.kubeconfig")


def _load_checked(document: dict, path: Path, context: str, configuration: Any) -> None:
    """Configure from the document just checked (not the file again, which may have changed)."""
    from kubernetes.config.kube_config import KubeConfigLoader

    loader = KubeConfigLoader(config_dict=document, active_context=context,
                              config_base_path=str(path.parent))
    loader.load_and_set(configuration)


def _find_named(document: dict, section: str, name: str) -> dict | None:
    for item in document.get(section) or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def is_eks_exec(exec_spec: dict) -> bool:
    command = Path(str(exec_spec.get("command", ""))).name
    args = [str(arg) for arg in exec_spec.get("args") or []]
    if command == "aws":
        return "get-token" in args and "eks" in args
    return command in _EKS_EXEC_COMMANDS


def _flag_value(args: list[str], flags: tuple[str, ...]) -> str | None:
    for index, arg in enumerate(args):
        for flag in flags:
            if arg == flag and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


