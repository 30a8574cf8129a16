"""Records the AWS operations and Kubernetes requests the suite makes, for its least-privilege
policies (``policies/``, ``docs/iam.md``).

Recording is off unless the environment variable ``MAIP_DR_RECORD_AWS_OPERATIONS`` names a
file. Each ``RegionHandle`` then appends one JSON line per call to that file, from every
process that inherits the variable:

- ``{"kind": "aws", "service": "rds", "operation": "PromoteReadReplica", "region": ...}``
  from a botocore ``before-call`` handler (the operation as botocore names it, also for calls
  that fail);
- ``{"kind": "kube", "verb": "patch", "group": "apps", "resource": "deployments/scale", ...}``
  from the handle's Kubernetes ``ApiClient``.

Lines are written with ``O_APPEND`` in one ``write`` each, under a process lock, so concurrent
threads and processes do not interleave them. This is the one place the library reads the
process environment outside the CLI: the switch is an instrument and changes no behaviour.

Not supported: calls made with clients that do not come from a ``RegionHandle`` (the
simulation's own seeding and metric clients are deliberately not recorded); presigned URLs
(the EKS bearer token is a presigned ``sts:GetCallerIdentity`` that is never called here).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENV_VAR = "MAIP_DR_RECORD_AWS_OPERATIONS"

_WRITE_LOCK = threading.Lock()


def recording_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The recording file named by ``MAIP_DR_RECORD_AWS_OPERATIONS``, or None (off)."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return Path(value) if value else None


def append_record(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line to ``path`` atomically (one ``write`` on an ``O_APPEND`` file)."""
    data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    with _WRITE_LOCK:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)


class AwsCallRecorder:
    """A botocore ``before-call`` handler appending the operation of every call to a file."""

    def __init__(self, path: Path, *, target: str, region: str):
        self.path = path
        self.target = target
        self.region = region

    def __call__(self, model: Any = None, **_: Any) -> None:
        if model is None:
            return
        append_record(self.path, {
            "kind": "aws", "service": model.service_model.service_name,
            "operation": model.name, "region": self.region, "target": self.target,
        })


def attach_aws_recorder(session: Any, *, target: str, region: str,
                        path: Path | None = None) -> AwsCallRecorder | None:
    """Register the recorder on a boto3 session when recording is on; returns it or None."""
    path = path or recording_path()
    if path is None:
        return None
    recorder = AwsCallRecorder(path, target=target, region=region)
    session.events.register("before-call", recorder)
    return recorder


# -- Kubernetes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeRequest:
    """One Kubernetes API request as RBAC sees it: verb, API group and (sub)resource."""

    verb: str
    group: str
    resource: str
    namespaced: bool


def kube_request(method: str, url: str) -> KubeRequest | None:
    """The RBAC verb and resource of a request URL; None for non-resource paths (/version)."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) >= 2 and segments[0] == "api":
        group, rest = "", segments[2:]
    elif len(segments) >= 3 and segments[0] == "apis":
        group, rest = segments[1], segments[3:]
    else:
        return None
    namespaced = len(rest) >= 2 and rest[0] == "namespaces"
    if namespaced and len(rest) >= 3:
        rest = rest[2:]
    elif namespaced:
        rest, namespaced = ["namespaces", rest[1]], False
    if not rest:
        return None
    resource = rest[0] + (f"/{rest[2]}" if len(rest) >= 3 else "")
    named = len(rest) >= 2
    query = parse_qs(parts.query)
    method = method.upper()
    if method == "GET":
        if query.get("watch", [""])[0].lower() in ("1", "true"):
            verb = "watch"
        else:
            verb = "get" if named else "list"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if named else "deletecollection"}.get(method, method.lower())
    return KubeRequest(verb=verb, group=group, resource=resource, namespaced=namespaced)


def attach_kube_recorder(api_client: Any, *, target: str, region: str,
                         path: Path | None = None) -> bool:
    """Wrap the ApiClient's REST client ``request`` so each request is recorded (every
    generated API method goes through it); False when off."""
    path = path or recording_path()
    if path is None:
        return False
    rest_client = api_client.rest_client
    original = rest_client.request

    def recording_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        request = kube_request(method, url)
        if request is not None:
            append_record(path, {"kind": "kube", "verb": request.verb, "group": request.group,
                                 "resource": request.resource,
                                 "namespaced": request.namespaced, "region": region,
                                 "target": target})
        return original(method, url, *args, **kwargs)

    rest_client.request = recording_request
    return True


# -- Reading a recording -----------------------------------------------------------------------


def read_records(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every record of the given recording files (missing files count as empty)."""
    records: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def aws_operations(records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The distinct (botocore service name, operation name) pairs of a recording."""
    return {(str(r["service"]), str(r["operation"])) for r in records if r.get("kind") == "aws"}


def kube_permissions(records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """The distinct (API group, resource, verb) triples of a recording."""
    return {(str(r["group"]), str(r["resource"]), str(r["verb"]))
            for r in records if r.get("kind") == "kube"}
