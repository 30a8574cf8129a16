"""The simulation's control server: fault controls and the simulated DNS answer over HTTP.

Plain HTTP on 127.0.0.1 only (never another address). Routes:

- ``GET /status``: endpoints, regions and current faults (JSON).
- ``GET /dns/resolve?name=N``: where clients reaching ``N`` connect now (JSON), or with
  ``&format=connect-to`` the ``127.0.0.1:PORT`` text curl's ``--connect-to`` takes.
- ``GET /dns/plan``: the address plan of the data plane's DNS server (JSON, marked simulated):
  ``{"simulated": true, "nameserver": "127.0.0.1:PORT", "addresses": {ADDRESS: {"port",
  "region", "alb_dns_name"}}}``; each planned address an ALB is answered with, and the
  loopback port its endpoint really listens on. ``?address=A`` answers that one entry
  (``&format=connect-to``: the ``127.0.0.1:PORT`` text), 404 when ``A`` is not planned. 404
  with a JSON error when the data plane is off (no DNS server).
- ``POST /faults/<name>`` with a JSON body: see ``FAULT_ROUTES``. ``alb`` takes ``region``,
  ``http_5xx_count`` and ``target_response_time_s`` (numbers >= 0; null or absent clears).
  ``api`` takes ``kind`` (refuse, hang, 5xx, throttle), ``service`` and ``region`` (default
  ``*``), optional ``status``, ``code`` and ``count`` (a burst of that many calls; absent:
  persistent); ``api-clear`` optional ``service``/``region``. ``kube-api`` takes ``region`` and
  ``mode`` (refuse, hang, null clears); ``nodes`` ``region`` and ``not_ready`` (bool);
  ``nodegroup-update`` ``fails`` (bool); ``route53-change`` ``stuck`` (bool); ``synthetic``
  ``region`` and ``http_status`` (null clears); ``replication-cut`` ``cut`` (bool; the
  simulated PostgreSQL standbys' links, data plane only).

Not supported: authentication (loopback only), batching several faults in one request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from maip_drlib.sim.faults import ApiFault, FaultSnapshot, FaultState
from maip_drlib.sim.listener import RestartableServer, send_json

MAX_BODY_BYTES = 64 * 1024
NO_DNS_PLAN = ("no DNS address plan: the simulation's data plane is off (start it with "
               "'maip-dr sim up --data-plane')")


class ControlledSimulation(Protocol):
    """What the control server needs from the simulation."""

    @property
    def faults(self) -> FaultState: ...

    def resolve(self, name: str) -> dict[str, Any]: ...

    def status(self) -> dict[str, Any]: ...


class BadRequest(ValueError):
    """A control request whose body does not fit the route."""


def _field(body: dict[str, Any], key: str, kind: type, default: Any = ...) -> Any:
    if key not in body:
        if default is ...:
            raise BadRequest(f"missing field {key!r}")
        return default
    value = body[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise BadRequest(f"field {key!r} must be {kind.__name__}")
    return value


def _outage(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    mode = _field(b, "mode", str, "refuse")
    if mode not in ("refuse", "hang"):
        raise BadRequest("field 'mode' must be 'refuse' or 'hang'")
    return f.region_outage(_field(b, "region", str), mode)


def _endpoint(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    components = _field(b, "down_components", list, [])
    if not all(isinstance(c, str) for c in components):
        raise BadRequest("field 'down_components' must be a list of strings")
    return f.set_endpoint(_field(b, "region", str), _field(b, "http_status", int, 200),
                          tuple(components))


def _pods(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    reason = b.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("field 'reason' must be a string or null")
    return f.set_pods_never_ready(_field(b, "region", str), reason)


def _replicator(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    state = _field(b, "state", str)
    if state not in ("RUNNING", "FAILED", "CREATING", "UPDATING", "DELETING"):
        raise BadRequest("field 'state' must be RUNNING, FAILED, CREATING, UPDATING or DELETING")
    return f.set_replicator_state(state)  # type: ignore[arg-type]


def _promotion(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    mode = _field(b, "mode", str)
    if mode not in ("normal", "stuck", "fail"):
        raise BadRequest("field 'mode' must be normal, stuck or fail")
    return f.set_promotion(mode)  # type: ignore[arg-type]


def _optional_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRequest(f"field {key!r} must be a number >= 0 or null")
    return float(value)


def _alb(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    return f.set_alb(_field(b, "region", str), _optional_number(b, "http_5xx_count"),
                     _optional_number(b, "target_response_time_s"))


def _api(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    kind = _field(b, "kind", str)
    if kind not in ("refuse", "hang", "5xx", "throttle"):
        raise BadRequest("field 'kind' must be refuse, hang, 5xx or throttle")
    count = b.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                              or count < 1):
        raise BadRequest("field 'count' must be an integer >= 1 or null")
    status = b.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise BadRequest("field 'status' must be an integer or null")
    code = b.get("code")
    if code is not None and not isinstance(code, str):
        raise BadRequest("field 'code' must be a string or null")
    return f.add_api_fault(ApiFault(kind=kind, service=_field(b, "service", str, "*"),  # type: ignore[arg-type]
                                    region=_field(b, "region", str, "*"), status=status,
                                    code=code, remaining=count))


def _kube_api(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    mode = b.get("mode")
    if mode not in (None, "refuse", "hang"):
        raise BadRequest("field 'mode' must be 'refuse', 'hang' or null")
    return f.set_kube_api(_field(b, "region", str), mode)


def _synthetic(f: FaultState, b: dict[str, Any]) -> FaultSnapshot:
    status = b.get("http_status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise BadRequest("field 'http_status' must be an integer or null")
    return f.set_synthetic_status(_field(b, "region", str), status)


FAULT_ROUTES: dict[str, Callable[[FaultState, dict[str, Any]], FaultSnapshot]] = {
    "outage": _outage,
    "restore": lambda f, b: f.restore_region(_field(b, "region", str)),
    "route53-control-plane": lambda f, b: f.impair_route53_control_plane(
        _field(b, "impaired", bool, True)),
    "lag": lambda f, b: f.set_lag(_field(b, "store", str), _field(b, "seconds", float)),
    "replicator": _replicator,
    "promotion": _promotion,
    "endpoint": _endpoint,
    "pods": _pods,
    "alb": _alb,
    "api": _api,
    "api-clear": lambda f, b: f.clear_api_faults(_field(b, "service", str, None) if b.get(
        "service") is not None else None, _field(b, "region", str) if b.get("region")
        is not None else None),
    "kube-api": _kube_api,
    "nodes": lambda f, b: f.set_nodes_not_ready(_field(b, "region", str),
                                                _field(b, "not_ready", bool, True)),
    "nodegroup-update": lambda f, b: f.set_nodegroup_update_fails(_field(b, "fails", bool, True)),
    "route53-change": lambda f, b: f.set_route53_change_stuck(_field(b, "stuck", bool, True)),
    "synthetic": _synthetic,
    "replication-cut": lambda f, b: f.set_replication_cut(_field(b, "cut", bool, True)),
}


def snapshot_document(snapshot: FaultSnapshot) -> dict[str, Any]:
    return asdict(snapshot)


def dns_plan_answer(simulation: object, query: dict[str, list[str]]
                    ) -> tuple[int, dict[str, Any] | str]:
    """``GET /dns/plan``: (HTTP status, JSON document or connect-to text), read from the
    simulation's ``data_plane`` (its ``dns_plan_document()``; absent or None: 404)."""
    plane = getattr(simulation, "data_plane", None)
    document = plane.dns_plan_document() if plane is not None else None
    if document is None:
        return 404, {"error": NO_DNS_PLAN, "simulated": True}
    address = (query.get("address") or [""])[0]
    if not address:
        return 200, document
    entry = document["addresses"].get(address)
    if entry is None:
        return 404, {"error": f"address {address!r} is not in the simulated DNS plan",
                     "simulated": True}
    if (query.get("format") or [""])[0] == "connect-to":
        if entry.get("port") is None:
            return 404, {"error": f"address {address!r} has no loopback port in the plan",
                         "simulated": True}
        return 200, f"127.0.0.1:{entry['port']}"
    return 200, {"simulated": True, "address": address, **entry}


