"""WSGI middleware in front of moto: decides per request, from its SigV4 scope, what a fault does.

The credential scope (``Credential=AKID/date/REGION/SERVICE/aws4_request`` in the Authorization
header, or ``X-Amz-Credential`` in a presigned query) says which region and service a request
is for. Then:

- region in outage ``refuse``: the client socket is shut down at once, unanswered (botocore
  sees a closed connection fast); no traceback is printed.
- region in outage ``hang``: no answer until the fault changes (bounded: ``hang_limit_s``,
  120 s by default; when the limit passes the connection is dropped as for ``refuse``).
- Route 53 and IAM signed for us-east-1 are the global endpoints: they survive a us-east-1
  outage. STS is regional (its regional endpoints, what botocore signs for by default): STS
  signed for a region goes down with that region, us-east-1 included (the global endpoint
  sts.amazonaws.com is served from us-east-1: AWS recommends the regional endpoints for
  resilience, IAM user guide "Manage AWS STS in an AWS Region").
- ``route53_control_plane_impaired``: every Route 53 API call gets HTTP 503 with a Route 53
  XML error (code ``ServiceUnavailable``).
- API faults (``FaultState.add_api_fault``, per service and region, a burst of N calls or
  persistent): ``refuse``/``hang`` as above; ``5xx`` and ``throttle`` answer the error in the
  service's own protocol (``api_fault_decision``): query services (RDS, ELBv2, STS, IAM) and
  rest-xml (Route 53) an XML ``ErrorResponse``; EC2 its ``Response/Errors`` XML; JSON services
  (DynamoDB, ECR, Secrets Manager, Service Quotas) ``__type``; rest-json (EKS, MSK)
  ``x-amzn-ErrorType``; CloudWatch (``monitoring``) in the protocol the client chose (its
  Content-Type: smithy RPC v2 CBOR, JSON 1.0 or query), with the query-compatible
  ``x-amzn-query-error`` header. botocore sees the real error codes
  (``Throttling``, ``ThrottlingException``, ``TooManyRequestsException`` with HTTP 429,
  ``ServiceUnavailable``) and retries them as it would against AWS.
- Extra rules: ``add_rule`` takes a ``Rule`` (scope, snapshot) -> ``Decision | None``,
  consulted after the faults above. Not supported: services outside the list above get the
  JSON body.

Unsigned requests (moto's own ``/moto-api``) always pass.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs

from maip_drlib.sim.faults import ApiFault, FaultSnapshot, FaultState

DEFAULT_HANG_LIMIT_S = 120.0
GLOBAL_SERVICES = frozenset({"route53", "iam"})
GLOBAL_SIGNING_REGION = "us-east-1"
_HANG_POLL_S = 0.25

DecisionKind = Literal["pass", "refuse", "hang", "error"]


@dataclass(frozen=True)
class RequestScope:
    """Where a request is going, by its signature: region and signing service name."""

    region: str | None
    service: str | None
    # The wire protocol the client chose, from the request's Content-Type: "cbor", "json",
    # "query" or "" (REST and unknown). CloudWatch clients pick CBOR, JSON or query.
    protocol: str = ""


@dataclass(frozen=True)
class Decision:
    """What the middleware does with one request."""

    kind: DecisionKind
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


PASS = Decision("pass")
REFUSE = Decision("refuse")
HANG = Decision("hang")

Rule = Callable[[RequestScope, FaultSnapshot], Decision | None]


def scope_of(environ: dict[str, Any]) -> RequestScope:
    """The SigV4 credential scope of a request (region and service), if it has one."""
    credential = None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth.startswith("AWS4-"):
        for part in auth.replace(",", " ").split():
            if part.startswith("Credential="):
                credential = part[len("Credential="):]
                break
    if credential is None:
        values = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
        credential = values[0] if values else None
    if not credential:
        return RequestScope(region=None, service=None)
    parts = credential.split("/")
    if len(parts) != 5:
        return RequestScope(region=None, service=None)
    return RequestScope(region=parts[2], service=parts[3].lower(),
                        protocol=wire_protocol(environ))


def wire_protocol(environ: dict) -> str:
    """"cbor", "json", "query" or "" for the request's body encoding (its Content-Type)."""
    content_type = str(environ.get("CONTENT_TYPE", "")).lower()
    if "cbor" in content_type or environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
        return "cbor"
    if "x-amz-json" in content_type:
        return "json"
    if "x-www-form-urlencoded" in content_type:
        return "query"
    return ""


