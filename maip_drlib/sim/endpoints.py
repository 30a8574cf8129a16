"""Simulated public endpoints: one HTTPS actuator server per region, behind its ALB.

Each server answers ``GET /actuator/health`` with Spring Boot actuator JSON computed from the
region's simulated state (a callable the simulation supplies) and the endpoint faults, and
``GET /api/...`` with a small JSON body naming the region, as a synthetic request target (the
region's ``synthetic_status`` fault makes those paths fail while health stays UP).
Certificates come from a CA generated per simulation (trustme). Not supported: any other
actuator path, HTTP/2, client certificates.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import trustme

from maip_drlib.sim.faults import FaultState
from maip_drlib.sim.listener import RestartableServer, send_json

HANG_LIMIT_S = 120.0


@dataclass(frozen=True)
class ComponentHealth:
    """One actuator component: name, UP/DOWN and details."""

    status: str
    details: dict[str, object] = field(default_factory=dict)


HealthSource = Callable[[str], dict[str, ComponentHealth]]


class SimulationCA:
    """The simulation's certificate authority and the leaf certificate its servers use."""

    def __init__(self, hostnames: tuple[str, ...]):
        self._ca = trustme.CA(organization_name="MAIP DR simulation (not a real CA)")
        self._leaf = self._ca.issue_cert(*hostnames, "127.0.0.1", "localhost")

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaf.configure_cert(context)
        return context

    @property
    def ca_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    def write_ca(self, path: Path) -> Path:
        path.write_bytes(self.ca_pem)
        return path

    def issue_pem(self, *hostnames: str) -> tuple[bytes, bytes]:
        """A new leaf certificate for ``hostnames``: (PEM chain, PEM private key).

        For servers that take files rather than an ``SSLContext`` (the simulated
        PostgreSQL); the key never leaves the simulation's own folder.
        """
        leaf = self._ca.issue_cert(*hostnames)
        chain = b"".join(pem.bytes() for pem in leaf.cert_chain_pems)
        return chain, leaf.private_key_pem.bytes()


def health_document(components: dict[str, ComponentHealth],
                    down_components: tuple[str, ...]) -> tuple[int, dict[str, object]]:
    """The actuator status code and JSON for these components, with faults applied."""
    rendered: dict[str, object] = {}
    overall = "UP"
    for name, component in sorted(components.items()):
        status = "DOWN" if name in down_components else component.status
        if status != "UP":
            overall = "DOWN"
        entry: dict[str, object] = {"status": status}
        if component.details:
            entry["details"] = component.details
        rendered[name] = entry
    for name in down_components:
        if name not in rendered:
            rendered[name] = {"status": "DOWN"}
            overall = "DOWN"
    return (200 if overall == "UP" else 503), {"status": overall, "components": rendered}


def _handler_for(region: str, faults: FaultState, health_source: HealthSource,
                 health_path: str) -> type[BaseHTTPRequestHandler]:
    class ActuatorHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "maip-sim-actuator"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            snapshot = faults.snapshot()
            region_faults = snapshot.region(region)
            if region_faults.outage == "hang":
                deadline = time.monotonic() + HANG_LIMIT_S
                while faults.snapshot().region(region).outage == "hang":
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    faults.wait_for_change(min(remaining, 1.0))
                self.close_connection = True
                return
            path = self.path.split("?", 1)[0]
            endpoint_fault = region_faults.endpoint
            if endpoint_fault.http_status != 200:
                body = {"status": "OUT_OF_SERVICE", "region": region, "simulated": True}
                send_json(self, endpoint_fault.http_status, json.dumps(body).encode())
                return
            status, document = health_document(health_source(region),
                                               endpoint_fault.down_components)
            if path.rstrip("/") == health_path.rstrip("/"):
                send_json(self, status, json.dumps(document).encode(),
                          "application/vnd.spring-boot.actuator.v3+json")
            elif path.startswith("/api/") and region_faults.synthetic_status is not None:
                body = {"region": region, "path": path, "error": "simulated application fault",
                        "simulated": True}
                send_json(self, region_faults.synthetic_status, json.dumps(body).encode())
            elif path.startswith("/api/"):
                body = {"region": region, "path": path, "status": document["status"],
                        "simulated": True}
                send_json(self, status, json.dumps(body).encode())
            else:
                send_json(self, 404, json.dumps({"status": 404, "error": "Not Found",
                                                 "path": path}).encode())

    return ActuatorHandler


class ActuatorEndpoint:
    """The HTTPS endpoint of one region's simulated application."""

    def __init__(self, region: str, faults: FaultState, health_source: HealthSource,
                 ssl_context: ssl.SSLContext, health_path: str = "/actuator/health"):
        self.region = region
        self._server = RestartableServer(
            _handler_for(region, faults, health_source, health_path),
            ssl_context=ssl_context, name=f"actuator-{region}",
        )

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def listen(self) -> None:
        self._server.listen()

    def refuse(self) -> None:
        self._server.close_listener()

    def stop(self) -> None:
        self._server.stop()
