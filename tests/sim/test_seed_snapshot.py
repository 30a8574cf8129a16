"""Seed once, restore at each start: a restored simulation is the platform seeding creates,
independent of the simulations before it, and its Route 53 checkers watch it."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from maip_cli_helpers import wait_until

from maip_drlib.config import Topology
from maip_drlib.sim.aws import runtime, seed_snapshot, snapshot_store
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.simulation import Simulation

pytestmark = pytest.mark.sim

TOPOLOGY = Topology()
EAST, WEST = TOPOLOGY.primary.region, TOPOLOGY.secondary.region


def _platform(url: str) -> dict[str, Any]:
    """What the drill reads of the seeded platform, without the ids seeding draws at random."""
    seen: dict[str, Any] = {}
    for region in (EAST, WEST):
        rds = sim_client("rds", region, url).describe_db_instances()["DBInstances"]
        seen[f"rds {region}"] = sorted(
            (db["DBInstanceIdentifier"], db["DBInstanceStatus"],
             db.get("ReadReplicaSourceDBInstanceIdentifier", "").rsplit(":", 1)[-1],
             db.get("BackupRetentionPeriod")) for db in rds)
        tables = sim_client("dynamodb", region, url).list_tables()["TableNames"]
        seen[f"dynamodb {region}"] = sorted(tables)
        kafka = sim_client("kafka", region, url)
        seen[f"msk {region}"] = sorted(
            (c["ClusterName"], c["State"]) for c in kafka.list_clusters_v2()["ClusterInfoList"])
        seen[f"replicators {region}"] = sorted(
            r["ReplicatorName"] for r in kafka.list_replicators()["Replicators"])
        eks = sim_client("eks", region, url)
        place = TOPOLOGY.region(region)
        scaling = eks.describe_nodegroup(clusterName=place.eks_cluster,
                                         nodegroupName=place.nodegroup)["nodegroup"]
        seen[f"nodegroup {region}"] = scaling["scalingConfig"]
        ecr = sim_client("ecr", region, url)
        seen[f"ecr {region}"] = sorted(
            (repo["repositoryName"],
             tuple(i.get("imageTag") for i in ecr.list_images(
                 repositoryName=repo["repositoryName"])["imageIds"]))
            for repo in ecr.describe_repositories()["repositories"])
        seen[f"secrets {region}"] = sorted(
            s["Name"] for s in
            sim_client("secretsmanager", region, url).list_secrets()["SecretList"])
    route53 = sim_client("route53", EAST, url)
    zones = route53.list_hosted_zones()["HostedZones"]
    seen["zones"] = sorted(zone["Name"] for zone in zones)
    seen["records"] = sorted(
        (record["Name"], record["Type"], record.get("Failover", ""))
        for zone in zones
        for record in route53.list_resource_record_sets(HostedZoneId=zone["Id"])
        ["ResourceRecordSets"])
    seen["health checks"] = len(route53.list_health_checks()["HealthChecks"])
    return seen


@pytest.fixture
def fresh_snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No snapshot yet: the first start seeds (in memory only, no file read or written)."""
    monkeypatch.setenv(snapshot_store.SNAPSHOTS_ENV, "off")
    seed_snapshot.forget_snapshots()
    yield
    seed_snapshot.forget_snapshots()


def test_a_restored_simulation_is_the_platform_seeding_creates(fresh_snapshots: None) -> None:
    with Simulation() as seeded:
        assert seeded.seed is not None
        by_seeding, seeded_account = _platform(seeded.aws_endpoint_url), seeded.seed.account_id
        assert seed_snapshot._snapshots, "the first start kept no snapshot"
    with Simulation() as restored:
        assert restored.seed is not None
        assert restored.seed.endpoint_url == restored.aws_endpoint_url
        assert restored.seed.account_id == seeded_account
        assert _platform(restored.aws_endpoint_url) == by_seeding
    assert by_seeding["records"] and by_seeding["health checks"] == 2


