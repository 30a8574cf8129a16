"""Patch (start-up time): a region's EC2 backend starts without Amazon's public AMIs.

moto 5.2.5: the first use of a region's EC2 backend (the seed's VPC, and RDS creating an
instance, which reads the default VPC) loads every public AMI moto knows, about 1,300 per
region, each with an EBS snapshot and a volume under freshly generated random ids: about a
second of CPU per region, the largest single cost of seeding the simulation.

Production: the AMIs exist, but nothing in the MAIP topology or the runbook reads them (no
EC2 instance is launched; EKS node groups are simulated without instances).

This patch makes ``AmiBackend._load_amis`` load nothing, as moto itself does when
``MOTO_EC2_LOAD_DEFAULT_AMIS=false`` (without reading the process environment). AMIs created
through the API (``CreateImage``, ``RegisterImage``) work as before.
Not supported: ``DescribeImages`` of Amazon's public AMIs in the simulation (none are listed).
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "ec2_no_default_amis"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _load_amis(original: Any) -> Any:
    def _load_amis(self: Any) -> None:
        return None

    return _load_amis


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.ec2.models.amis import AmiBackend

    replace_method(AmiBackend, "_load_amis", _load_amis)