def error_decision(status: int, content_type: str, body: str) -> Decision:
    request_id = str(uuid.uuid4())
    return Decision(
        "error",
        status=status,
        headers=(("Content-Type", content_type), ("x-amzn-RequestId", request_id)),
        body=body.encode("utf-8"),
    )


def route53_unavailable() -> Decision:
    request_id = str(uuid.uuid4())
    body = (
        '<?xml version="1.0"?>\n'
        '<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
        "<Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
        "<Message>The Route 53 control plane is impaired (simulated).</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Decision(
        "error",
        status=503,
        headers=(("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)),
        body=body.encode("utf-8"),
    )


QUERY_SERVICES = frozenset({"rds", "elasticloadbalancing", "sts", "iam", "route53"})
REST_JSON_SERVICES = frozenset({"eks", "kafka"})
CBOR_SERVICES = frozenset({"monitoring"})


def default_error(kind: str, service: str | None) -> tuple[int, str]:
    """HTTP status and error code a real service answers for a throttle or a 5xx."""
    if kind == "throttle":
        if service in REST_JSON_SERVICES:
            return 429, "TooManyRequestsException"
        if service in QUERY_SERVICES or service in CBOR_SERVICES:
            return 400, "Throttling"
        if service == "ec2":
            return 503, "RequestLimitExceeded"
        return 400, "ThrottlingException"
    return 503, "ServiceUnavailable"


def _cbor_text(value: str) -> bytes:
    data = value.encode("utf-8")
    if len(data) < 24:
        return bytes([0x60 + len(data)]) + data
    if len(data) < 256:
        return bytes([0x78, len(data)]) + data
    return bytes([0x79]) + len(data).to_bytes(2, "big") + data


def _cbor_map(items: dict[str, str]) -> bytes:
    out = bytes([0xA0 + len(items)])
    for key, value in items.items():
        out += _cbor_text(key) + _cbor_text(value)
    return out


def api_fault_decision(fault: ApiFault, scope: RequestScope) -> Decision:
    """The answer an API fault gives, in the protocol of the request's service."""
    if fault.kind == "refuse":
        return REFUSE
    if fault.kind == "hang":
        return HANG
    status, code = default_error(fault.kind, scope.service)
    status = fault.status or status
    code = fault.code or code
    message = (f"Rate exceeded (simulated {fault.kind} fault)" if fault.kind == "throttle"
               else f"Service unavailable (simulated {fault.kind} fault)")
    request_id = str(uuid.uuid4())
    sender = "Sender" if status < 500 else "Receiver"
    service = scope.service
    if service in QUERY_SERVICES:
        namespace = (' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"'
                     if service == "route53" else "")
        body = (f'<?xml version="1.0"?>\n<ErrorResponse{namespace}><Error><Type>{sender}</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return error_decision(status, "text/xml", body)
    if service == "ec2":
        body = (f'<?xml version="1.0"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>")
        return error_decision(status, "text/xml", body)
    if service in REST_JSON_SERVICES:
        decision = error_decision(status, "application/json",
                                  json.dumps({"message": message}))
        return replace(decision, headers=(*decision.headers, ("x-amzn-ErrorType", code)))
    if service in CBOR_SERVICES and scope.protocol == "query":
        body = (f'<?xml version="1.0"?>\n<ErrorResponse><Error><Type>{sender}</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return error_decision(status, "text/xml", body)
    if service in CBOR_SERVICES and scope.protocol == "json":
        decision = error_decision(status, "application/x-amz-json-1.0",
                                  json.dumps({"__type": code, "message": message}))
        return replace(decision, headers=(*decision.headers,
                                          ("x-amzn-query-error", f"{code};{sender}")))
    if service in CBOR_SERVICES:
        return Decision("error", status=status, headers=(
            ("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", request_id), ("x-amzn-query-error", f"{code};{sender}"),
        ), body=_cbor_map({"__type": code, "message": message}))
    return error_decision(status, "application/x-amz-json-1.0",
                          json.dumps({"__type": code, "message": message}))


def fault_decision(scope: RequestScope, snapshot: FaultSnapshot) -> Decision:
    """What the FaultState does to a request with this scope."""
    if scope.service == "route53" and snapshot.route53_control_plane_impaired:
        return route53_unavailable()
    if scope.region is None:
        return PASS
    if scope.service in GLOBAL_SERVICES and scope.region == GLOBAL_SIGNING_REGION:
        return PASS
    outage = snapshot.region(scope.region).outage
    if outage == "refuse":
        return REFUSE
    if outage == "hang":
        return HANG
    return PASS


@dataclass
class FaultMiddleware:
    """Wraps the moto WSGI app; see the module docstring."""

    app: Callable[..., Any]
    faults: FaultState
    hang_limit_s: float = DEFAULT_HANG_LIMIT_S
    rules: list[Rule] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def add_rule(self, rule: Rule) -> None:
        self.rules.append(rule)

    def stop(self) -> None:
        """Release hanging requests (they are dropped) so the server can stop."""
        self._stopping.set()

    def _api_fault(self, scope: RequestScope) -> ApiFault | None:
        """The API fault this request meets (global services only by their own name)."""
        if scope.service in GLOBAL_SERVICES and scope.region == GLOBAL_SIGNING_REGION:
            snapshot = self.faults.snapshot()
            if not any(fault.service == scope.service and fault.matches(scope.service,
                                                                        scope.region)
                       for fault in snapshot.api_faults):
                return None
        return self.faults.take_api_fault(scope.service, scope.region)

    def _hang_fault_present(self, scope: RequestScope) -> bool:
        return any(fault.kind == "hang" and fault.matches(scope.service, scope.region)
                   for fault in self.faults.snapshot().api_faults)

    def decide(self, scope: RequestScope, snapshot: FaultSnapshot) -> Decision:
        decision = fault_decision(scope, snapshot)
        if decision.kind != "pass":
            return decision
        for rule in list(self.rules):
            ruled = rule(scope, snapshot)
            if ruled is not None:
                return ruled
        return PASS

    def _decide_waiting(self, scope: RequestScope) -> Decision:
        deadline = time.monotonic() + self.hang_limit_s
        while True:
            decision = self.decide(scope, self.faults.snapshot())
            if decision.kind != "hang":
                return decision
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                return REFUSE
            self.faults.wait_for_change(min(remaining, _HANG_POLL_S))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        scope = scope_of(environ)
        if scope.region is None and scope.service is None:
            return self.app(environ, start_response)
        decision = self._decide_waiting(scope)
        if decision.kind == "pass":
            api_fault = self._api_fault(scope)
            if api_fault is not None:
                decision = api_fault_decision(api_fault, scope)
                if decision.kind == "hang":
                    self._hold_body(scope)
                    decision = REFUSE
        if decision.kind == "refuse":
            _drop_connection(environ)
            raise ConnectionAbortedError("simulated regional outage: connection refused")
        if decision.kind == "error":
            _drain_body(environ)
            headers = [*decision.headers, ("Content-Length", str(len(decision.body)))]
            start_response(f"{decision.status} {_reason(decision.status)}", headers)
            return [decision.body]
        return self.app(environ, start_response)


    def _hold_body(self, scope: RequestScope) -> None:
        deadline = time.monotonic() + self.hang_limit_s
        while (self._hang_fault_present(scope) and not self._stopping.is_set()
               and time.monotonic() < deadline):
            self.faults.wait_for_change(_HANG_POLL_S)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _drain_body(environ: dict[str, Any]) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        environ["wsgi.input"].read(length)


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        # Linger 0: the close that follows sends a reset, as a refused/dead endpoint would.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
