"""Seed RDS into the simulation: a KMS key per region, the writer and its DR read replica.

Per region a symmetric KMS key under ``SIMULATED_KMS_ALIAS`` and under the alias the
topology's ``kms_key_id`` names there. The writer (``topology.primary.rds_instance``,
automated backups on) is encrypted with the primary's key when the topology names one
(``kms_key_id``), else unencrypted: the topology's documented meaning (docs/configuration.md).
Its cross-region read replica in the DR region is created with the source as ARN,
``SourceRegion`` and, when encrypted, ``KmsKeyId`` the DR key; it is ``available`` at once
(``rds_phases.settle_all``): the seeded platform predates the drill.

Not supported: a topology ``kms_key_id`` that is a key id or key ARN (the simulation cannot
choose a key's id: name an alias, ``alias/NAME`` or an alias ARN).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maip_drlib.config import RegionTopology, Topology
from maip_drlib.sim.aws.patches import rds_phases

SIMULATED_DB_PASSWORD = "simulated-dummy-password"  # a documented dummy, never a secret
SIMULATED_KMS_ALIAS = "alias/maip-rds"  # the RDS key of each simulated region

Client = Callable[[str, str], Any]  # (service, region) -> boto3 client of the simulation


def _alias_name(kms_key_id: str, region: str) -> str:
    """``alias/NAME`` from a topology's ``kms_key_id`` (an alias name or alias ARN)."""
    if kms_key_id.startswith("alias/"):
        return kms_key_id
    if kms_key_id.startswith("arn:") and ":alias/" in kms_key_id:
        return "alias/" + kms_key_id.split(":alias/", 1)[1]
    raise ValueError(f"topology kms_key_id {kms_key_id!r} in {region}: the simulation creates "
                     "keys under aliases only; name one (alias/NAME or an alias ARN)")


def _seed_kms(client: Client, place: RegionTopology, kms_key_arns: dict[str, str]) -> str:
    """One symmetric key in ``place``'s region under ``SIMULATED_KMS_ALIAS`` and the alias
    the topology names there; returns the key's ARN."""
    kms = client("kms", place.region)
    key = kms.create_key(Description=f"MAIP RDS encryption, {place.region} (simulated)")
    arn = key["KeyMetadata"]["Arn"]
    aliases = {SIMULATED_KMS_ALIAS}
    if place.kms_key_id:
        aliases.add(_alias_name(place.kms_key_id, place.region))
    for alias in sorted(aliases):
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])
    kms_key_arns[place.region] = arn
    return str(arn)


def seed_rds(client: Client, topology: Topology, account_id: str, rds_arns: dict[str, str],
             kms_key_arns: dict[str, str]) -> None:
    """The KMS keys of both regions, the writer and its cross-region replica."""
    primary, secondary = topology.primary, topology.secondary
    keys = {place.region: _seed_kms(client, place, kms_key_arns)
            for place in (primary, secondary)}
    encrypted = primary.kms_key_id is not None
    encryption: dict[str, Any] = (
        {"StorageEncrypted": True, "KmsKeyId": keys[primary.region]} if encrypted else {})
    writer = client("rds", primary.region).create_db_instance(
        DBInstanceIdentifier=primary.rds_instance,
        Engine="postgres",
        EngineVersion="15.7",
        DBInstanceClass="db.r6g.large",
        AllocatedStorage=100,
        MasterUsername="maip_admin",
        MasterUserPassword=SIMULATED_DB_PASSWORD,
        BackupRetentionPeriod=7,
        MultiAZ=True,
        **encryption,
    )["DBInstance"]
    replica_encryption = {"KmsKeyId": keys[secondary.region]} if encrypted else {}
    replica = client("rds", secondary.region).create_db_instance_read_replica(
        DBInstanceIdentifier=secondary.rds_instance,
        SourceDBInstanceIdentifier=writer["DBInstanceArn"],
        SourceRegion=primary.region,
        DBInstanceClass="db.r6g.large",
        **replica_encryption,
    )["DBInstance"]
    rds_phases.settle_all(account_id)  # the seeded replica exists before the drill
    rds_arns[primary.rds_instance] = writer["DBInstanceArn"]
    rds_arns[secondary.rds_instance] = replica["DBInstanceArn"]


def with_simulated_kms_keys(topology: Topology) -> Topology:
    """``topology`` naming ``SIMULATED_KMS_ALIAS`` as the KMS key of each region that names
    none: the simulation then seeds an encrypted writer the drill can replicate."""
    from dataclasses import replace

    def keyed(place: RegionTopology) -> RegionTopology:
        return place if place.kms_key_id else replace(place, kms_key_id=SIMULATED_KMS_ALIAS)

    return replace(topology, primary=keyed(topology.primary),
                   secondary=keyed(topology.secondary))
