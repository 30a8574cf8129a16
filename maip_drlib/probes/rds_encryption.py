"""RDS storage encryption of one instance (read-only): whether it is encrypted, and its key.

A cross-region read replica of an encrypted instance needs a KMS key of the destination region
(``KmsKeyId``; KMS keys do not leave their region: CreateDBInstanceReadReplica, RDS API
Reference). The drill reads the source's encryption before it creates a replica, and the
planner before it lists the call.

Not supported: Aurora clusters, checking that the key is enabled or usable by the caller
(AWS answers ``KMSKeyNotAccessibleFault`` at the create call).
"""

from __future__ import annotations

from dataclasses import dataclass

from maip_drlib.probes.rds import describe_instance
from maip_drlib.regions import RegionHandle


@dataclass(frozen=True)
class StorageEncryption:
    """``identifier`` (in ``region``) is encrypted at rest with ``kms_key_id``, or not."""

    identifier: str
    region: str
    encrypted: bool
    kms_key_id: str | None = None

    def __str__(self) -> str:
        if not self.encrypted:
            return f"RDS {self.identifier} ({self.region}): unencrypted"
        return f"RDS {self.identifier} ({self.region}): encrypted with {self.kms_key_id}"


def storage_encryption(handle: RegionHandle, identifier: str) -> StorageEncryption:
    """The encryption of ``identifier`` in the handle's region; NotFound when it is absent."""
    data = describe_instance(handle, identifier)
    encrypted = bool(data.get("StorageEncrypted"))
    return StorageEncryption(identifier=identifier, region=handle.region, encrypted=encrypted,
                             kms_key_id=str(data["KmsKeyId"]) if encrypted
                             and data.get("KmsKeyId") else None)
