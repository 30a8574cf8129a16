"""The HTTP request handler of the fake API server: authentication, routing, watch streams.

HTTP/1.1 with keep-alive; JSON only (a protobuf Accept falls back to JSON, as clients allow).
Not supported: the legacy ``/api/v1/watch/...`` paths beyond plain prefixes, websocket
upgrades (exec, logs, port-forward), impersonation headers, gzip.
"""

from __future__ import annotations

import hmac
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from maip_drlib.sim.kube import discovery, resources, tables
from maip_drlib.sim.kube.apierrors import KubeApiError, bad_request
from maip_drlib.sim.kube.resources import Target

if TYPE_CHECKING:
    from maip_drlib.sim.kube.server import FakeKubeApiServer

PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
_NOT_FOUND_PATH = "the server could not find the requested resource"


def _parse_target(path: str) -> Target | dict[str, Any] | None:
    """A Target, a discovery document, or None (404) for an API path."""
    segments = [part for part in path.split("/") if part]
    if segments[:1] == ["api"] and len(segments) >= 2:
        group_version, rest = segments[1], segments[2:]
    elif segments[:1] == ["apis"] and len(segments) == 2:
        return discovery.group(segments[1])
    elif segments[:1] == ["apis"] and len(segments) >= 3:
        group_version, rest = f"{segments[1]}/{segments[2]}", segments[3:]
    else:
        return None
    if not rest:
        return discovery.resource_list(group_version)
    if rest[0] == "watch":
        rest = rest[1:]
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    served = discovery.served(group_version, rest[0])
    if served is None or len(rest) > 3 or (namespace is not None and not served.namespaced):
        return None
    return Target(group_version, served, namespace,
                  rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)


class ApiRequestHandler(BaseHTTPRequestHandler):
    """One connection to the fake API server (``self.server.api`` is the owner)."""

    protocol_version = "HTTP/1.1"
    server_version = "maip-sim-kube-apiserver"
    timeout = 90  # idle keep-alive connections are closed after this

    @property
    def api(self) -> FakeKubeApiServer:
        return self.server.api  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # Plumbing ----------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        if not self.api.admit():
            self.close_connection = True
            return
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        accept = self.headers.get("Accept")
        self.api.record_request(method, self.path, accept, self.headers.get("Content-Type"))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            self._route(method, path, query, body, accept)
        except KubeApiError as error:
            self._send_json(error.code, error.status())

    def _send_json(self, code: int, obj: dict[str, Any]) -> None:
        payload = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api.token.encode())

    # Routing -----------------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes,
               accept: str | None) -> None:
        anonymous = "Authorization" not in self.headers
        if not (path in PUBLIC_PATHS and anonymous) and not self._authorized():
            raise KubeApiError(401, "Unauthorized", "Unauthorized")
        if path == "/version":
            self._send_json(200, discovery.version_info())
            return
        if path in PUBLIC_PATHS:
            self._send_text(200, "ok")
            return
        if path == "/api":
            self._send_json(200, discovery.core_versions(f"127.0.0.1:{self.api.port}"))
            return
        if path == "/apis":
            self._send_json(200, discovery.group_list())
            return
        parsed = _parse_target(path)
        if parsed is None:
            raise KubeApiError(404, "NotFound", _NOT_FOUND_PATH)
        if not isinstance(parsed, Target):
            if method != "GET":
                raise _not_allowed(method)
            self._send_json(200, parsed)
            return
        watching = "/watch/" in path or query.get("watch") in ("true", "1")
        self._route_resource(method, parsed, query, body, accept, watching)

    def _route_resource(self, method: str, target: Target, query: dict[str, str],
                        body: bytes, accept: str | None, watching: bool) -> None:
        cluster = self.api.cluster
        store = target.resource.store
        content_type = self.headers.get("Content-Type", "application/json")
        if target.subresource is not None:
            if store != "deployments" or target.subresource != "scale":
                raise KubeApiError(404, "NotFound", _NOT_FOUND_PATH)
            if method == "GET":
                self._send_json(200, resources.get_scale(cluster, target))
            elif method == "PUT":
                self._send_json(200, resources.put_scale(cluster, target, body))
            elif method == "PATCH":
                self._send_json(200, resources.patch_scale(cluster, target, body,
                                                           content_type))
            else:
                raise _not_allowed(method)
            return
        if method == "GET" and target.name is None:
            if watching:
                self._watch(target, query, accept)
            else:
                self._send_json(200, resources.list_objects(cluster, target, query, accept))
        elif method == "GET":
            self._send_json(200, resources.get_object(cluster, target, query, accept))
        elif store == "deployments" and target.name and method == "PUT":
            self._send_json(200, resources.put_deployment(cluster, target, body))
        elif store == "deployments" and target.name and method == "PATCH":
            self._send_json(200, resources.patch_deployment(cluster, target, body,
                                                            content_type))
        elif store == "pods" and target.name and method == "DELETE":
            self._send_json(200, resources.delete_pod(cluster, target, query, body))
        else:
            raise _not_allowed(method)

    def _send_text(self, code: int, text: str) -> None:
        payload = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # Watch -------------------------------------------------------------------------------

    def _watch(self, target: Target, query: dict[str, str], accept: str | None) -> None:
        cluster = self.api.cluster
        wanted = resources.matcher(query)
        requested = query.get("timeoutSeconds")
        try:
            timeout = float(requested) if requested else self.api.default_watch_seconds
            start = int(query.get("resourceVersion") or 0)
        except ValueError as error:
            raise bad_request("invalid timeoutSeconds or resourceVersion") from error
        deadline = time.monotonic() + min(max(timeout, 0.0), self.api.max_watch_seconds)
        as_table = tables.wants_table(accept)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.close_connection = True
        try:
            if start == 0:
                items, start = cluster.list(target.resource.store, target.namespace)
                for item in items:
                    if wanted(item):
                        self._send_event("ADDED", target, item, as_table)
            while not self.api.stopping and time.monotonic() < deadline:
                wait = min(0.25, deadline - time.monotonic())
                try:
                    events = cluster.events_after(start, max(wait, 0.0))
                except KubeApiError as error:
                    self._write_chunk({"type": "ERROR", "object": error.status()})
                    break
                for event in events:
                    start = event.resource_version
                    if event.resource != target.resource.store or not wanted(event.object):
                        continue
                    if target.namespace and \
                            event.object["metadata"].get("namespace") != target.namespace:
                        continue
                    self._send_event(event.type, target, event.object, as_table)
                if not self.api.admit(wait=False):
                    break
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return  # the client went away or the connection was dropped by a fault

    def _send_event(self, event_type: str, target: Target, obj: dict[str, Any],
                    as_table: bool) -> None:
        shown = resources.present(target.group_version, obj)
        if as_table:
            shown = tables.table(target.resource.store, [shown], now=self.api.cluster.now())
        self._write_chunk({"type": event_type, "object": shown})

    def _write_chunk(self, event: dict[str, Any]) -> None:
        line = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()


def _not_allowed(method: str) -> KubeApiError:
    return KubeApiError(405, "MethodNotAllowed",
                        f"the server does not allow this method on the requested resource "
                        f"({method})")
