"""Region handles: explicit per-region access objects, built once per target (DESIGN.md 10.5).

A ``RegionHandle`` holds the region's ``RegionConnection``, one boto3 ``Session`` and a cache of
clients configured deliberately (standard retries, few attempts against a simulation, short
timeouts, the connection's endpoint URL), plus a lazily built Kubernetes ``ApiClient`` for the
region's kube context (built by ``maip_drlib.regions_kube``). Probes take a handle; they never
build sessions themselves.

Credentials: a live target uses its named profile, or the default chain when it names none
(IRSA, instance roles); simulated targets use the fixed dummy keys, unless their connection
names a profile (only built in code, never from a config file: the IAM-enforced simulation
test). A named profile that does not exist (when the handle is built), or no credentials at
all (at the first call), raise ``CredentialsError`` (exit 2) before any request is sent; AWS
answers of expired or rejected credentials and ``AccessDenied`` become ``CredentialsError`` /
``PermissionDenied`` naming the region and the IAM action (``maip_drlib.permissions``). For a
live kube context whose user runs an exec plugin (``aws eks get-token``), the handle replaces
the plugin with an ``EksTokenProvider`` that refreshes the bearer token before it expires and
when the session's credentials change. A live connection naming ``role_arn`` signs with that
role, assumed through the region's own STS endpoint and refreshed before expiry
(``maip_drlib.assumed_role``; ``session_name``: ``maip-dr-<drill id>``).

Every session and Kubernetes client records its calls when ``MAIP_DR_RECORD_AWS_OPERATIONS``
names a file (``maip_drlib.aws_operations``, for the least-privilege policies).

Imports: boto3, botocore's config, the kubernetes package and yaml (about 1 s together in a
fresh process) are imported inside the functions that build sessions and clients, never at module
level, so importing this module (as every probe, step module and the pytest plugin do) stays
cheap; their types are visible to type checkers only (``TYPE_CHECKING``).

Not supported: reading the process environment (``KUBECONFIG``, ``AWS_PROFILE`` ...): every input
comes from the ``Target`` (boto3 itself still reads its config files for a named profile);
per-service endpoint URLs (one endpoint URL per region). A simulated handle reaches loopback
only: it needs the connection's kubeconfig (never ``~/.kube/config``) and refuses a context
whose cluster server is not loopback or whose user runs an exec plugin or auth-provider
(``maip_drlib.kubeconfig_check.loopback_problem``, the check the config loader makes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maip_drlib.aws_operations import attach_aws_recorder
from maip_drlib.config import (
    PRIMARY_REGION,
    SIM_ACCESS_KEY_ID,
    SIM_SECRET_ACCESS_KEY,
    RegionConnection,
    Target,
    Topology,
)
from maip_drlib.errors import ConfigError, CredentialsError
from maip_drlib.permissions import attach_error_translation
from maip_drlib.write_gate import WriteGate

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config as BotoConfig
    from kubernetes import client as kube_client

    from maip_drlib.eks_token import EksTokenProvider

# Global services are signed for us-east-1 whatever the handle's region. STS is not among
# them: each handle signs for its own region's STS endpoint (sts.REGION.amazonaws.com), so a
# us-east-1 outage never stops the DR side from asking who it is or assuming its role.
GLOBAL_SERVICE_REGION = {"route53": PRIMARY_REGION, "iam": PRIMARY_REGION}


@dataclass(frozen=True)
class ClientPolicy:
    """Retry and timeout settings of every client a handle builds."""

    max_attempts: int  # total attempts, the first included (botocore total_max_attempts)
    connect_timeout_s: float
    read_timeout_s: float
    kube_retries: int

    def botocore_config(self) -> BotoConfig:
        from botocore.config import Config as BotoConfig

        return BotoConfig(
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
        )

    @property
    def kube_request_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds, to pass as ``_request_timeout`` on every Kubernetes call."""
        return (self.connect_timeout_s, self.read_timeout_s)


SIMULATED_POLICY = ClientPolicy(max_attempts=2, connect_timeout_s=2, read_timeout_s=5,
                                kube_retries=1)
LIVE_POLICY = ClientPolicy(max_attempts=5, connect_timeout_s=5, read_timeout_s=15, kube_retries=3)



