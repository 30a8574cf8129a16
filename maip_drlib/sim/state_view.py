"""Read-only, in-process views of the simulated AWS state (moto's backends).

The simulation's own machinery (pod controller, actuator health, Route 53 health checks) reads
these instead of calling its own API, so the API call counts that users and benchmarks see are
the suite's alone. Not supported: accounts other than moto's default one.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.config import Topology

ACCOUNT_ID = "123456789012"  # moto's default account


def _backend(name: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend(name)[ACCOUNT_ID][region]  # type: ignore[index]


def nodegroup_desired_size(region: str, cluster: str, nodegroup: str) -> int | None:
    """The node group's desired size, or None when it does not exist."""
    found = _backend("eks", region).clusters.get(cluster)
    group = found.nodegroups.get(nodegroup) if found is not None else None
    if group is None:
        return None
    return int(group.scaling_config.get("desiredSize", 0))


def rds_instances(region: str, names: tuple[str, ...]) -> list[tuple[str, str, bool]]:
    """(identifier, status, is_replica) of the named instances present in ``region``."""
    databases = _backend("rds", region).databases
    found = []
    for name in names:
        database = databases.get(name)
        if database is not None:
            found.append((name, str(database.status),
                          bool(database.source_db_instance_identifier)))
    return found


def msk_cluster_state(region: str, name: str) -> str | None:
    for cluster in list(_backend("kafka", region).clusters.values()):
        if cluster.cluster_name == name:
            return str(cluster.state)
    return None


def dynamodb_table_exists(region: str, table: str) -> bool:
    return table in _backend("dynamodb", region).tables


def application_components(topology: Topology, region: str) -> dict[str, tuple[str, dict]]:
    """Component name -> (UP/DOWN, details) of the data stores the region's services use."""
    place = topology.region(region)
    instances = rds_instances(region, topology.rds_candidates)
    usable = [(name, replica) for name, status, replica in instances if status == "available"]
    components: dict[str, tuple[str, dict]] = {}
    if usable:
        name, replica = usable[0]
        components["db"] = ("UP", {"database": "PostgreSQL", "instance": name,
                                   "role": "replica" if replica else "writer"})
    else:
        components["db"] = ("DOWN", {"database": "PostgreSQL",
                                     "instances": [f"{n}: {s}" for n, s, _ in instances]})
    kafka_state = msk_cluster_state(region, place.msk_cluster)
    components["kafka"] = ("UP" if kafka_state == "ACTIVE" else "DOWN",
                           {"cluster": place.msk_cluster, "state": kafka_state or "absent"})
    table_ok = dynamodb_table_exists(region, topology.dynamodb_table)
    components["dynamodb"] = ("UP" if table_ok else "DOWN", {"table": topology.dynamodb_table})
    return components
