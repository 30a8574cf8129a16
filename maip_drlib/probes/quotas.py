"""Service Quotas and instance sizes: how many vCPUs a region lets On-Demand instances use.

``service_quota`` returns ``QuotaNotAvailable`` (a fact, not a pass) when Service Quotas does
not answer for the quota: the quota is unknown to the API (``NoSuchResourceException``; moto
5.2.5 knows only ``vpc`` quotas), the caller may not read it (``AccessDeniedException``), or
the API is not implemented where it is asked (HTTP 501 or 500 from a simulation).

Not supported: usage (the quota's headroom; CloudWatch ``AWS/Usage`` is not read), quota
increase requests, Spot quotas, and instance families outside the Standard On-Demand quota.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from maip_drlib.errors import NotFound
from maip_drlib.facts_platform import QuotaFact, QuotaNotAvailable
from maip_drlib.probes import aws_api, error_code
from maip_drlib.regions import RegionHandle

# "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", counted in vCPUs.
EC2_STANDARD_ON_DEMAND_VCPUS = ("ec2", "L-1216C47A")
_NOT_AVAILABLE_CODES = frozenset({"NoSuchResourceException", "AccessDeniedException",
                                  "ServiceException", "NotImplemented", "501", "500"})


def service_quota(handle: RegionHandle, service_code: str,
                  quota_code: str) -> QuotaFact | QuotaNotAvailable:
    try:
        with aws_api(handle, "service-quotas", keep=_NOT_AVAILABLE_CODES):
            quota = handle.client("service-quotas").get_service_quota(
                ServiceCode=service_code, QuotaCode=quota_code)["Quota"]
    except ClientError as error:
        code = error_code(error)
        if code in _NOT_AVAILABLE_CODES:
            message = str(error.response.get("Error", {}).get("Message", "")).strip()
            return QuotaNotAvailable(handle.region, service_code, quota_code,
                                     f"{code}: {message[:160] or 'no message'}")
        raise
    return QuotaFact(
        region=handle.region, service_code=service_code, quota_code=quota_code,
        name=str(quota.get("QuotaName", quota_code)), value=float(quota.get("Value", 0.0)),
        unit=str(quota.get("Unit", "None")),
    )


def instance_vcpus(handle: RegionHandle, instance_type: str) -> int:
    try:
        with aws_api(handle, "ec2"):
            found = handle.client("ec2").describe_instance_types(
                InstanceTypes=[instance_type])["InstanceTypes"]
    except ClientError as error:
        if error_code(error) == "InvalidInstanceType":
            raise NotFound(f"instance type {instance_type} unknown in {handle.region}") from error
        raise
    if not found:
        raise NotFound(f"instance type {instance_type} unknown in {handle.region}")
    return int(found[0]["VCpuInfo"]["DefaultVCpus"])
