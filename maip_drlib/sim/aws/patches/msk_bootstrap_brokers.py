"""Patch: MSK ``GetBootstrapBrokers`` answers, with the simulated broker's address when the
data plane runs.

moto 5.2.5: no ``get_bootstrap_brokers`` response method: ``aws kafka get-bootstrap-brokers``
fails (the URL matches moto's cluster route, the action is not implemented).

Production (botocore kafka 2018-11-14): GET /v1/clusters/{clusterArn}/bootstrap-brokers
answers one string per listener the cluster has (``BootstrapBrokerString`` for plaintext on
9092, ``BootstrapBrokerStringTls`` on 9094, ``BootstrapBrokerStringSaslIam`` on 9098, ...),
each a comma-separated ``host:port`` list; ``NotFoundException`` for an unknown cluster.

This patch answers ``BootstrapBrokerString`` only: with the data plane on (the moto runtime's
``data_plane`` has a running ``kafka`` fleet, ``maip_drlib.sim.kafka``) the SIMULATED broker
behind the cluster, ``127.0.0.1:<port>`` (plaintext: the simulated brokers serve neither TLS
nor IAM); otherwise made-up production-shaped names (``b-<n>.<cluster>.<id>.c2.kafka.<region>.
amazonaws.com:9092``) with nothing behind them, as moto's RDS endpoints. Not supported: the
TLS, SASL/SCRAM, IAM, public and VPC-connectivity strings, serverless clusters' IAM-only
answer.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "msk_bootstrap_brokers"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "simulated_bootstrap"]


def simulated_bootstrap(cluster_arn: str) -> str | None:
    """The data plane's broker address for ``cluster_arn``, or None (no data plane/Kafka)."""
    try:
        data_plane = getattr(runtime.current(), "data_plane", None)
    except RuntimeError:
        return None
    fleet = getattr(data_plane, "kafka", None)
    return fleet.bootstrap(cluster_arn) if fleet is not None else None


def _made_up(cluster: Any) -> str:
    short = str(cluster.cluster_id).split("-")[0][:6]
    count = int(cluster.number_of_broker_nodes or 1)
    return ",".join(
        f"b-{number}.{cluster.cluster_name}.{short}.c2.kafka.{cluster.region_name}"
        f".amazonaws.com:9092" for number in range(1, count + 1))


def _response(_: Any) -> Any:
    def get_bootstrap_brokers(self: Any) -> str:
        from moto.kafka.exceptions import NotFoundException

        path = self.parsed_url.path
        arn = unquote(path.split("/v1/clusters/", 1)[-1].rsplit("/bootstrap-brokers", 1)[0])
        cluster = self.kafka_backend.clusters.get(arn)
        if cluster is None:
            raise NotFoundException(f"Cluster {arn} does not exist.")
        address = simulated_bootstrap(arn) or _made_up(cluster)
        return json.dumps({"bootstrapBrokerString": address})

    return get_bootstrap_brokers


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.kafka.responses import KafkaResponse

    replace_method(KafkaResponse, "get_bootstrap_brokers", _response)
