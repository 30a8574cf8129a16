"""Each moto patch, through real boto3 clients against the running simulation server.

Written so that a moto upgrade that changes the behaviour underneath fails here: the version
pin is checked, some gaps are asserted on moto's unpatched code, and every patched behaviour is
asserted end to end. One server for the module; simulated durations are set per test.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import moto
import pytest
from botocore.exceptions import ClientError

from maip_drlib.sim.aws import patches
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.patches import _support, rds_phases, rds_promotion
from maip_drlib.sim.aws.runtime import SimDurations
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

REGIONS = ("us-east-1", "us-west-2")
# 0.6 real seconds per simulated minute: one simulated second is 10 ms.
CLOCK = SimClock(time_scale=0.6)


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState(REGIONS)


@pytest.fixture(scope="module")
def server(faults: FaultState) -> Iterator[MotoServer]:
    moto_server = MotoServer(faults, CLOCK)
    moto_server.start()
    yield moto_server
    moto_server.stop()


@pytest.fixture
def url(server: MotoServer, faults: FaultState) -> Iterator[str]:
    assert server.endpoint_url is not None
    yield server.endpoint_url
    faults.set_promotion("normal")
    faults.set_replicator_state("RUNNING")
    for region in REGIONS:
        faults.restore_region(region)
    server.runtime.durations = SimDurations()
    server.runtime.health.set_region_healthy(server.runtime.health._default_region_healthy)


def _poll(read: Callable[[], Any], until: Callable[[Any], bool], deadline_s: float = 5.0) -> Any:
    deadline = time.monotonic() + deadline_s
    seen = read()
    while not until(seen):
        assert time.monotonic() < deadline, f"gave up waiting; last seen {seen!r}"
        time.sleep(0.02)
        seen = read()
    return seen


def _error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


_names = iter(range(1000))


def _unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def _writer(url: str, region: str, name: str, backups: int = 7) -> dict[str, Any]:
    return sim_client("rds", region, url).create_db_instance(
        DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
        MasterUsername="maip", MasterUserPassword="simulated-dummy", AllocatedStorage=20,
        BackupRetentionPeriod=backups,
    )["DBInstance"]


@pytest.fixture(autouse=True)
def short_rds_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    """RDS phases short enough for this module's clock: creating 0.3 s, backing-up 0.1 s."""
    monkeypatch.setattr(rds_phases, "RDS_PHASES", rds_phases.RdsPhaseDurations(
        replica_creating_s=30, promotion_reboot_s=2, promoted_backing_up_s=10))