def test_a_change_in_one_simulation_never_reaches_the_next(fresh_snapshots: None) -> None:
    with Simulation() as first:
        sim_client("secretsmanager", EAST, first.aws_endpoint_url).create_secret(
            Name="added-in-the-first", SecretString="x")
        sim_client("dynamodb", EAST, first.aws_endpoint_url).put_item(
            TableName=TOPOLOGY.canary_table, Item={"pk": {"S": "a"}, "seq": {"N": "1"}})
        sim_client("rds", WEST, first.aws_endpoint_url).promote_read_replica(
            DBInstanceIdentifier=TOPOLOGY.secondary.rds_instance)
    with Simulation() as second:
        url = second.aws_endpoint_url
        names = [s["Name"] for s in
                 sim_client("secretsmanager", EAST, url).list_secrets()["SecretList"]]
        assert names and "added-in-the-first" not in names
        assert not sim_client("dynamodb", EAST, url).scan(
            TableName=TOPOLOGY.canary_table)["Items"]
        replica = sim_client("rds", WEST, url).describe_db_instances(
            DBInstanceIdentifier=TOPOLOGY.secondary.rds_instance)["DBInstances"][0]
        assert replica["DBInstanceStatus"] == "available"
        assert replica.get("ReadReplicaSourceDBInstanceIdentifier")


def test_the_restored_health_checks_follow_an_outage(fresh_snapshots: None) -> None:
    with Simulation():
        pass  # seeds and keeps the snapshot
    with Simulation(time_scale=0.05) as restored:
        route53 = sim_client("route53", EAST, restored.aws_endpoint_url)
        checks = route53.list_health_checks()["HealthChecks"]
        # Watched from the start, as after CreateHealthCheck, not from the first question.
        assert set(runtime.current().health._specs) == {c["Id"] for c in checks}
        primary = next(c["Id"] for c in checks
                       if EAST in c["HealthCheckConfig"].get("FullyQualifiedDomainName", ""))

        def healthy_checkers() -> int:
            return sum(o["StatusReport"]["Status"].startswith("Success") for o in
                       route53.get_health_check_status(HealthCheckId=primary)
                       ["HealthCheckObservations"])

        assert healthy_checkers() > 0
        restored.faults.set_endpoint(EAST, http_status=503)
        wait_until("Route 53's checkers to see the primary endpoint fail",
                   lambda: healthy_checkers() == 0, timeout_s=60)


def test_what_cannot_be_pickled_is_seeded_instead() -> None:
    with pytest.raises(seed_snapshot.SnapshotUnavailable):
        seed_snapshot._dump(seed_snapshot._SeededState(
            seed=None, backends={"x": {"1": {"r": threading.Thread()}}}))  # type: ignore[arg-type]


def test_locks_and_private_keys_survive_the_snapshot() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    state = seed_snapshot._SeededState(
        seed=None, backends={"x": {"1": {"r": {"lock": threading.RLock(), "key": key}}}})  # type: ignore[arg-type]
    loaded = seed_snapshot._load(seed_snapshot._dump(state)).backends["x"]["1"]["r"]
    assert loaded["key"].private_numbers() == key.private_numbers()
    with loaded["lock"]:
        assert loaded["lock"] is not state.backends["x"]["1"]["r"]["lock"]
    with pytest.raises(TypeError):
        pickle.dumps(key)  # why the snapshot keeps keys as PEM


_START_ONCE = """
import sys
from maip_drlib.sim.aws import seed_snapshot
from maip_drlib.sim.simulation import Simulation
if sys.argv[1] == "restore-only":
    def refuse(*args, **kwargs):
        raise SystemExit("seeded through HTTP instead of restoring")
    seed_snapshot.seed_topology = refuse
with Simulation() as sim:
    print(len(sim.seed.secret_arns))
"""


def test_a_new_process_restores_the_snapshot_file(tmp_path: Path) -> None:
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    environ.pop(snapshot_store.SNAPSHOTS_ENV, None)

    def start(mode: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _START_ONCE, mode], capture_output=True,
                              text=True, env={**environ, **extra}, timeout=120, check=False)

    turned_off = start("restore-only", **{snapshot_store.SNAPSHOTS_ENV: "off"})
    assert "seeded through HTTP" in turned_off.stderr
    seeded = start("seed")
    assert seeded.returncode == 0, seeded.stderr
    assert len(list((tmp_path / "maip-dr" / "sim-snapshots").glob("*.pickle"))) == 1
    restored = start("restore-only")
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout == seeded.stdout
