"""Patch (start-up time): EKS validates role ARNs against partitions read once, not per call.

moto 5.2.5: ``CreateCluster`` and ``CreateNodegroup`` check the role ARN's partition with
``boto3.Session().get_available_partitions()``: a new session per call, which loads botocore's
endpoint data (about a megabyte of JSON) each time: about 0.1-0.2 s per call.

Production: the same check (an ARN of an unknown partition is refused).

This patch keeps moto's check and its error, with the partitions read once per process from
botocore's endpoint data, through boto3's default session when one exists (the seeding's
clients made it, with the endpoint data already loaded). Not supported: partitions added to
botocore's data while the process runs.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "eks_role_arn_partitions"
_ROLE_ARN = re.compile("arn:(?P<partition>.+):iam::(?P<account_id>[0-9]{12}):role/.+")
_partitions: tuple[str, ...] | None = None
_lock = threading.Lock()

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "known_partitions"]


def known_partitions() -> tuple[str, ...]:
    """botocore's partitions, read once."""
    global _partitions
    with _lock:
        if _partitions is None:
            import boto3

            session = boto3.DEFAULT_SESSION or boto3.Session()
            _partitions = tuple(session.get_available_partitions())
        return _partitions


def _validate(original: Any) -> Any:
    def validate_role_arn(arn: str) -> None:
        from moto.eks.exceptions import InvalidParameterException

        match = _ROLE_ARN.match(arn or "")
        if not (arn and match and match.group("partition") in known_partitions()):
            raise InvalidParameterException(message="Invalid Role Arn: '" + str(arn) + "'")

    return validate_role_arn


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    import moto.eks.models as eks_models

    # moto.eks.models imported the function by name: the name used is the module's own.
    replace_method(eks_models, "validate_role_arn", _validate)  # type: ignore[arg-type]