class RegionHandle:
    """Everything needed to talk to one region of one target; thread-safe."""

    def __init__(
        self,
        connection: RegionConnection,
        *,
        target_name: str,
        simulated: bool,
        eks_cluster: str | None = None,
        policy: ClientPolicy | None = None,
        writes: WriteGate | None = None,
        session_name: str | None = None,
    ):
        self.connection = connection
        # The assumed role's session name (``maip-dr-<drill id>``; assumed_role.py).
        self.session_name = session_name
        # Consent for writes, shared by the target's handles (write_gate.py): none by default.
        self.writes = writes if writes is not None else WriteGate.closed(target=target_name)
        self.target_name = target_name
        self.simulated = simulated
        self.eks_cluster = eks_cluster
        self.policy = policy or (SIMULATED_POLICY if simulated else LIVE_POLICY)
        self._credentials_checked = False
        self.session = self._build_session()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._api_client: kube_client.ApiClient | None = None
        self.token_provider: EksTokenProvider | None = None

    def __repr__(self) -> str:
        return (f"RegionHandle(target={self.target_name!r}, region={self.region!r}, "
                f"kube_context={self.kube_context!r})")

    @property
    def region(self) -> str:
        return self.connection.region

    @property
    def kube_context(self) -> str:
        return self.connection.kube_context

    @property
    def kube_request_timeout(self) -> tuple[float, float]:
        return self.policy.kube_request_timeout

    @property
    def uses_dummy_credentials(self) -> bool:
        return self.simulated and not self.connection.profile

    def _build_session(self) -> boto3.Session:
        import boto3
        from botocore.exceptions import ProfileNotFound

        if self.uses_dummy_credentials:
            session = boto3.Session(
                aws_access_key_id=SIM_ACCESS_KEY_ID,
                aws_secret_access_key=SIM_SECRET_ACCESS_KEY,
                region_name=self.region, botocore_session=_core_session(),
            )
        elif self.connection.profile:
            try:
                session = boto3.Session(profile_name=self.connection.profile,
                                        region_name=self.region,
                                        botocore_session=_core_session(self.connection.profile))
            except ProfileNotFound as error:
                raise CredentialsError(
                    "missing: the profile is not in the AWS config or credentials files",
                    target=self.target_name, region=self.region,
                    profile=self.connection.profile) from error
        else:
            session = boto3.Session(region_name=self.region, botocore_session=_core_session())
        if self.connection.role_arn and not self.simulated:
            from maip_drlib.assumed_role import assumed_role_session, role_session_name

            session = assumed_role_session(
                session, self.connection, self.session_name or role_session_name(None),
                self.policy.botocore_config())
        attach_error_translation(session, target=self.target_name, region=self.region,
                                 profile=self.connection.profile)
        attach_aws_recorder(session, target=self.target_name, region=self.region)
        self.writes.attach_aws(session, region=self.region)
        session.events.register("before-call", self._before_call)
        return session

    def _before_call(self, **_: Any) -> None:
        self._check_credentials()

    def _check_credentials(self) -> None:
        """Raise ``CredentialsError`` when the session resolves no credentials at all."""
        if self.uses_dummy_credentials or self._credentials_checked:
            return
        if self.session.get_credentials() is None:
            raise CredentialsError(
                "missing: none found (no keys in the environment, config files, SSO cache, "
                "web identity or instance role)",
                target=self.target_name, region=self.region, profile=self.connection.profile)
        self._credentials_checked = True

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service`` (global services signed for us-east-1)."""
        signing_region = GLOBAL_SERVICE_REGION.get(service, self.region)
        key = (service, signing_region)
        with self._lock:
            cached = self._clients.get(key)
            if cached is None:
                kwargs: dict[str, Any] = {
                    "region_name": signing_region,
                    "config": self.policy.botocore_config(),
                }
                if self.connection.endpoint_url:
                    kwargs["endpoint_url"] = self.connection.endpoint_url
                cached = self.session.client(service, **kwargs)
                self._clients[key] = cached
            return cached

    # -- Kubernetes ---------------------------------------------------------------------------

    @property
    def kubeconfig_path(self) -> Path:
        """The connection's kubeconfig; ``~/.kube/config`` for a live target naming none.

        A simulated target never falls back to the user's own kubeconfig (DESIGN.md 4a).
        """
        if self.connection.kubeconfig is not None:
            return self.connection.kubeconfig
        if self.simulated:
            raise ConfigError(
                f"simulated target {self.target_name!r} names no kubeconfig for {self.region}: "
                "it never falls back to ~/.kube/config (give the simulation's kubeconfig)",
                key=f"{self.region}.kubeconfig",
            )
        return Path.home() / ".kube" / "config"

    @property
    def api_client(self) -> kube_client.ApiClient:
        """The Kubernetes ApiClient for this region's context, built on first use
        (``regions_kube.build_api_client``)."""
        from maip_drlib.regions_kube import build_api_client

        with self._lock:
            if self._api_client is None:
                self._api_client = build_api_client(self)
            return self._api_client

    def close(self) -> None:
        with self._lock:
            if self._api_client is not None:
                self._api_client.close()
                self._api_client = None


@dataclass(frozen=True)
class RegionHandles:
    """The two handles of one target."""

    target: Target
    primary: RegionHandle
    secondary: RegionHandle

    def by_name(self, region: str) -> RegionHandle:
        for handle in self:
            if handle.region == region:
                return handle
        raise KeyError(region)

    def __iter__(self) -> Iterator[RegionHandle]:
        return iter((self.primary, self.secondary))

    def close(self) -> None:
        for handle in self:
            handle.close()


def build_region_handles(target: Target, topology: Topology | None = None, *,
                         writes: WriteGate | None = None,
                         session_name: str | None = None) -> RegionHandles:
    """One handle per region of ``target``; the topology supplies EKS cluster names; both
    handles share ``writes``, the consent for mutating calls (``write_gate.py``): without it
    every write is refused, so a read-only command cannot write by mistake."""
    handles = []
    writes = writes if writes is not None else WriteGate.closed(target=target.name)
    for connection in target.connections:
        eks_cluster = None
        if topology is not None:
            eks_cluster = topology.region(connection.region).eks_cluster
        handles.append(
            RegionHandle(connection, target_name=target.name, simulated=target.simulated,
                         eks_cluster=eks_cluster, writes=writes, session_name=session_name)
        )
    return RegionHandles(target=target, primary=handles[0], secondary=handles[1])


def _core_session(profile: str | None = None) -> Any:
    """A new botocore session (of ``profile``: an unknown one raises ProfileNotFound here, as
    boto3 would) that parses botocore's data files once per process, not once per session
    (``botocore_data``)."""
    import botocore.session

    from maip_drlib.botocore_data import use_shared_loader

    core = botocore.session.Session(profile=profile)
    use_shared_loader(core)
    return core
