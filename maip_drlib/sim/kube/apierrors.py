"""API errors of the fake Kubernetes API server and their ``Status`` bodies.

Each error maps to the HTTP code and ``reason`` a real API server uses. Not supported:
``details.retryAfterSeconds`` and the other optional ``details`` fields besides causes.
"""

from __future__ import annotations

from typing import Any


class KubeApiError(Exception):
    """An error the API answers with a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, *,
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code: int, reason: str, message: str,
                details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``v1 Status`` failure object, as real API servers send with 4xx answers."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def not_found(resource: str, name: str, group: str = "") -> KubeApiError:
    qualified = f"{resource}.{group}" if group else resource
    return KubeApiError(404, "NotFound", f'{qualified} "{name}" not found',
                        details={"name": name, "group": group, "kind": resource})


def conflict(resource: str, name: str, group: str = "") -> KubeApiError:
    qualified = f"{resource}.{group}" if group else resource
    return KubeApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details={"name": name, "group": group, "kind": resource},
    )


def already_exists(resource: str, name: str, group: str = "") -> KubeApiError:
    qualified = f"{resource}.{group}" if group else resource
    return KubeApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists',
                        details={"name": name, "group": group, "kind": resource})


def invalid(kind: str, name: str, field: str, message: str, group: str = "") -> KubeApiError:
    return KubeApiError(
        422, "Invalid", f'{kind}.{group or "core"} "{name}" is invalid: {field}: {message}',
        details={"name": name, "group": group, "kind": kind,
                 "causes": [{"reason": "FieldValueInvalid", "message": message,
                             "field": field}]},
    )


def bad_request(message: str) -> KubeApiError:
    return KubeApiError(400, "BadRequest", message)


def gone(message: str) -> KubeApiError:
    return KubeApiError(410, "Expired", message)
