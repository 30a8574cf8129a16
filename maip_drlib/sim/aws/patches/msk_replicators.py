"""Patch: MSK Replicator API (create, list, describe, delete) with its state from the faults.

moto 5.2.5: no replicator support at all: ``/replication/v1/replicators`` has no route and
answers 404, so ``aws kafka list-replicators`` fails.

Production (botocore kafka 2018-11-14): ``CreateReplicator`` POST /replication/v1/replicators,
``ListReplicators`` GET same (``replicatorNameFilter``: names STARTING with it, as the API
reference says, not containing it; summaries with ``ReplicatorState``),
``DescribeReplicator`` / ``DeleteReplicator`` GET / DELETE
/replication/v1/replicators/{replicatorArn}. A replicator lives in its TARGET cluster's region;
its ARN is ``arn:aws:kafka:<region>:<account>:replicator/<name>/<uuid>``. The state field is
``ReplicatorState`` (RUNNING, CREATING, UPDATING, DELETING, FAILED): the runbook's query asks
for ``CurrentState``, which does not exist and reads null (an erratum for the lead).

This patch adds the routes, the response methods and a per-region store on the backend. A
replicator's state is ``FaultState.replicator_state`` (the create call answers ``CREATING``).
Not supported: ``UpdateReplicationInfo``, tags on replicators, paging. Data is replicated
only with the data plane, by its simulated replicator (``maip_drlib.sim.kafka``), which reads
what to copy from ``describe_replicator``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "msk_replicators"
_STORE_ATTR = "maip_replicators"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _store(backend: Any) -> dict[str, dict[str, Any]]:
    found = getattr(backend, _STORE_ATTR, None)
    if found is None:
        found = {}
        setattr(backend, _STORE_ATTR, found)
    return found


def _state() -> str:
    return runtime.current().faults.snapshot().replicator_state


def _not_found(arn: str) -> Exception:
    from moto.kafka.exceptions import NotFoundException

    return NotFoundException(f"Replicator {arn} does not exist.")


def _cluster_alias(cluster: dict[str, Any]) -> str:
    arn = cluster.get("AmazonMskCluster", {}).get("MskClusterArn", "")
    return arn.rsplit("/", 1)[-1] or "cluster"


def _backend_create(_: Any) -> Any:
    def create_replicator(self: Any, params: dict[str, Any]) -> dict[str, Any]:
        from moto.kafka.exceptions import BadRequestException

        name = params["ReplicatorName"]
        store = _store(self)
        if any(item["ReplicatorName"] == name for item in store.values()):
            raise BadRequestException(f"Replicator {name} already exists.")
        arn = (
            f"arn:aws:kafka:{self.region_name}:{self.account_id}:replicator/{name}/"
            f"{uuid.uuid4()}"
        )
        clusters = [
            {**cluster, "KafkaClusterAlias": _cluster_alias(cluster)}
            for cluster in params.get("KafkaClusters", [])
        ]
        store[arn] = {
            "ReplicatorArn": arn,
            "ReplicatorName": name,
            "ReplicatorDescription": params.get("Description", ""),
            "ServiceExecutionRoleArn": params["ServiceExecutionRoleArn"],
            "KafkaClusters": clusters,
            "ReplicationInfoList": params.get("ReplicationInfoList", []),
            "Tags": params.get("Tags", {}),
            "CreationTime": datetime.now(UTC),
            "CurrentVersion": "1",
        }
        return {"ReplicatorArn": arn, "ReplicatorName": name, "ReplicatorState": "CREATING"}

    return create_replicator


def _alias_for(clusters: list[dict[str, Any]], arn: str | None) -> str | None:
    for cluster in clusters:
        if cluster.get("AmazonMskCluster", {}).get("MskClusterArn") == arn:
            return cluster["KafkaClusterAlias"]
    return None


def _description(item: dict[str, Any]) -> dict[str, Any]:
    info_list = [
        {
            "SourceKafkaClusterAlias": _alias_for(
                item["KafkaClusters"], info.get("SourceKafkaClusterArn")
            ),
            "TargetKafkaClusterAlias": _alias_for(
                item["KafkaClusters"], info.get("TargetKafkaClusterArn")
            ),
            "TargetCompressionType": info.get("TargetCompressionType", "NONE"),
            "TopicReplication": info.get("TopicReplication", {}),
            "ConsumerGroupReplication": info.get("ConsumerGroupReplication", {}),
        }
        for info in item["ReplicationInfoList"]
    ]
    return {**item, "ReplicationInfoList": info_list, "ReplicatorState": _state(),
            "IsReplicatorReference": False}


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    described = _description(item)
    return {
        "ReplicatorArn": item["ReplicatorArn"],
        "ReplicatorName": item["ReplicatorName"],
        "ReplicatorState": described["ReplicatorState"],
        "CreationTime": item["CreationTime"],
        "CurrentVersion": item["CurrentVersion"],
        "IsReplicatorReference": False,
        "KafkaClustersSummary": [
            {key: cluster[key] for key in ("AmazonMskCluster", "KafkaClusterAlias")
             if key in cluster}
            for cluster in item["KafkaClusters"]
        ],
        "ReplicationInfoSummaryList": [
            {key: info[key] for key in ("SourceKafkaClusterAlias", "TargetKafkaClusterAlias")}
            for info in described["ReplicationInfoList"]
        ],
    }


def _backend_list(_: Any) -> Any:
    def list_replicators(self: Any, name_filter: str | None) -> list[dict[str, Any]]:
        return [
            _summary(item)
            for item in _store(self).values()
            if not name_filter or item["ReplicatorName"].startswith(name_filter)
        ]

    return list_replicators


def _backend_describe(_: Any) -> Any:
    def describe_replicator(self: Any, arn: str) -> dict[str, Any]:
        item = _store(self).get(arn)
        if item is None:
            raise _not_found(arn)
        return _description(item)

    return describe_replicator


def _backend_delete(_: Any) -> Any:
    def delete_replicator(self: Any, arn: str) -> dict[str, Any]:
        if _store(self).pop(arn, None) is None:
            raise _not_found(arn)
        return {"ReplicatorArn": arn, "ReplicatorState": "DELETING"}

    return delete_replicator


def _camel(value: Any) -> Any:
    """API (PascalCase) member names to the wire's camelCase JSON names, recursively."""
    if isinstance(value, dict):
        return {
            key[:1].lower() + key[1:]: (item if key == "Tags" else _camel(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_camel(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _pascal(value: Any) -> Any:
    """The wire's camelCase request JSON to API member names; tag keys are left alone."""
    if isinstance(value, dict):
        return {
            key[:1].upper() + key[1:]: (item if key == "tags" else _pascal(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    return value


def _replicator_arn_from_path(response: Any) -> str:
    return unquote(response.parsed_url.path.split("/replicators/", 1)[-1])


def _response_create(_: Any) -> Any:
    def create_replicator(self: Any) -> str:
        params = _pascal(json.loads(self.body or "{}"))
        return json.dumps(_camel(self.kafka_backend.create_replicator(params)))

    return create_replicator


def _response_list(_: Any) -> Any:
    def list_replicators(self: Any) -> str:
        summaries = self.kafka_backend.list_replicators(self._get_param("replicatorNameFilter"))
        return json.dumps({"replicators": _camel(summaries)})

    return list_replicators


def _response_describe(_: Any) -> Any:
    def describe_replicator(self: Any) -> str:
        item = self.kafka_backend.describe_replicator(_replicator_arn_from_path(self))
        return json.dumps(_camel(item))

    return describe_replicator


def _response_delete(_: Any) -> Any:
    def delete_replicator(self: Any) -> str:
        answer = self.kafka_backend.delete_replicator(_replicator_arn_from_path(self))
        return json.dumps(_camel(answer))

    return delete_replicator


def _add_routes() -> None:
    from moto.kafka import urls
    from moto.kafka.responses import KafkaResponse

    urls.url_paths.setdefault("{0}/replication/v1/replicators$", KafkaResponse.dispatch)
    urls.url_paths.setdefault(
        "{0}/replication/v1/replicators/(?P<replicatorArn>.+)$", KafkaResponse.dispatch
    )


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.kafka.models import KafkaBackend
    from moto.kafka.responses import KafkaResponse

    replace_method(KafkaBackend, "create_replicator", _backend_create)
    replace_method(KafkaBackend, "list_replicators", _backend_list)
    replace_method(KafkaBackend, "describe_replicator", _backend_describe)
    replace_method(KafkaBackend, "delete_replicator", _backend_delete)
    replace_method(KafkaResponse, "create_replicator", _response_create)
    replace_method(KafkaResponse, "list_replicators", _response_list)
    replace_method(KafkaResponse, "describe_replicator", _response_describe)
    replace_method(KafkaResponse, "delete_replicator", _response_delete)
    _add_routes()
