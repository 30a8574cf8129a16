"""Container images: which images a namespace's deployments run, and whether ECR has them.

``deployment_images`` lists the deployments of a namespace (paginated, through the handle's
Kubernetes client) and splits each container image reference (init containers included) into
registry, repository, tag and digest. ``ecr_image`` asks ECR in the handle's region for one
image by tag or digest.

Not supported: images in registries other than private ECR (they are reported as such, never
looked up), ECR pull-through caches and replication rules (only the image's presence in the
region is read), image signatures and vulnerability findings, multi-architecture indexes
(the manifest list's presence is enough).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from kubernetes import client

from maip_drlib.facts_platform import ContainerImage, EcrImageFact
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes.kube import paged
from maip_drlib.regions import RegionHandle


def parse_image(deployment: str, container: str, reference: str) -> ContainerImage:
    """Split ``[registry/]repository[:tag][@digest]`` (Docker's reference grammar)."""
    rest, _, digest = reference.partition("@")
    registry = ""
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    repository, tag = rest, None
    name_end = repository.rfind("/")
    colon = repository.rfind(":")
    if colon > name_end:
        repository, tag = repository[:colon], repository[colon + 1:]
    if not tag and not digest:
        tag = "latest"
    return ContainerImage(deployment=deployment, container=container, reference=reference,
                          registry=registry, repository=repository, tag=tag,
                          digest=digest or None)


def deployment_images(handle: RegionHandle, namespace: str) -> tuple[ContainerImage, ...]:
    apps = client.AppsV1Api(handle.api_client)
    images = []
    for item in paged(handle, apps.list_namespaced_deployment, namespace=namespace):
        pod_spec: Any = item.spec.template.spec if item.spec and item.spec.template else None
        containers = list((pod_spec.init_containers or []) + (pod_spec.containers or [])) \
            if pod_spec else []
        for container in containers:
            images.append(parse_image(item.metadata.name, container.name, str(container.image)))
    return tuple(images)


def ecr_image(handle: RegionHandle, repository: str, *, tag: str | None = None,
              digest: str | None = None, registry_id: str | None = None) -> EcrImageFact:
    """Whether ECR in the handle's region holds the image (by digest when given, else tag)."""
    image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageIds": [image_id]}
    if registry_id:
        kwargs["registryId"] = registry_id

    def missing(reason: str) -> EcrImageFact:
        return EcrImageFact(handle.region, repository, tag, digest, False, reason)

    try:
        with aws_api(handle, "ecr"):
            details = handle.client("ecr").describe_images(**kwargs).get("imageDetails", [])
    except ClientError as error:
        code = error_code(error)
        if code == "RepositoryNotFoundException":
            return missing("no such repository")
        if code == "ImageNotFoundException":
            return missing("no such image")
        raise
    if not details:
        return missing("no such image")
    return EcrImageFact(handle.region, repository, tag, str(details[0].get("imageDigest")), True)
