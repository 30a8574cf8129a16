"""The write gate: no mutating call without the operator's consent, and every one journalled.

One ``WriteGate`` is shared by the region handles of a target (``regions.py``). Each AWS call
(a botocore ``before-parameter-build`` handler, which sees the call's own parameters) and
each Kubernetes request (the ``ApiClient``'s REST client) asks it first:

- a read (``Describe*``, ``List*``, ``Get*``, ``Query``, ``Scan``, a Kubernetes GET, ...)
  passes untouched;
- a write is refused with ``GuardRefused`` (exit 3) before any byte is sent, unless the gate is
  open: consent was given (``--dr-execute`` and a matching ``--dr-confirm`` on ``sim`` and
  ``live`` targets; implied by a game day on the embedded simulation) and the code running now
  may write (the pytest plugin closes the gate for read-only scenarios such as readiness);
- an allowed write is reported to the gate's listener twice, as a structured ``call`` record:
  its intent (stage, service, operation, region, resource, parameters) before it is sent,
  and its result (``ok`` or the error) after. The journal redacts the parameters.

This is a second line of defence: the CLI and the pytest plugin check the flags before the
first call, and every stage calls ``require_execute`` before it mutates. The gate makes a
missed check a refusal rather than a write.

Not supported: PostgreSQL statements (psycopg connections are not built by handles: the
stages and the game day check consent before they write); presigned URLs (never called
here); classifying an AWS operation by anything but its name (every AWS read API of the
services the suite uses is named Describe/List/Get/Query/Scan/BatchGet/...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from maip_drlib.errors import GuardRefused

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Query", "Scan", "BatchGet", "TransactGet",
                 "Search", "Lookup", "Filter", "Select", "Test", "Validate", "Check",
                 "Estimate", "Preview", "Simulate", "Poll")
# Calls that start no change on the platform although their names do not say so.
READ_OPERATIONS = frozenset({("sts", "AssumeRole"), ("sts", "AssumeRoleWithWebIdentity"),
                             ("sts", "GetSessionToken"), ("sso", "GetRoleCredentials")})
KUBE_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Parameters that name the resource a call acts on, in the order they are looked up.
RESOURCE_KEYS = ("DBInstanceIdentifier", "DBSnapshotIdentifier", "HostedZoneId", "TableName",
                 "clusterName", "nodegroupName", "ClusterArn", "ReplicatorArn", "SecretId",
                 "Bucket", "Key", "Namespace", "LoadBalancerArn", "Name")
MAX_PARAMETER_CHARS = 400

DEFAULT_REFUSAL = ("writes need --dr-execute and --dr-confirm with the target's name; "
                   "nothing was written")

Listener = Callable[[dict[str, Any]], None]


def is_aws_write(service: str, operation: str) -> bool:
    """True when the AWS operation can change something (by its name; see the docstring)."""
    if (service, operation) in READ_OPERATIONS:
        return False
    return not operation.startswith(READ_PREFIXES)


def compact_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level parameters, nested values as truncated JSON (the journal redacts them)."""
    compact: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str | int | float | bool) or value is None:
            compact[key] = value if not isinstance(value, str) else value[:MAX_PARAMETER_CHARS]
        else:
            text = json.dumps(value, default=str, sort_keys=True)
            compact[key] = (text if len(text) <= MAX_PARAMETER_CHARS
                            else text[:MAX_PARAMETER_CHARS] + "...")
    return compact


def resource_of(params: Mapping[str, Any]) -> str | None:
    """The resource a call names (its identifier parameters joined), or None."""
    found = [f"{key}={params[key]}" for key in RESOURCE_KEYS
             if isinstance(params.get(key), str | int)]
    return ", ".join(found) if found else None


@dataclass(frozen=True)
class CallRecord:
    """One mutating call as the journal records it (``kind: call``)."""

    stage: str | None
    service: str
    operation: str
    region: str
    resource: str | None
    parameters: dict[str, Any]

    def fields(self, event: str, **more: Any) -> dict[str, Any]:
        return {"event": event, "stage": self.stage, "service": self.service,
                "operation": self.operation, "region": self.region, "resource": self.resource,
                "parameters": self.parameters, **more}


