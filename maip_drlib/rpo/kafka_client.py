"""Kafka clients for the MSK canaries and offsets: brokers, authentication, TLS, timeouts.

``KafkaEndpoint.resolve`` finds a region's brokers: ``[targets.<name>.kafka] bootstrap`` when
given, else ``GetBootstrapBrokers`` of the topology's cluster for the listener the access
uses (IAM over TLS: ``BootstrapBrokerStringSaslIam``; TLS: ``...Tls``; plaintext:
``BootstrapBrokerString``). A simulated target reaches loopback only (DESIGN.md 4a): a
simulation without its data plane answers made-up broker names, which read as "no broker".

Authentication ``iam``: SASL/OAUTHBEARER over TLS, each token made by
``aws-msk-iam-sasl-signer-python`` from the REGION HANDLE's credentials (never the process's
default chain), reused until a minute before it expires. Tokens never reach logs or evidence:
they live only in the client.

Every problem that means "this cannot be measured here" is ``KafkaNotMeasurable`` (one line,
"not measured: ..."): kafka-python or the signer missing, no Kafka access configured, no broker
behind a simulated cluster, no listener for the access. Brokers that do not answer are
``Unreachable``. Not supported: SASL/SCRAM, mutual TLS, MSK Serverless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maip_drlib.config import KafkaAccess, Target, Topology
from maip_drlib.errors import DRError, Unreachable
from maip_drlib.loopback import is_loopback_host
from maip_drlib.probes import msk_kafka

if TYPE_CHECKING:
    from maip_drlib.rpo.dynamodb import RegionClients

# Against a simulation a dead broker is noticed fast (as regions.SIMULATED_POLICY does).
SIMULATED_TIMEOUT_S = 2.0
_TOKEN_MARGIN_S = 60.0


class KafkaNotMeasurable(DRError):
    """Kafka cannot be reached for a reason that makes the figure "not measured"."""


def kafka_module() -> Any:
    """The ``kafka`` package (kafka-python), or ``KafkaNotMeasurable`` saying it is missing."""
    try:
        import kafka
    except ImportError as error:
        raise KafkaNotMeasurable("not measured: kafka-python is not installed (pip install "
                                 "maip-dr brings it)") from error
    return kafka


def access_of(target: Target) -> KafkaAccess:
    """The target's Kafka access, or ``KafkaNotMeasurable`` naming the missing table."""
    access = target.kafka_access
    if access is None:
        raise KafkaNotMeasurable(f"not measured: target {target.name!r} has no Kafka access "
                                 f"configured ([targets.{target.name}.kafka])")
    return access


class IamTokenProvider:
    """kafka-python's OAUTHBEARER token provider over the MSK IAM signer and a handle's
    credentials (see the module docstring)."""

    def __init__(self, handle: RegionClients):
        self.region = handle.region
        self._credentials = handle.session.get_credentials  # type: ignore[attr-defined]
        self._token: str | None = None
        self._expires_at = 0.0

    def _provider(self) -> Any:
        from botocore.credentials import CredentialProvider

        credentials = self._credentials

        class HandleCredentials(CredentialProvider):  # type: ignore[misc]
            METHOD = "maip-dr-region-handle"

            def load(self) -> Any:
                return credentials()

        return HandleCredentials()

    def token(self) -> str:
        if self._token is None or time.time() > self._expires_at - _TOKEN_MARGIN_S:
            try:
                from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
            except ImportError as error:
                raise KafkaNotMeasurable(
                    "not measured: aws-msk-iam-sasl-signer-python is not installed (MSK IAM "
                    "authentication needs it)") from error
            token, expires_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(
                self.region, self._provider())
            self._token, self._expires_at = str(token), float(expires_ms) / 1000.0
        return self._token

    def extensions(self) -> dict[str, str]:
        return {}

    def __repr__(self) -> str:  # never the token
        return f"IamTokenProvider(region={self.region!r})"