def _handler_for(simulation: ControlledSimulation) -> type[BaseHTTPRequestHandler]:
    class ControlHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "maip-sim-control"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, status: int, document: object) -> None:
            send_json(self, status, json.dumps(document, default=str).encode())

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/status":
                self._reply(200, simulation.status())
            elif parts.path == "/dns/resolve":
                name = (query.get("name") or [""])[0]
                if not name:
                    self._reply(400, {"error": "query parameter 'name' is required"})
                    return
                try:
                    answer = simulation.resolve(name)
                except LookupError as error:
                    self._reply(404, {"error": str(error)})
                    return
                if (query.get("format") or [""])[0] == "connect-to":
                    text = f"{answer['address']}:{answer['port']}".encode()
                    send_json(self, 200, text, "text/plain")
                else:
                    self._reply(200, answer)
            elif parts.path == "/dns/plan":
                status, plan = dns_plan_answer(simulation, query)
                if isinstance(plan, str):
                    send_json(self, status, plan.encode(), "text/plain")
                else:
                    self._reply(status, plan)
            else:
                self._reply(404, {"error": f"no route {parts.path}"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            route = FAULT_ROUTES.get(path.removeprefix("/faults/")) if path.startswith(
                "/faults/") else None
            if route is None:
                self._reply(404, {"error": f"no route {path}",
                                  "fault_routes": sorted(FAULT_ROUTES)})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._reply(413, {"error": "body too large"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise BadRequest("body must be a JSON object")
                snapshot = route(simulation.faults, body)
            except (json.JSONDecodeError, BadRequest, KeyError, ValueError) as error:
                self._reply(400, {"error": str(error).strip("'\"")})
                return
            self._reply(200, {"faults": snapshot_document(snapshot)})

    return ControlHandler


class ControlServer:
    """Serves the control routes of one simulation on 127.0.0.1."""

    def __init__(self, simulation: ControlledSimulation, port: int = 0):
        self._server = RestartableServer(_handler_for(simulation), port=port, name="control")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.listen()

    def stop(self) -> None:
        self._server.stop()
