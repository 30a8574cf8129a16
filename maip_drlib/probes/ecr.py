"""Container images: which images a namespace's deployments run, and whether ECR has them.

``deployment_images`` lists the deployments of a namespace (one paginated list, read as plain
JSON by ``kube.container_images``: no typed Kubernetes models) and splits each container image
reference (init containers included) into registry, repository, tag and digest. ``ecr_image``
asks ECR in the handle's region for one image by tag or digest; ``ecr_images`` asks for
several images of one repository in one ``DescribeImages`` call (up to 100 ids a call), and
``registry_images`` does that for every repository of a set of images, a few repositories at a
time: the calls grow with the number of repositories, not of images or deployments.

ECR answers a ``DescribeImages`` that names a missing image with ``ImageNotFoundException`` for
the whole call, without saying which: only then are that call's images asked for one by one,
so the extra calls are made only when an image is missing.

Not supported: images in registries other than private ECR (they are reported as such, never
looked up), ECR pull-through caches and replication rules (only the image's presence in the
region is read), image signatures and vulnerability findings, multi-architecture indexes
(the manifest list's presence is enough), one call across repositories (ECR has none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from maip_drlib.facts_platform import ContainerImage, EcrImageFact
from maip_drlib.probes import aws_api, error_code
from maip_drlib.probes.kube import container_images

if TYPE_CHECKING:
    from maip_drlib.regions import RegionHandle

MAX_IMAGE_IDS_PER_CALL = 100  # DescribeImages' limit on imageIds
DEFAULT_REPOSITORY_CONCURRENCY = 8


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
    """Every container image of every deployment of ``namespace`` (one paginated list)."""
    return tuple(parse_image(*found) for found in container_images(handle, namespace))


def _image_id(tag: str | None, digest: str | None) -> dict[str, str]:
    return {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}


def _describe(handle: RegionHandle, repository: str, image_ids: list[dict[str, str]],
              registry_id: str | None) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageIds": image_ids}
    if registry_id:
        kwargs["registryId"] = registry_id
    with aws_api(handle, "ecr"):
        return list(handle.client("ecr").describe_images(**kwargs).get("imageDetails", []))


def _matching(details: Iterable[dict[str, Any]], image_id: dict[str, str]) -> dict | None:
    for detail in details:
        if "imageDigest" in image_id:
            if detail.get("imageDigest") == image_id["imageDigest"]:
                return detail
        elif image_id["imageTag"] in (detail.get("imageTags") or ()):
            return detail
    return None


def ecr_image(handle: RegionHandle, repository: str, *, tag: str | None = None,
              digest: str | None = None, registry_id: str | None = None) -> EcrImageFact:
    """Whether ECR in the handle's region holds the image (by digest when given, else tag)."""
    return ecr_images(handle, repository, [(tag, digest)], registry_id=registry_id)[0]


def ecr_images(handle: RegionHandle, repository: str,
               wanted: Sequence[tuple[str | None, str | None]], *,
               registry_id: str | None = None) -> list[EcrImageFact]:
    """Whether ECR in the handle's region holds each (tag, digest) of ``repository``, in the
    order asked: one ``DescribeImages`` per 100 images, one per image only for a call that
    named a missing image."""
    facts: list[EcrImageFact] = []
    for start in range(0, len(wanted), MAX_IMAGE_IDS_PER_CALL):
        chunk = wanted[start:start + MAX_IMAGE_IDS_PER_CALL]
        facts.extend(_lookup_chunk(handle, repository, chunk, registry_id))
    return facts


def _lookup_chunk(handle: RegionHandle, repository: str,
                  chunk: Sequence[tuple[str | None, str | None]],
                  registry_id: str | None) -> list[EcrImageFact]:
    def fact(tag: str | None, digest: str | None, detail: dict | None,
             reason: str = "no such image") -> EcrImageFact:
        if detail is None:
            return EcrImageFact(handle.region, repository, tag, digest, False, reason)
        return EcrImageFact(handle.region, repository, tag, str(detail.get("imageDigest")),
                            True)

    ids = [_image_id(tag, digest) for tag, digest in chunk]
    try:
        details = _describe(handle, repository, ids, registry_id)
    except ClientError as error:
        code = error_code(error)
        if code == "RepositoryNotFoundException":
            return [fact(tag, digest, None, "no such repository") for tag, digest in chunk]
        if code != "ImageNotFoundException":
            raise
        if len(chunk) == 1:
            return [fact(*chunk[0], None)]
        # The call named a missing image without saying which: ask one by one.
        return [fact_ for tag, digest in chunk
                for fact_ in _lookup_chunk(handle, repository, [(tag, digest)], registry_id)]
    return [fact(tag, digest, _matching(details, image_id))
            for (tag, digest), image_id in zip(chunk, ids, strict=True)]


def registry_images(handle: RegionHandle, images: Iterable[ContainerImage], *,
                    concurrency: int = DEFAULT_REPOSITORY_CONCURRENCY,
                    ) -> dict[str, EcrImageFact]:
    """Whether ECR in the handle's region holds each image, keyed by image reference: one
    ``ecr_images`` per repository (and registry), ``concurrency`` repositories at a time.
    Images are taken as given (callers filter out registries other than this region's)."""
    groups: dict[tuple[str, str | None], dict[str, ContainerImage]] = {}
    for image in images:
        key = (image.repository, image.ecr_account)
        groups.setdefault(key, {}).setdefault(image.reference, image)
    if not groups:
        return {}

    def lookup(item: tuple[tuple[str, str | None], dict[str, ContainerImage]],
               ) -> list[tuple[str, EcrImageFact]]:
        (repository, registry_id), by_reference = item
        found = ecr_images(handle, repository,
                           [(image.tag, image.digest) for image in by_reference.values()],
                           registry_id=registry_id)
        return list(zip(by_reference, found, strict=True))

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(groups))),
                            thread_name_prefix="ecr-images") as pool:
        results = list(pool.map(lookup, groups.items()))
    return {reference: fact for pairs in results for reference, fact in pairs}
