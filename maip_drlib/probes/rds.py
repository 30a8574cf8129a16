"""RDS: instance status and role, writer/replica discovery across regions, replica lag.

Roles are discovered, never assumed from names (DESIGN.md section 3): an instance with no
read-replica source is a writer; one with a source is a replica of it (the source may be an ARN
for cross-region replicas); an instance with no source that is ``stopped`` is ``fenced`` (it
accepts no writes: an old writer fenced after a failover), never a writer. Note that RDS starts
a stopped instance again by itself after seven days: fencing by stopping is temporary.

The primary region's database has two names (``primary_writer_names``): the topology's
``primary.rds_instance`` and ``failback_replica``. Each completed failback makes the other one
the writer (failback 2 creates its replica under the name not in use), so neither name is
assumed to be the writer; roles are read from RDS.

Not supported: Aurora clusters (DB clusters), Multi-AZ DB clusters, and candidates outside the
topology's names.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from maip_drlib.config import Topology
from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.facts import ApiUnreachable, DbInstanceFact, DbRole, RdsRoles, ReplicationLag
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes.cloudwatch import latest_datapoint
from maip_drlib.regions import RegionHandle, RegionHandles

REPLICA_LAG_NAMESPACE = "AWS/RDS"
REPLICA_LAG_METRIC = "ReplicaLag"
REPLICA_LAG_DIMENSION = "DBInstanceIdentifier"
FENCED_STATUS = "stopped"


def _role(source: str | None, status: str) -> DbRole:
    if source:
        return "replica"
    return "fenced" if status == FENCED_STATUS else "writer"


def _fact(handle: RegionHandle, data: dict[str, Any]) -> DbInstanceFact:
    source = data.get("ReadReplicaSourceDBInstanceIdentifier")
    endpoint = data.get("Endpoint") or {}
    status = str(data.get("DBInstanceStatus", "unknown"))
    return DbInstanceFact(
        identifier=str(data["DBInstanceIdentifier"]),
        region=handle.region,
        status=status,
        role=_role(source, status),
        source=source or None,
        replicas=tuple(data.get("ReadReplicaDBInstanceIdentifiers", [])),
        backup_retention_days=int(data.get("BackupRetentionPeriod", 0)),
        arn=str(data.get("DBInstanceArn", "")),
        endpoint=endpoint.get("Address"),
        port=int(endpoint["Port"]) if endpoint.get("Port") else None,
    )


def describe_instance(handle: RegionHandle, identifier: str) -> dict[str, Any]:
    """RDS's own description of one instance; NotFound when it does not exist in the handle's
    region."""
    try:
        with aws_api(handle, "rds"):
            response = handle.client("rds").describe_db_instances(
                DBInstanceIdentifier=identifier
            )
    except ClientError as error:
        if error_code(error) == "DBInstanceNotFound":
            raise NotFound(f"RDS instance {identifier} not found in {handle.region}") from error
        raise
    instances = response.get("DBInstances", [])
    if not instances:
        raise NotFound(f"RDS instance {identifier} not found in {handle.region}")
    return instances[0]


def db_instance(handle: RegionHandle, identifier: str) -> DbInstanceFact:
    """One instance; NotFound when it does not exist in the handle's region."""
    return _fact(handle, describe_instance(handle, identifier))


def primary_writer_names(topology: Topology) -> tuple[str, str]:
    """The two names of the primary region's database, either of which may be its writer:
    ``topology.primary.rds_instance`` and ``topology.failback_replica`` (the ONE place that
    says so; the failback replica takes whichever is free, ``drill.failback_names``)."""
    return (topology.primary.rds_instance, topology.failback_replica)


def primary_writer_name(handle: RegionHandle, topology: Topology) -> str:
    """The name the primary region's writer has now: the writer (available first) among
    ``primary_writer_names`` in ``handle``'s region, else ``topology.primary.rds_instance``
    (for canaries and messages that name the writer; roles are decided elsewhere)."""
    writers = [fact for fact in instances_named(handle, primary_writer_names(topology))
               if fact.role == "writer"]
    writers.sort(key=lambda fact: fact.status != "available")
    return writers[0].identifier if writers else topology.primary.rds_instance


def _described(handle: RegionHandle, identifiers: tuple[str, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "Filters": [{"Name": "db-instance-id", "Values": list(identifiers)}]
    }
    with aws_api(handle, "rds"):
        while True:
            page = handle.client("rds").describe_db_instances(**kwargs)
            items.extend(item for item in page.get("DBInstances", [])
                         if item.get("DBInstanceIdentifier") in identifiers)
            marker = page.get("Marker")
            if not marker:
                return items
            kwargs["Marker"] = marker


def instances_named(handle: RegionHandle, identifiers: tuple[str, ...]) -> list[DbInstanceFact]:
    """Those of ``identifiers`` that exist in the region (one filtered, paginated call)."""
    return [_fact(handle, item) for item in _described(handle, identifiers)]


def instances_created(handle: RegionHandle, identifiers: tuple[str, ...]
                      ) -> list[tuple[DbInstanceFact, datetime | None]]:
    """Those of ``identifiers`` that exist in the region, each with its ``InstanceCreateTime``
    (None when RDS gives none: an instance still ``creating``)."""
    found = []
    for item in _described(handle, identifiers):
        created = item.get("InstanceCreateTime")
        found.append((_fact(handle, item), created if isinstance(created, datetime) else None))
    return found


def find_writer_and_replicas(handles: RegionHandles, topology: Topology) -> RdsRoles:
    """Writers and replicas among ``topology.rds_candidates`` in both regions.

    A region whose RDS API does not answer is reported in ``unreachable_regions``; it is not
    proof that its instances are down.
    """
    writers: list[DbInstanceFact] = []
    replicas: list[DbInstanceFact] = []
    fenced: list[DbInstanceFact] = []
    unreachable: list[ApiUnreachable] = []
    for handle in handles:
        started = time.monotonic()
        try:
            found = instances_named(handle, topology.rds_candidates)
        except Unreachable as error:
            unreachable.append(ApiUnreachable(
                region=handle.region, target="rds", error=str(error),
                elapsed_s=time.monotonic() - started,
            ))
            continue
        for fact in found:
            {"writer": writers, "replica": replicas, "fenced": fenced}[fact.role].append(fact)
    return RdsRoles(writers=tuple(writers), replicas=tuple(replicas),
                    unreachable_regions=tuple(unreachable), fenced=tuple(fenced))


def replica_lag(handle: RegionHandle, replica: str, *, window_s: int = 600) -> ReplicationLag:
    """Latest ``AWS/RDS ReplicaLag`` of ``replica`` (seconds None when no datapoint)."""
    point = latest_datapoint(
        handle, REPLICA_LAG_NAMESPACE, REPLICA_LAG_METRIC, {REPLICA_LAG_DIMENSION: replica},
        statistic="Maximum", window_s=window_s,
    )
    return ReplicationLag(store="rds", region=handle.region, resource=replica,
                          seconds=point.value, measured_at=point.timestamp)
