"""ELBv2: an ALB's DNS name and canonical hosted zone id, read, never hard-coded.

(``Z35SXDOTRQ7X7K`` is us-east-1's ALB zone; the DR ALB in us-west-2 has another one.)

Not supported: classic load balancers, target health.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from maip_drlib.errors import NotFound
from maip_drlib.facts import AlbFact
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle


def load_balancer(handle: RegionHandle, name: str) -> AlbFact:
    try:
        with aws_api(handle, "elbv2"):
            response = handle.client("elbv2").describe_load_balancers(Names=[name])
    except ClientError as error:
        if error_code(error) == "LoadBalancerNotFound":
            raise NotFound(f"load balancer {name} not found in {handle.region}") from error
        raise
    found = response.get("LoadBalancers", [])
    if not found:
        raise NotFound(f"load balancer {name} not found in {handle.region}")
    data = found[0]
    return AlbFact(
        name=name,
        region=handle.region,
        dns_name=str(data["DNSName"]).lower(),
        canonical_zone_id=str(data["CanonicalHostedZoneId"]),
        state=str(data.get("State", {}).get("Code", "unknown")),
        arn=str(data["LoadBalancerArn"]),
    )
