"""The endpoint probe against a loopback HTTPS server with a certificate for the API name."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from maip_drlib.errors import ConfigError, NotFound
from maip_drlib.probes.endpoint import endpoint_health
from maip_drlib.resolvers import ResolvedAddress, SimulationResolver

pytestmark = pytest.mark.sim

API_HOST = "api.maip.example.com"
URL = f"https://{API_HOST}/actuator/health"


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None, str | None]] = []
    body: dict = {"status": "UP", "components": {"db": {"status": "UP"},
                                                 "kafka": {"status": "DOWN"}}}
    status = 200

    def do_GET(self) -> None:
        sni = getattr(self.connection, "server_hostname_seen", None)
        Handler.seen.append((self.path, self.headers.get("Host"), sni))
        payload = json.dumps(Handler.body).encode()
        self.send_response(Handler.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        return


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def server(ca: trustme.CA) -> Iterator[tuple[int, list[str]]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(API_HOST).configure_cert(context)
    sni_names: list[str] = []

    def remember(_sock, name, _context):
        sni_names.append(name)

    context.sni_callback = remember
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], sni_names
    finally:
        httpd.shutdown()
        httpd.server_close()


class FakeResolver:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.port = port
        self.host = host
        self.asked: list[tuple[str, int]] = []

    def resolve(self, hostname: str, port: int) -> ResolvedAddress:
        self.asked.append((hostname, port))
        return ResolvedAddress(self.host, self.port, "fake DNS, region us-west-2")


def test_health_through_resolved_address_with_sni_host_and_verification(server, ca_bundle):
    port, sni_names = server
    resolver = FakeResolver(port)
    Handler.seen.clear()
    health = endpoint_health(URL, resolver=resolver, ca_bundle=ca_bundle)
    assert health.http_status == 200 and health.status == "UP" and health.up
    assert health.components == {"db": "UP", "kafka": "DOWN"}
    assert health.resolved_address is not None and f"127.0.0.1:{port}" in health.resolved_address
    assert resolver.asked == [(API_HOST, 443)]
    assert Handler.seen[-1][:2] == ("/actuator/health", API_HOST)
    assert sni_names[-1] == API_HOST
    assert "UP" in str(health)


def test_untrusted_certificate_is_a_tls_error_fact(server):
    port, _ = server
    other_ca = trustme.CA()
    with other_ca.cert_pem.tempfile() as other_bundle:
        health = endpoint_health(URL, resolver=FakeResolver(port), ca_bundle=Path(other_bundle))
    assert health.status == "TLS_ERROR" and health.http_status is None


def test_certificate_must_match_hostname(server, ca_bundle):
    port, _ = server
    health = endpoint_health("https://other.maip.example.com/actuator/health",
                             resolver=FakeResolver(port), ca_bundle=ca_bundle)
    assert health.status == "TLS_ERROR"


def test_down_status_is_parsed(server, ca_bundle):
    port, _ = server
    Handler.body, Handler.status = {"status": "DOWN"}, 503
    try:
        health = endpoint_health(URL, resolver=FakeResolver(port), ca_bundle=ca_bundle,
                                 attempts=1)
    finally:
        Handler.body = {"status": "UP", "components": {"db": {"status": "UP"}}}
        Handler.status = 200
    assert health.http_status == 503 and health.status == "DOWN" and not health.up


def test_refused_connection_is_unreachable_fact(ca_bundle):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    health = endpoint_health(URL, resolver=FakeResolver(free_port), ca_bundle=ca_bundle,
                             attempts=2, timeout_s=(0.5, 0.5))
    assert health.status == "UNREACHABLE" and health.error


def test_unresolvable_name_is_a_fact(ca_bundle):
    class NoAnswer:
        def resolve(self, hostname, port):
            raise NotFound(f"no answer for {hostname}")

    health = endpoint_health(URL, resolver=NoAnswer(), ca_bundle=ca_bundle)
    assert health.status == "UNRESOLVED"


def test_simulation_resolver_asks_control_server():
    answers = {API_HOST: {"name": API_HOST, "address": "127.0.0.1", "port": 8443,
                          "region": "us-west-2", "alb_dns_name": "maip-prod-dr-alb-1.elb"}}

    class Control(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            from urllib.parse import parse_qs, urlsplit

            parts = urlsplit(self.path)
            name = parse_qs(parts.query).get("name", [""])[0]
            answer = answers.get(name) if parts.path == "/dns/resolve" else None
            payload = json.dumps(answer or {}).encode()
            self.send_response(200 if answer else 404)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        resolver = SimulationResolver(f"http://127.0.0.1:{httpd.server_address[1]}")
        resolved = resolver.resolve(API_HOST, 443)
        assert (resolved.host, resolved.port) == ("127.0.0.1", 8443)
        assert "us-west-2" in resolved.detail
        with pytest.raises(NotFound):
            resolver.resolve("unknown.example.com", 443)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_simulation_resolver_refuses_non_loopback():
    with pytest.raises(ConfigError):
        SimulationResolver("http://10.0.0.1:9000")