def _cross_region_pair(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A writer in us-east-1 and its replica in us-west-2, once the replica is available."""
    writer = _writer(url, "us-east-1", _unique("writer"))
    replica = sim_client("rds", "us-west-2", url).create_db_instance_read_replica(
        DBInstanceIdentifier=_unique("replica"),
        SourceDBInstanceIdentifier=writer["DBInstanceArn"], SourceRegion="us-east-1",
    )["DBInstance"]
    name = replica["DBInstanceIdentifier"]
    return writer, _poll(lambda: _describe(url, "us-west-2", name),
                         lambda seen: seen["DBInstanceStatus"] == "available")


def _cross_region_pair_now(url: str, clock: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``_cross_region_pair`` under the test's stepped clock (past the replica's creating)."""
    writer = _writer(url, "us-east-1", _unique("writer"))
    name = _unique("replica")
    sim_client("rds", "us-west-2", url).create_db_instance_read_replica(
        DBInstanceIdentifier=name, SourceDBInstanceIdentifier=writer["DBInstanceArn"],
        SourceRegion="us-east-1")
    clock.advance(rds_phases.RDS_PHASES.replica_creating_s)
    replica = _describe(url, "us-west-2", name)
    assert replica["DBInstanceStatus"] == "available"
    return writer, replica


def _describe(url: str, region: str, name: str) -> dict[str, Any]:
    return sim_client("rds", region, url).describe_db_instances(
        DBInstanceIdentifier=name)["DBInstances"][0]


# Version pin and idempotence ---------------------------------------------------------


def test_every_patch_is_pinned_to_the_installed_moto() -> None:
    assert moto.__version__ == _support.MOTO_VERSION
    for patch in patches.PATCHES:
        assert moto.__version__ == patch.MOTO_VERSION, patch.PATCH_NAME
        assert patch.__doc__ and "moto 5.2.5" in patch.__doc__, patch.PATCH_NAME
    assert len(set(patches.patch_names())) == len(patches.PATCHES)
    with pytest.raises(_support.MotoVersionMismatch, match=r"0\.0\.1"):
        _support.check_moto_version("example", "0.0.1")


def test_applying_twice_changes_nothing(server: MotoServer) -> None:
    from moto.rds.models import RDSBackend

    patched = RDSBackend.promote_read_replica
    patches.apply_all()
    for patch in patches.PATCHES:
        patch.apply()
    assert RDSBackend.promote_read_replica is patched
    assert _support.is_patched(RDSBackend, "promote_read_replica")


# RDS ----------------------------------------------------------------------------------


class _SteppedClock:
    """The runtime's clock, moved only by the test (simulated seconds at ``CLOCK``)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def deadline_after(self, simulated_s: float) -> float:
        return self.now + CLOCK.real_seconds(simulated_s)

    def advance(self, simulated_s: float) -> None:
        self.now += CLOCK.real_seconds(simulated_s)


@pytest.fixture
def stepped_clock(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> _SteppedClock:
    clock = _SteppedClock()
    monkeypatch.setattr(server.runtime, "now", lambda: clock.now)
    monkeypatch.setattr(server.runtime, "deadline_after", clock.deadline_after)
    return clock


def test_promotion_reads_available_modifying_rebooting_backing_up_then_available(
    url: str, server: MotoServer, stepped_clock: _SteppedClock
) -> None:
    server.runtime.durations = SimDurations(promotion_still_available_s=5, promotion_s=40)
    writer, replica = _cross_region_pair_now(url, stepped_clock)
    name = replica["DBInstanceIdentifier"]
    rds = sim_client("rds", "us-west-2", url)
    assert rds.promote_read_replica(DBInstanceIdentifier=name)["DBInstance"][
        "DBInstanceStatus"] == "available"
    seen = []
    for step in (0, 6, 31, 2, 3, 10):  # simulated s: rebooting from 38, backing-up 40-50
        stepped_clock.advance(step)
        seen.append(_describe(url, "us-west-2", name)["DBInstanceStatus"])
    assert seen == ["available", "modifying", "modifying", "rebooting", "backing-up",
                    "available"]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in _describe(url, "us-west-2", name)
    source = _describe(url, "us-east-1", writer["DBInstanceIdentifier"])
    assert source["ReadReplicaDBInstanceIdentifiers"] == []


def test_a_promoted_instance_backing_up_takes_no_replica(
    url: str, server: MotoServer, stepped_clock: _SteppedClock
) -> None:
    server.runtime.durations = SimDurations(promotion_still_available_s=0, promotion_s=10)
    _, replica = _cross_region_pair_now(url, stepped_clock)
    name = replica["DBInstanceIdentifier"]
    sim_client("rds", "us-west-2", url).promote_read_replica(DBInstanceIdentifier=name)
    stepped_clock.advance(11)
    backing_up = _describe(url, "us-west-2", name)
    assert backing_up["DBInstanceStatus"] == "backing-up"
    assert "ReadReplicaSourceDBInstanceIdentifier" not in backing_up  # standalone already
    with pytest.raises(ClientError) as raised:  # not available yet: no replica of it
        sim_client("rds", "us-east-1", url).create_db_instance_read_replica(
            DBInstanceIdentifier=_unique("too-early"),
            SourceDBInstanceIdentifier=backing_up["DBInstanceArn"], SourceRegion="us-west-2")
    assert _error_code(raised) == "InvalidDBInstanceState"
    stepped_clock.advance(rds_phases.RDS_PHASES.promoted_backing_up_s)
    assert _describe(url, "us-west-2", name)["DBInstanceStatus"] == "available"


def test_a_new_cross_region_replica_is_creating_first_and_cannot_be_promoted_then(
    url: str, stepped_clock: _SteppedClock
) -> None:
    """On the test's stepped clock: "creating" lasts until the clock is moved past
    ``replica_creating_s``, however slow the machine (a 0.6 s real window failed in CI)."""
    writer = _writer(url, "us-east-1", _unique("source"))
    name = _unique("new-replica")
    rds = sim_client("rds", "us-west-2", url)
    created = rds.create_db_instance_read_replica(
        DBInstanceIdentifier=name, SourceDBInstanceIdentifier=writer["DBInstanceArn"],
        SourceRegion="us-east-1")["DBInstance"]
    assert created["DBInstanceStatus"] == "creating"
    stepped_clock.advance(rds_phases.RDS_PHASES.replica_creating_s - 1)
    seen = _describe(url, "us-west-2", name)
    assert seen["DBInstanceStatus"] == "creating"
    assert seen["ReadReplicaSourceDBInstanceIdentifier"] == writer["DBInstanceArn"]
    with pytest.raises(ClientError) as raised:
        rds.promote_read_replica(DBInstanceIdentifier=name)
    assert _error_code(raised) == "InvalidDBInstanceState"
    stepped_clock.advance(2)
    assert _describe(url, "us-west-2", name)["DBInstanceStatus"] == "available"


def _kms_key(url: str, region: str, alias: str) -> str:
    kms = sim_client("kms", region, url)
    key = kms.create_key(Description="test key")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return str(key["Arn"])


def test_a_cross_region_replica_of_an_encrypted_source_needs_a_destination_kms_key(
    url: str
) -> None:
    alias = f"alias/{_unique('maip-rds')}"
    source_key, destination_key = _kms_key(url, "us-east-1", alias), _kms_key(
        url, "us-west-2", alias)
    writer = sim_client("rds", "us-east-1", url).create_db_instance(
        DBInstanceIdentifier=_unique("encrypted"), Engine="postgres",
        DBInstanceClass="db.t3.micro", MasterUsername="maip",
        MasterUserPassword="simulated-dummy", AllocatedStorage=20, BackupRetentionPeriod=7,
        StorageEncrypted=True, KmsKeyId=source_key)["DBInstance"]
    rds = sim_client("rds", "us-west-2", url)
    base = {"SourceDBInstanceIdentifier": writer["DBInstanceArn"], "SourceRegion": "us-east-1"}
    with pytest.raises(ClientError) as raised:  # AWS's answer without KmsKeyId
        rds.create_db_instance_read_replica(DBInstanceIdentifier=_unique("plain"), **base)
    assert _error_code(raised) == "InvalidParameterCombination"
    assert raised.value.response["Error"]["Message"] == (
        "Cannot create a cross region unencrypted read replica from encrypted source.")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for foreign in (source_key, "alias/no-such-key"):  # a key of another region, or none
        with pytest.raises(ClientError) as raised:
            rds.create_db_instance_read_replica(DBInstanceIdentifier=_unique("foreign"),
                                                KmsKeyId=foreign, **base)
        assert _error_code(raised) == "KMSKeyNotAccessibleFault"
    name = _unique("encrypted-replica")
    created = rds.create_db_instance_read_replica(DBInstanceIdentifier=name, KmsKeyId=alias,
                                                  **base)["DBInstance"]
    assert created["StorageEncrypted"] is True
    assert created["KmsKeyId"] == destination_key
    assert _describe(url, "us-west-2", name)["KmsKeyId"] == destination_key


def test_an_unencrypted_source_takes_no_kms_key_across_regions(url: str) -> None:
    alias = f"alias/{_unique('unused')}"
    _kms_key(url, "us-west-2", alias)
    writer = _writer(url, "us-east-1", _unique("plain-source"))
    rds = sim_client("rds", "us-west-2", url)
    with pytest.raises(ClientError) as raised:
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=_unique("refused"), KmsKeyId=alias,
            SourceDBInstanceIdentifier=writer["DBInstanceArn"], SourceRegion="us-east-1")
    assert _error_code(raised) == "InvalidParameterCombination"
    created = rds.create_db_instance_read_replica(
        DBInstanceIdentifier=_unique("plain-replica"),
        SourceDBInstanceIdentifier=writer["DBInstanceArn"], SourceRegion="us-east-1")
    assert created["DBInstance"]["StorageEncrypted"] is False


def test_stuck_promotion_stays_modifying_until_the_fault_clears(
    url: str, server: MotoServer, faults: FaultState
) -> None:
    server.runtime.durations = SimDurations(promotion_still_available_s=0, promotion_s=10)
    _, replica = _cross_region_pair(url)
    name = replica["DBInstanceIdentifier"]
    faults.set_promotion("stuck")
    sim_client("rds", "us-west-2", url).promote_read_replica(DBInstanceIdentifier=name)
    time.sleep(CLOCK.real_seconds(10) * 3)
    stuck = _describe(url, "us-west-2", name)
    assert stuck["DBInstanceStatus"] == "modifying"
    assert stuck["ReadReplicaSourceDBInstanceIdentifier"]
    faults.set_promotion("normal")
    _poll(lambda: _describe(url, "us-west-2", name),
          lambda seen: seen["DBInstanceStatus"] in ("backing-up", "available")
          and "ReadReplicaSourceDBInstanceIdentifier" not in seen)


def test_failed_promotion_is_terminal_for_the_available_waiter(
    url: str, server: MotoServer, faults: FaultState
) -> None:
    server.runtime.durations = SimDurations(promotion_still_available_s=0, promotion_s=5)
    _, replica = _cross_region_pair(url)
    name = replica["DBInstanceIdentifier"]
    faults.set_promotion("fail")
    rds = sim_client("rds", "us-west-2", url)
    rds.promote_read_replica(DBInstanceIdentifier=name)
    _poll(lambda: _describe(url, "us-west-2", name),
          lambda seen: seen["DBInstanceStatus"] == rds_promotion.PROMOTION_FAILED_STATUS)
    failure_states = {
        acceptor.expected for acceptor in rds.get_waiter("db_instance_available").config.acceptors
        if acceptor.state == "failure"
    }
    assert rds_promotion.PROMOTION_FAILED_STATUS in failure_states


def test_promoting_a_writer_is_refused(url: str) -> None:
    writer = _writer(url, "us-east-1", _unique("lonely"))
    with pytest.raises(ClientError) as raised:
        sim_client("rds", "us-east-1", url).promote_read_replica(
            DBInstanceIdentifier=writer["DBInstanceIdentifier"])
    assert _error_code(raised) == "InvalidDBInstanceState"


def test_stopping_an_instance_with_replicas_or_a_replica_is_refused(url: str) -> None:
    writer, replica = _cross_region_pair(url)
    with pytest.raises(ClientError) as raised:
        sim_client("rds", "us-east-1", url).stop_db_instance(
            DBInstanceIdentifier=writer["DBInstanceIdentifier"])
    assert _error_code(raised) == "InvalidDBInstanceState"
    with pytest.raises(ClientError) as raised:
        sim_client("rds", "us-west-2", url).stop_db_instance(
            DBInstanceIdentifier=replica["DBInstanceIdentifier"])
    assert _error_code(raised) == "InvalidDBInstanceState"
    alone = _writer(url, "us-east-1", _unique("alone"))
    stopped = sim_client("rds", "us-east-1", url).stop_db_instance(
        DBInstanceIdentifier=alone["DBInstanceIdentifier"])
    assert stopped["DBInstance"]["DBInstanceStatus"] == "stopped"


def test_unpatched_moto_still_fails_to_unlink_a_cross_region_replica() -> None:
    from moto.rds.models import DBInstance

    original = _support.original_of(DBInstance, "remove_replica")

    class Source:
        replicas = ["arn:aws:rds:us-west-2:123456789012:db:r"]

    class Replica:
        db_instance_identifier = "r"
        db_instance_arn = "arn:aws:rds:us-west-2:123456789012:db:r"

    with pytest.raises(ValueError):
        original(Source(), Replica())


def test_deleting_a_cross_region_replica_works_and_unlinks_it(url: str) -> None:
    writer, replica = _cross_region_pair(url)
    deleted = sim_client("rds", "us-west-2", url).delete_db_instance(
        DBInstanceIdentifier=replica["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _describe(url, "us-east-1", writer["DBInstanceIdentifier"])[
        "ReadReplicaDBInstanceIdentifiers"] == []


def test_failback_replica_from_a_us_west_2_arn_links_both_sides(url: str) -> None:
    promoted = _writer(url, "us-west-2", _unique("promoted"))
    name = _unique("failback")
    created = sim_client("rds", "us-east-1", url).create_db_instance_read_replica(
        DBInstanceIdentifier=name, SourceDBInstanceIdentifier=promoted["DBInstanceArn"],
        SourceRegion="us-west-2",
    )["DBInstance"]
    assert created["DBInstanceStatus"] == "creating"
    assert created["DBInstanceArn"].startswith("arn:aws:rds:us-east-1:")
    assert _describe(url, "us-east-1", name)[
        "ReadReplicaSourceDBInstanceIdentifier"] == promoted["DBInstanceArn"]
    assert _describe(url, "us-west-2", promoted["DBInstanceIdentifier"])[
        "ReadReplicaDBInstanceIdentifiers"] == [created["DBInstanceArn"]]


def test_a_cross_region_replica_has_its_own_creation_time(url: str) -> None:
    # moto copies the source, InstanceCreateTime included; failback 2's name rule compares it.
    source = _writer(url, "us-west-2", _unique("source"))
    name = _unique("created")
    sim_client("rds", "us-east-1", url).create_db_instance_read_replica(
        DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source["DBInstanceArn"],
        SourceRegion="us-west-2")
    replica = _describe(url, "us-east-1", name)
    source_created = _describe(url, "us-west-2", source["DBInstanceIdentifier"])[
        "InstanceCreateTime"]
    assert replica["InstanceCreateTime"] > source_created


def test_a_replica_of_an_instance_without_backups_is_refused(url: str) -> None:
    source = _writer(url, "us-west-2", _unique("nobackups"), backups=0)
    with pytest.raises(ClientError) as raised:
        sim_client("rds", "us-east-1", url).create_db_instance_read_replica(
            DBInstanceIdentifier=_unique("refused"),
            SourceDBInstanceIdentifier=source["DBInstanceArn"], SourceRegion="us-west-2")
    assert _error_code(raised) == "InvalidDBInstanceState"


@pytest.mark.skipif(shutil.which("aws") is None, reason="no stock AWS CLI on PATH")
def test_stock_cli_creates_the_failback_replica_with_source_region(
    url: str, tmp_path: Any
) -> None:
    promoted = _writer(url, "us-west-2", _unique("cli-source"))
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    env["PATH"] = f"{shutil.which('aws').rsplit('/', 1)[0]}:{env['PATH']}"  # type: ignore[union-attr]
    base = ["aws", "rds", "create-db-instance-read-replica",
            "--db-instance-identifier", _unique("cli-replica"),
            "--source-db-instance-identifier", promoted["DBInstanceArn"],
            "--source-region", "us-west-2", "--region", "us-east-1", "--endpoint-url", url]
    rejected = subprocess.run([*base, "--destination-region", "us-east-1"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert rejected.returncode != 0
    assert "Unknown options: --destination-region" in rejected.stderr
    accepted = subprocess.run(base, capture_output=True, text=True, env=env, timeout=60)
    assert accepted.returncode == 0, accepted.stderr
    assert promoted["DBInstanceArn"] in accepted.stdout


# Route 53 -----------------------------------------------------------------------------


def _zone(url: str) -> str:
    return sim_client("route53", "us-east-1", url).create_hosted_zone(
        Name=f"{_unique('zone')}.example.com.", CallerReference=_unique("ref"),
    )["HostedZone"]


def _alias(name: str, **routing: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "A", **routing, "AliasTarget": {
        "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": "lb-1.us-east-1.elb.amazonaws.com",
        "EvaluateTargetHealth": False}}


def _change(url: str, zone_id: str, *changes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return sim_client("route53", "us-east-1", url).change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": a, "ResourceRecordSet": r} for a, r in changes]},
    )


def test_simple_record_beside_a_failover_pair_is_refused_atomically(url: str) -> None:
    zone = _zone(url)
    name = f"api.{zone['Name']}"
    _change(url, zone["Id"],
            ("CREATE", _alias(name, SetIdentifier="p", Failover="PRIMARY")),
            ("CREATE", _alias(name, SetIdentifier="s", Failover="SECONDARY")))
    with pytest.raises(ClientError) as raised:
        _change(url, zone["Id"], ("UPSERT", _alias(f"other.{zone['Name']}")),
                ("UPSERT", _alias(name)))
    assert _error_code(raised) == "InvalidChangeBatch"
    with pytest.raises(ClientError) as raised:
        _change(url, zone["Id"], ("CREATE", _alias(name, SetIdentifier="w", Weight=10)))
    assert _error_code(raised) == "InvalidChangeBatch"
    records = sim_client("route53", "us-east-1", url).list_resource_record_sets(
        HostedZoneId=zone["Id"])["ResourceRecordSets"]
    assert sorted(r.get("SetIdentifier", "-") for r in records if r["Type"] == "A") == ["p", "s"]


def test_failover_beside_a_simple_record_is_refused_but_a_swap_in_one_batch_works(
    url: str
) -> None:
    zone = _zone(url)
    name = f"api.{zone['Name']}"
    _change(url, zone["Id"], ("CREATE", _alias(name)))
    with pytest.raises(ClientError) as raised:
        _change(url, zone["Id"], ("CREATE", _alias(name, SetIdentifier="p", Failover="PRIMARY")))
    assert _error_code(raised) == "InvalidChangeBatch"
    _change(url, zone["Id"], ("DELETE", _alias(name)),
            ("CREATE", _alias(name, SetIdentifier="a", Weight=90)),
            ("CREATE", _alias(name, SetIdentifier="b", Weight=10)))


def test_changes_are_pending_then_insync(url: str, server: MotoServer) -> None:
    server.runtime.durations = SimDurations(route53_change_s=30)
    zone = _zone(url)
    first = _change(url, zone["Id"], ("CREATE", _alias(f"a.{zone['Name']}")))["ChangeInfo"]
    second = _change(url, zone["Id"], ("CREATE", _alias(f"b.{zone['Name']}")))["ChangeInfo"]
    assert first["Status"] == "PENDING"
    assert first["Id"] != second["Id"]
    route53 = sim_client("route53", "us-east-1", url)
    _poll(lambda: route53.get_change(Id=first["Id"])["ChangeInfo"]["Status"],
          lambda status: status == "INSYNC")


def test_health_check_status_follows_the_simulation(
    url: str, server: MotoServer, faults: FaultState
) -> None:
    """Sixteen checkers in eight regions; a change shows after the checkers' threshold (the
    delay and the 18 % rule are pinned in test_route53_health.py)."""
    route53 = sim_client("route53", "us-east-1", url)

    def check(fqdn: str) -> str:
        return route53.create_health_check(CallerReference=_unique("hc"), HealthCheckConfig={
            "Type": "HTTPS", "FullyQualifiedDomainName": fqdn, "Port": 443,
            "RequestInterval": 10, "FailureThreshold": 1,
            "ResourcePath": "/actuator/health"})["HealthCheck"]["Id"]

    def statuses(check_id: str) -> set[str]:
        observations = route53.get_health_check_status(HealthCheckId=check_id)[
            "HealthCheckObservations"]
        assert len(observations) == 16
        assert len({o["Region"] for o in observations}) == 8
        return {o["StatusReport"]["Status"].split(":")[0] for o in observations}

    east, west = check("a-1.us-east-1.elb.amazonaws.com"), check("b-1.us-west-2.elb.amazonaws.com")
    registered = check("api.example.net")
    server.runtime.health.register(registered, "us-west-2")
    assert statuses(east) == statuses(west) == statuses(registered) == {"Success"}
    faults.set_endpoint("us-east-1", http_status=503)
    _poll(lambda: statuses(east), lambda seen: seen == {"Failure"})
    assert statuses(west) == {"Success"}
    server.runtime.health.set_region_healthy(lambda region: region != "us-west-2")
    _poll(lambda: statuses(registered), lambda seen: seen == {"Failure"})


# EKS ----------------------------------------------------------------------------------


@pytest.fixture
def nodegroup(url: str) -> tuple[str, str]:
    eks = sim_client("eks", "us-west-2", url)
    cluster = _unique("cluster")
    eks.create_cluster(name=cluster, roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": []})
    eks.create_nodegroup(clusterName=cluster, nodegroupName="ng", subnets=["subnet-1"],
                         nodeRole="arn:aws:iam::123456789012:role/ng",
                         scalingConfig={"minSize": 1, "maxSize": 20, "desiredSize": 2})
    return cluster, "ng"


def test_nodegroup_update_runs_then_succeeds_and_is_describable(
    url: str, server: MotoServer, nodegroup: tuple[str, str]
) -> None:
    # 300 simulated seconds are 3 real seconds here: the update is still running for the
    # three calls below however loaded the machine (30, 0.3 s, once was not).
    server.runtime.durations = SimDurations(nodegroup_update_s=300)
    cluster, name = nodegroup
    eks = sim_client("eks", "us-west-2", url)
    update = eks.update_nodegroup_config(
        clusterName=cluster, nodegroupName=name,
        scalingConfig={"minSize": 4, "maxSize": 20, "desiredSize": 8})["update"]
    assert (update["type"], update["status"]) == ("ConfigUpdate", "InProgress")
    assert {p["type"]: p["value"] for p in update["params"]} == {
        "MinSize": "4", "MaxSize": "20", "DesiredSize": "8"}
    described = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
    assert described["status"] == "UPDATING"
    assert described["scalingConfig"] == {"minSize": 4, "maxSize": 20, "desiredSize": 8}
    with pytest.raises(ClientError) as raised:
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName=name,
                                    scalingConfig={"desiredSize": 9})
    assert _error_code(raised) == "ResourceInUseException"
    assert eks.list_updates(name=cluster, nodegroupName=name)["updateIds"] == [update["id"]]
    _poll(lambda: eks.describe_update(name=cluster, updateId=update["id"],
                                      nodegroupName=name)["update"]["status"],
          lambda status: status == "Successful", 30.0)
    assert eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)[
        "nodegroup"]["status"] == "ACTIVE"


@pytest.mark.parametrize("scaling", [
    {"minSize": 4, "maxSize": 20, "desiredSize": 30},
    {"minSize": 10, "maxSize": 20, "desiredSize": 8},
    {"minSize": 30, "maxSize": 20, "desiredSize": 25},
])
def test_nodegroup_scaling_must_keep_min_desired_max_ordered(
    url: str, nodegroup: tuple[str, str], scaling: dict[str, int]
) -> None:
    cluster, name = nodegroup
    with pytest.raises(ClientError) as raised:
        sim_client("eks", "us-west-2", url).update_nodegroup_config(
            clusterName=cluster, nodegroupName=name, scalingConfig=scaling)
    assert _error_code(raised) == "InvalidParameterException"


def test_describe_of_an_unknown_update_is_not_found(url: str, nodegroup: tuple[str, str]) -> None:
    cluster, name = nodegroup
    with pytest.raises(ClientError) as raised:
        sim_client("eks", "us-west-2", url).describe_update(
            name=cluster, updateId="no-such-update", nodegroupName=name)
    assert _error_code(raised) == "ResourceNotFoundException"


# MSK ----------------------------------------------------------------------------------


def test_msk_clusters_become_active(url: str) -> None:
    kafka = sim_client("kafka", "us-east-1", url)
    created = kafka.create_cluster_v2(ClusterName=_unique("kafka"), Provisioned={
        "BrokerNodeGroupInfo": {"InstanceType": "kafka.m5.large", "ClientSubnets": ["s-1"]},
        "KafkaVersion": "3.6.0", "NumberOfBrokerNodes": 2})
    assert created["State"] == "CREATING"
    assert kafka.describe_cluster_v2(ClusterArn=created["ClusterArn"])[
        "ClusterInfo"]["State"] == "ACTIVE"
    legacy = kafka.create_cluster(
        ClusterName=_unique("legacy"), KafkaVersion="3.6.0", NumberOfBrokerNodes=2,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": ["s-1"]})
    assert kafka.describe_cluster(ClusterArn=legacy["ClusterArn"])[
        "ClusterInfo"]["State"] == "ACTIVE"


def test_replicators_are_listed_described_and_follow_the_fault(
    url: str, faults: FaultState
) -> None:
    kafka = sim_client("kafka", "us-west-2", url)
    name = _unique("maip-replicator")
    created = kafka.create_replicator(
        ReplicatorName=name, ServiceExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        KafkaClusters=[
            {"AmazonMskCluster": {"MskClusterArn": f"arn:aws:kafka:{r}:123456789012:cluster/c/{r}"},
             "VpcConfig": {"SubnetIds": ["subnet-1"]}} for r in REGIONS],
        ReplicationInfoList=[{
            "SourceKafkaClusterArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/us-east-1",
            "TargetKafkaClusterArn": "arn:aws:kafka:us-west-2:123456789012:cluster/c/us-west-2",
            "TargetCompressionType": "NONE",
            "TopicReplication": {"TopicsToReplicate": [".*"]},
            "ConsumerGroupReplication": {"ConsumerGroupsToReplicate": [".*"]}}],
        Tags={"Owner": "maip"},
    )
    assert created["ReplicatorState"] == "CREATING"
    arn = created["ReplicatorArn"]
    assert arn.startswith(f"arn:aws:kafka:us-west-2:123456789012:replicator/{name}/")
    listed = kafka.list_replicators(ReplicatorNameFilter=name)["Replicators"]
    assert [(r["ReplicatorName"], r["ReplicatorState"]) for r in listed] == [(name, "RUNNING")]
    assert kafka.list_replicators(ReplicatorNameFilter="no-such")["Replicators"] == []
    faults.set_replicator_state("FAILED")
    described = kafka.describe_replicator(ReplicatorArn=arn)
    assert described["ReplicatorState"] == "FAILED"
    assert described["Tags"] == {"Owner": "maip"}
    assert described["ReplicationInfoList"][0]["TopicReplication"]["TopicsToReplicate"] == [".*"]
    kafka.delete_replicator(ReplicatorArn=arn)
    with pytest.raises(ClientError) as raised:
        kafka.describe_replicator(ReplicatorArn=arn)
    assert _error_code(raised) == "NotFoundException"


# DynamoDB -----------------------------------------------------------------------------


def test_replica_updates_make_a_global_table_in_both_regions(url: str) -> None:
    east, west = (sim_client("dynamodb", r, url) for r in REGIONS)
    table = _unique("table")
    east.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    assert "Replicas" not in east.describe_table(TableName=table)["Table"]
    east.update_table(TableName=table,
                      ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}])
    in_east = east.describe_table(TableName=table)["Table"]
    in_west = west.describe_table(TableName=table)["Table"]
    assert in_east["Replicas"] == [{"RegionName": "us-west-2", "ReplicaStatus": "ACTIVE"}]
    assert in_west["Replicas"] == [{"RegionName": "us-east-1", "ReplicaStatus": "ACTIVE"}]
    assert in_east["GlobalTableVersion"] == in_west["GlobalTableVersion"] == "2019.11.21"
    assert in_west["KeySchema"] == in_east["KeySchema"]
    east.update_table(TableName=table,
                      ReplicaUpdates=[{"Delete": {"RegionName": "us-west-2"}}])
    assert "Replicas" not in east.describe_table(TableName=table)["Table"]
    with pytest.raises(ClientError) as raised:
        west.describe_table(TableName=table)
    assert _error_code(raised) == "ResourceNotFoundException"


# ELBv2 --------------------------------------------------------------------------------


def test_albs_carry_their_regions_hosted_zone_id(url: str) -> None:
    zone_ids = {}
    for region in REGIONS:
        ec2 = sim_client("ec2", region, url)
        vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.99.{i}.0/24",
                                     AvailabilityZone=f"{region}{zone}")["Subnet"]["SubnetId"]
                   for i, zone in enumerate("ab")]
        balancer = sim_client("elbv2", region, url).create_load_balancer(
            Name=_unique("lb"), Subnets=subnets)["LoadBalancers"][0]
        zone_ids[region] = balancer["CanonicalHostedZoneId"]
    assert zone_ids == {"us-east-1": "Z35SXDOTRQ7X7K", "us-west-2": "Z1H1FL5HABSF5"}