class WriteGate:
    """Consent for writes, shared by a target's handles; thread-safe."""

    def __init__(self, *, consent: bool, refusal: str = DEFAULT_REFUSAL,
                 listener: Listener | None = None, target: str | None = None):
        self.consent = consent
        self.refusal = refusal
        self.listener = listener
        self.target = target
        self._lock = threading.Lock()
        self._open = consent
        self._stage: str | None = None
        self._closed_because: str | None = None

    @classmethod
    def closed(cls, refusal: str = DEFAULT_REFUSAL, **kwargs: Any) -> WriteGate:
        return cls(consent=False, refusal=refusal, **kwargs)

    @classmethod
    def consented(cls, **kwargs: Any) -> WriteGate:
        return cls(consent=True, **kwargs)

    @property
    def stage(self) -> str | None:
        return self._stage

    def enter(self, stage: str | None, *, may_write: bool, because: str | None = None) -> None:
        """The code that runs from now on (a stage, a phase) and whether it may write: a
        gate without consent never opens."""
        with self._lock:
            self._stage = stage
            self._open = self.consent and may_write
            self._closed_because = None if self._open else (
                because if self.consent else self.refusal)

    def check(self, record: CallRecord) -> None:
        """Raise ``GuardRefused`` unless the gate is open; journal the intent when it is."""
        with self._lock:
            allowed, because = self._open, self._closed_because or self.refusal
        if not allowed:
            where = f"{record.stage}: " if record.stage else ""
            on = f" on target {self.target!r}" if self.target else ""
            raise GuardRefused(f"{where}refusing {record.service}:{record.operation} in "
                               f"{record.region}{on} ({record.resource or 'no resource named'}):"
                               f" {because}")
        self._emit(record.fields("intent"))

    def done(self, record: CallRecord, error: BaseException | None = None) -> None:
        """Journal the result of an allowed write."""
        if error is None:
            self._emit(record.fields("result", outcome="ok"))
        else:
            self._emit(record.fields("result", outcome="failed",
                                     error=f"{type(error).__name__}: {error}"[:500]))

    def _emit(self, fields: dict[str, Any]) -> None:
        if self.listener is not None:
            self.listener(fields)

    # -- wiring into clients ----------------------------------------------------------------

    def attach_aws(self, session: Any, *, region: str) -> None:
        """Ask the gate before every AWS call of ``session``'s clients (reads pass)."""
        pending = threading.local()

        def before_parameter_build(model: Any = None, params: Any = None, **_: Any) -> None:
            if model is None:
                return
            service = model.service_model.service_name
            if not is_aws_write(service, model.name):
                return
            args = params if isinstance(params, Mapping) else {}
            record = CallRecord(stage=self.stage, service=service, operation=model.name,
                                region=region, resource=resource_of(args),
                                parameters=compact_parameters(args))
            self.check(record)
            pending.record = record

        def after_call(model: Any = None, http_response: Any = None, parsed: Any = None,
                       **_: Any) -> None:
            record = getattr(pending, "record", None)
            if record is None or model is None or record.operation != model.name:
                return
            pending.record = None
            status = getattr(http_response, "status_code", 200)
            error = None
            if isinstance(parsed, Mapping) and "Error" in parsed and status >= 300:
                error = RuntimeError(f"HTTP {status} {parsed['Error'].get('Code', '')}".strip())
            self.done(record, error)

        def after_error(model: Any = None, exception: BaseException | None = None,
                        **_: Any) -> None:
            record = getattr(pending, "record", None)
            if record is None or model is None or record.operation != model.name:
                return
            pending.record = None
            self.done(record, exception or RuntimeError("failed"))

        session.events.register("before-parameter-build", before_parameter_build)
        session.events.register("after-call", after_call)
        session.events.register("after-call-error", after_error)

    def attach_kube(self, api_client: Any, *, region: str) -> None:
        """Ask the gate before every Kubernetes request that changes something."""
        from maip_drlib.aws_operations import kube_request

        rest_client = api_client.rest_client
        original = rest_client.request

        def gated_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method.upper() not in KUBE_WRITE_METHODS:
                return original(method, url, *args, **kwargs)
            request = kube_request(method, url)
            resource = url.split("?", 1)[0].split("/", 3)[-1] if "//" in url else url
            record = CallRecord(
                stage=self.stage, service="kubernetes",
                operation=f"{request.verb} {request.resource}" if request else method.upper(),
                region=region, resource=resource,
                parameters=compact_parameters({"body": kwargs.get("body")})
                if kwargs.get("body") is not None else {})
            self.check(record)
            try:
                response = original(method, url, *args, **kwargs)
            except Exception as error:  # journalled, then re-raised unchanged
                self.done(record, error)
                raise
            self.done(record)
            return response

        rest_client.request = gated_request