@dataclass(frozen=True)
class KafkaEndpoint:
    """One region's brokers and how to talk to them."""

    region: str
    cluster: str
    bootstrap: str
    access: KafkaAccess
    timeout_s: float

    @classmethod
    def resolve(cls, handle: RegionClients, topology: Topology, access: KafkaAccess,
                simulated: bool) -> KafkaEndpoint:
        """The brokers of the topology's MSK cluster in ``handle``'s region (read-only)."""
        cluster = topology.region(handle.region).msk_cluster
        bootstrap = access.bootstrap_for(handle.region)
        if bootstrap is None:
            arn = msk_kafka.cluster_arn(handle, cluster)  # type: ignore[arg-type]
            bootstrap = msk_kafka.bootstrap_brokers(handle, arn,  # type: ignore[arg-type]
                                                    auth=access.auth, tls=access.tls)
            if bootstrap is None:
                field = msk_kafka.LISTENER_FIELDS.get((access.auth, access.tls), "?")
                raise KafkaNotMeasurable(f"not measured: MSK cluster {cluster} in "
                                         f"{handle.region} has no {field} listener")
        hosts = [part.strip() for part in bootstrap.split(",") if part.strip()]
        if simulated and not all(is_loopback_host(h.rsplit(":", 1)[0].strip("[]"))
                                 for h in hosts):
            raise KafkaNotMeasurable(
                f"not measured: the simulation has no Kafka broker behind {cluster} in "
                f"{handle.region} (brokers run with its data plane)")
        timeout = min(access.timeout_s, SIMULATED_TIMEOUT_S) if simulated else access.timeout_s
        return cls(region=handle.region, cluster=cluster, bootstrap=",".join(hosts),
                   access=access, timeout_s=timeout)

    def options(self, handle: RegionClients) -> dict[str, Any]:
        """kafka-python keyword arguments common to producers and consumers."""
        timeout_ms = int(self.timeout_s * 1000)
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap.split(","),
            "request_timeout_ms": timeout_ms + 500,
            "api_version_auto_timeout_ms": timeout_ms,
            "reconnect_backoff_max_ms": 1000,
            "client_id": "maip-dr",
        }
        if self.access.tls:
            options["security_protocol"] = "SASL_SSL" if self.access.auth == "iam" else "SSL"
            options["ssl_check_hostname"] = True
            if self.access.ca_file is not None:
                options["ssl_cafile"] = str(self.access.ca_file)
        if self.access.auth == "iam":
            options["sasl_mechanism"] = "OAUTHBEARER"
            options["sasl_oauth_token_provider"] = _token_provider(handle)
        return options

    def producer(self, handle: RegionClients) -> Any:
        """A producer that waits for every in-sync replica, never retries (a failed write is
        the outage) and gives up after ``timeout_s``."""
        kafka = kafka_module()
        timeout_ms = int(self.timeout_s * 1000)
        try:
            return kafka.KafkaProducer(acks="all", retries=0, linger_ms=0,
                                       max_block_ms=timeout_ms,
                                       delivery_timeout_ms=timeout_ms + 1000,
                                       **self.options(handle))
        except kafka.errors.KafkaError as error:
            raise self.unreachable("connect a producer", error) from error

    def consumer(self, handle: RegionClients) -> Any:
        """A consumer without a group (nothing committed) that never creates a topic."""
        kafka = kafka_module()
        try:
            return kafka.KafkaConsumer(group_id=None, enable_auto_commit=False,
                                       allow_auto_create_topics=False,
                                       auto_offset_reset="earliest",
                                       fetch_max_wait_ms=100, **self.options(handle))
        except kafka.errors.KafkaError as error:
            raise self.unreachable("connect a consumer", error) from error

    def unreachable(self, doing: str, error: BaseException) -> Unreachable:
        return Unreachable(f"Kafka brokers of {self.cluster} in {self.region} "
                           f"({self.bootstrap}): {doing}: {type(error).__name__}: {error}",
                           region=self.region, target=self.cluster)


def _token_provider(handle: RegionClients) -> Any:
    """An ``AbstractTokenProvider`` subclass instance (kafka-python checks the type)."""
    from kafka.sasl.oauth import AbstractTokenProvider

    inner = IamTokenProvider(handle)

    class Provider(AbstractTokenProvider):  # type: ignore[misc]
        def token(self) -> str:
            return inner.token()

        def __repr__(self) -> str:
            return repr(inner)

    return Provider()
