"""The simulation's start-up patches and the batched ECR lookup, against a moto server started
here on 127.0.0.1 (one for the module).

The two patches must change no answer the suite reads: public AMIs are simply absent, and an
EKS role ARN of an unknown partition is still refused. The ECR lookup asks once per repository
and falls back to one call per image only when ECR refused the batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from maip_drlib.config import RegionConnection
from maip_drlib.facts_platform import ContainerImage
from maip_drlib.probes import ecr
from maip_drlib.regions import RegionHandle
from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.patches import _support, ec2_no_default_amis, eks_role_arn_partitions
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

REGION = "us-west-2"
ACCOUNT = "123456789012"
MANIFEST = ('{"schemaVersion": 2, "mediaType": '
            '"application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType": '
            '"application/vnd.docker.container.image.v1+json", "size": 1, "digest": '
            '"sha256:%s"}, "layers": []}')


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = MotoServer(FaultState(("us-east-1", REGION)), SimClock(time_scale=0.6))
    yield server.start()
    server.stop()


def test_both_patches_are_applied_and_pinned(url: str) -> None:
    from moto.ec2.models.amis import AmiBackend
    from moto.eks import models as eks_models

    assert _support.is_patched(AmiBackend, "_load_amis")
    assert _support.is_patched(eks_models, "validate_role_arn")  # type: ignore[arg-type]
    for patch in (ec2_no_default_amis, eks_role_arn_partitions):
        assert patch.MOTO_VERSION == _support.MOTO_VERSION
        assert patch.__doc__ and "moto 5.2.5" in patch.__doc__


def test_no_public_amis_but_the_default_vpc_is_there(url: str) -> None:
    ec2 = sim_client("ec2", REGION, url)
    assert ec2.describe_images(Owners=["amazon"])["Images"] == []
    assert any(vpc["IsDefault"] for vpc in ec2.describe_vpcs()["Vpcs"])


def test_eks_still_refuses_a_role_arn_of_an_unknown_partition(url: str) -> None:
    eks = sim_client("eks", REGION, url)
    subnets = {"subnetIds": ["subnet-1"]}
    with pytest.raises(ClientError) as refused:
        eks.create_cluster(name="bad-role", roleArn=f"arn:nope:iam::{ACCOUNT}:role/r",
                           resourcesVpcConfig=subnets)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    created = eks.create_cluster(name="good-role", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
                                 resourcesVpcConfig=subnets)["cluster"]
    assert created["name"] == "good-role"
    assert "aws" in eks_role_arn_partitions.known_partitions()


def _handle(url: str) -> RegionHandle:
    return RegionHandle(RegionConnection(region=REGION, kube_context="unused", endpoint_url=url),
                        target_name="test", simulated=True)


def _image(repository: str, tag: str, deployment: str = "d") -> ContainerImage:
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    return ContainerImage(deployment=deployment, container="c",
                          reference=f"{registry}/{repository}:{tag}", registry=registry,
                          repository=repository, tag=tag, digest=None)


def _count_calls(handle: RegionHandle) -> list[str]:
    calls: list[str] = []
    handle.client("ecr").meta.events.register(
        "before-call.ecr.DescribeImages", lambda **_: calls.append("DescribeImages"))
    return calls


@pytest.fixture(scope="module")
def repositories(url: str) -> dict[str, Any]:
    client = sim_client("ecr", REGION, url)
    for index, (repository, tags) in enumerate(
            {"team/api": ("1.0", "1.1", "2.0"), "team/worker": ("7",)}.items()):
        client.create_repository(repositoryName=repository)
        for number, tag in enumerate(tags):
            client.put_image(repositoryName=repository, imageTag=tag,
                             imageManifest=MANIFEST % f"{index}{number}".ljust(64, "0"))
    return {"client": client}


def test_one_describe_images_per_repository(url: str, repositories: dict[str, Any]) -> None:
    handle = _handle(url)
    calls = _count_calls(handle)
    images = [_image("team/api", "1.0"), _image("team/api", "1.1", "other"),
              _image("team/api", "2.0"), _image("team/worker", "7"),
              _image("team/api", "1.0", "again")]  # the same reference twice: asked once
    facts = ecr.registry_images(handle, images)
    assert len(calls) == 2
    assert set(facts) == {image.reference for image in images}
    assert all(fact.found and fact.digest and fact.digest.startswith("sha256:")
               for fact in facts.values())


def test_a_missing_image_costs_one_call_per_image_of_its_repository_only(
        url: str, repositories: dict[str, Any]) -> None:
    handle = _handle(url)
    calls = _count_calls(handle)
    images = [_image("team/api", "1.0"), _image("team/api", "9.9"), _image("team/worker", "7"),
              _image("team/gone", "1")]
    facts = ecr.registry_images(handle, images, concurrency=1)
    by_tag = {fact.tag: fact for fact in facts.values()}
    assert by_tag["1.0"].found and by_tag["7"].found
    assert not by_tag["9.9"].found and by_tag["9.9"].reason == "no such image"
    assert not by_tag["1"].found and by_tag["1"].reason == "no such repository"
    # team/api: the batch, then its two images one by one; team/worker and team/gone: one each
    assert len(calls) == 1 + 2 + 1 + 1


def test_ecr_image_alone_still_answers_one_image(url: str, repositories: dict[str, Any]) -> None:
    handle = _handle(url)
    assert ecr.ecr_image(handle, "team/worker", tag="7").found
    missing = ecr.ecr_image(handle, "team/worker", tag="8")
    assert not missing.found and missing.reason == "no such image"
