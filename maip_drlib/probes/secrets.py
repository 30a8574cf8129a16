"""Secrets Manager: whether a secret exists in a region and how its replication stands.

Only ``describe_secret`` is called, never ``get_secret_value``: no secret value is read,
printed or kept. A replica reports its ``PrimaryRegion``; the replication status of a region
is read from the primary's description.

Not supported: secrets in other stores (SSM Parameter Store, Kubernetes Secrets), KMS key
checks of replicas, rotation status.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from maip_drlib.facts_platform import SecretFact
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle


def describe_secret(handle: RegionHandle, name: str) -> SecretFact:
    try:
        with aws_api(handle, "secretsmanager"):
            data = handle.client("secretsmanager").describe_secret(SecretId=name)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return SecretFact(name=name, region=handle.region, exists=False)
        raise
    return SecretFact(
        name=name, region=handle.region, exists=True, arn=str(data.get("ARN", "")),
        primary_region=data.get("PrimaryRegion"),
        replication=tuple((str(r.get("Region")), str(r.get("Status")))
                          for r in data.get("ReplicationStatus") or ()),
        deleted=data.get("DeletedDate") is not None,
    )
