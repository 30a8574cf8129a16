"""Patch bodies the API accepts: JSON merge patch (RFC 7386), strategic merge patch (read
as a merge patch) and JSON patch (RFC 6902: add, replace, remove, test).

Not supported: strategic-merge directives (``$patch``, ``$retainKeys``), merging lists by
key (a list in a patch replaces the whole list), JSON patch ``move`` and ``copy``,
server-side apply (``application/apply-patch+yaml``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from maip_drlib.sim.kube.apierrors import KubeApiError, bad_request

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, parts: list[str]) -> Any:
    for part in parts[:-1]:
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    result = copy.deepcopy(document)
    for operation in operations:
        op, parts = operation.get("op"), _pointer(operation.get("path", ""))
        try:
            parent, last = _parent(result, parts), parts[-1]
            if op in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if op == "add":
                        parent.insert(index, operation["value"])
                    else:
                        parent[index] = operation["value"]
                else:
                    if op == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = operation["value"]
            elif op == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif op == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent[last]
                if current != operation.get("value"):
                    raise KubeApiError(422, "Invalid", f"test failed at {operation['path']}")
            else:
                raise bad_request(f"unsupported JSON patch operation {op!r}")
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise KubeApiError(422, "Invalid",
                               f"the server rejected our request due to an error in our "
                               f"request: {op} {operation.get('path')}: {error}") from error
    return result


def apply_patch(document: dict[str, Any], body: bytes, content_type: str) -> dict[str, Any]:
    """``document`` with the patch ``body`` applied according to ``content_type``."""
    media = content_type.split(";")[0].strip().lower()
    try:
        patch = json.loads(body or b"null")
    except json.JSONDecodeError as error:
        raise bad_request(f"invalid patch body: {error}") from error
    if media in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
        if not isinstance(patch, dict):
            raise bad_request("a merge patch must be a JSON object")
        return merge_patch(document, patch)
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("a JSON patch must be a JSON array")
        return json_patch(document, patch)
    raise KubeApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media "
                       f"types include: {JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}")
