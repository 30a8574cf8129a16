"""Patch: DynamoDB global tables (version 2019.11.21) through UpdateTable ReplicaUpdates.

moto 5.2.5: ``update_table`` ignores ``ReplicaUpdates`` silently: no replica table is created
in the other region and ``describe_table`` has no ``Replicas``; ``GlobalTableVersion`` is
absent.

Production: ``ReplicaUpdates [{Create: {RegionName}}]`` creates the same table in that region
(``CREATING``, then ``ACTIVE``); ``DescribeTable`` in either region lists the OTHER regions'
replicas as ``Replicas [{RegionName, ReplicaStatus}]`` and ``GlobalTableVersion 2019.11.21``.
``Delete`` removes a replica (and its table).

This patch records the replica set on every member table, creates the member table in the
replica region's backend (same key schema, attributes, billing, GSIs, stream specification) and
adds ``Replicas`` and ``GlobalTableVersion`` to ``describe_table``. Replicas are ``ACTIVE`` at
once. Not supported: ``Update`` replica actions (ignored), per-replica throughput/indexes,
``CreateGlobalTable`` (version 2017.11.29), and item replication: items written in one region
are NOT copied. Item replication with lag would hook in by wrapping
``moto.dynamodb.models.DynamoDBBackend.put_item`` / ``update_item`` / ``delete_item``: after
the original, schedule the same write on each member table in ``replica_regions(table)``,
applied after ``FaultState.lag_seconds["dynamodb"]`` (and held while either region is out).
"""

from __future__ import annotations

import copy
from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "dynamodb_global_tables"
GLOBAL_TABLE_VERSION = "2019.11.21"
_MEMBERS_ATTR = "maip_global_table_regions"

__all__ = ["GLOBAL_TABLE_VERSION", "MOTO_VERSION", "PATCH_NAME", "apply", "replica_regions"]


def member_regions(table: Any) -> set[str]:
    """Every region holding this global table (itself included); empty if not global."""
    return set(getattr(table, _MEMBERS_ATTR, None) or ())


def replica_regions(table: Any) -> list[str]:
    """The other regions' replicas of this table, as DescribeTable lists them."""
    return sorted(member_regions(table) - {table.region_name})


def _backend(account_id: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def _create_member(source: Any, region: str) -> Any:
    from moto.dynamodb.models.table import Table

    backend = _backend(source.account_id, region)
    if source.name in backend.tables:
        return backend.tables[source.name]
    member = Table(
        source.name,
        account_id=source.account_id,
        region=region,
        schema=copy.deepcopy(source.schema),
        attr=copy.deepcopy(source.attr),
        throughput=copy.deepcopy({
            key: value for key, value in source.throughput.items()
            if key in ("ReadCapacityUnits", "WriteCapacityUnits")
        }),
        billing_mode=source.billing_mode,
        global_indexes=[
            {
                "IndexName": index.name,
                "KeySchema": copy.deepcopy(index.schema),
                "Projection": copy.deepcopy(index.projection),
            }
            for index in source.global_indexes
        ],
        streams=copy.deepcopy(source.stream_specification),
    )
    backend.tables[source.name] = member
    return member


def _members(account_id: str, name: str, regions: set[str]) -> list[Any]:
    found = []
    for region in regions:
        table = _backend(account_id, region).tables.get(name)
        if table is not None:
            found.append(table)
    return found


def apply_replica_updates(table: Any, updates: list[dict[str, Any]]) -> None:
    regions = member_regions(table) | {table.region_name}
    for update in updates:
        if "Create" in update:
            region = update["Create"]["RegionName"]
            if region != table.region_name:
                _create_member(table, region)
                regions.add(region)
        elif "Delete" in update:
            region = update["Delete"]["RegionName"]
            if region in regions and region != table.region_name:
                regions.discard(region)
                _backend(table.account_id, region).tables.pop(table.name, None)
    for member in _members(table.account_id, table.name, regions):
        setattr(member, _MEMBERS_ATTR, set(regions) if len(regions) > 1 else set())


def _update_table(original: Any) -> Any:
    def update_table(self: Any) -> Any:
        updates = self.body.get("ReplicaUpdates") or []
        if updates:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            apply_replica_updates(table, updates)
        return original(self)

    return update_table


def _describe(original: Any) -> Any:
    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original(self, base_key=base_key)
        replicas = replica_regions(self)
        if replicas:
            result[base_key]["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
            result[base_key]["Replicas"] = [
                {"RegionName": region, "ReplicaStatus": "ACTIVE"} for region in replicas
            ]
        return result

    return describe


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    replace_method(DynamoHandler, "update_table", _update_table)
    replace_method(Table, "describe", _describe)
