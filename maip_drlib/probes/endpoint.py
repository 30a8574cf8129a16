"""The public endpoint: GET the Spring Boot actuator health over HTTPS.

The hostname is resolved by a pluggable ``Resolver``; the request connects to the resolved
address and port while sending SNI and ``Host`` for the URL's hostname and verifying the
certificate for that hostname (urllib3 pool keywords ``server_hostname`` and
``assert_hostname``). TLS is verified against the target's CA bundle when it has one, else
the default trust store. Network trouble is a fact (status ``UNREACHABLE``, ``TLS_ERROR`` or
``UNRESOLVED``), never a crash.

Not supported: client certificates, proxies, HTTP/2, and turning TLS verification off.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.facts import EndpointHealth
from maip_drlib.resolvers import ResolvedAddress, Resolver

DEFAULT_TIMEOUT_S = (3.0, 5.0)
DEFAULT_ATTEMPTS = 3
RETRY_STATUSES = (502, 503, 504)


class PinnedHostAdapter(HTTPAdapter):
    """Connects wherever the URL says, but speaks TLS (SNI, certificate name) for ``hostname``."""

    def __init__(self, hostname: str, **kwargs: Any):
        self.tls_hostname = hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
        pool_kwargs["server_hostname"] = self.tls_hostname
        pool_kwargs["assert_hostname"] = self.tls_hostname
        super().init_poolmanager(*args, **pool_kwargs)


def _retry(attempts: int) -> Retry:
    return Retry(
        total=attempts - 1,
        connect=attempts - 1,
        read=attempts - 1,
        status=attempts - 1,
        backoff_factor=0.2,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def _parse_health(body: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(body, dict):
        return "UNKNOWN", {}
    components = {}
    for name, value in (body.get("components") or {}).items():
        if isinstance(value, dict):
            components[str(name)] = str(value.get("status", "UNKNOWN"))
    return str(body.get("status", "UNKNOWN")), components


def endpoint_health(
    url: str,
    *,
    resolver: Resolver | None = None,
    ca_bundle: Path | None = None,
    timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S,
    attempts: int = DEFAULT_ATTEMPTS,
) -> EndpointHealth:
    """GET ``url`` (the full actuator health URL) and read the Spring Boot health JSON."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    started = time.monotonic()

    def fact(status: str, error: str, resolved: ResolvedAddress | None = None) -> EndpointHealth:
        return EndpointHealth(url=url, http_status=None, status=status,
                              resolved_address=str(resolved) if resolved else None,
                              elapsed_s=time.monotonic() - started, error=error)

    resolved: ResolvedAddress | None = None
    request_url = url
    headers: dict[str, str] = {"Accept": "application/json"}
    if resolver is not None:
        try:
            resolved = resolver.resolve(hostname, port)
        except (NotFound, Unreachable) as error:
            return fact("UNRESOLVED", str(error))
        host_text = f"[{resolved.host}]" if ":" in resolved.host else resolved.host
        request_url = urlunsplit((parts.scheme, f"{host_text}:{resolved.port}", parts.path or "/",
                                  parts.query, ""))
        headers["Host"] = parts.netloc.rsplit("@", 1)[-1]

    with requests.Session() as session:
        session.trust_env = False
        adapter = PinnedHostAdapter(hostname, max_retries=_retry(max(1, attempts)))
        session.mount(f"{parts.scheme}://", adapter)
        try:
            response = session.get(
                request_url, headers=headers, timeout=timeout_s,
                verify=str(ca_bundle) if ca_bundle else True, allow_redirects=False,
            )
        except requests.exceptions.SSLError as error:
            return fact("TLS_ERROR", f"TLS verification failed for {hostname}: {error}", resolved)
        except requests.RequestException as error:
            return fact("UNREACHABLE", f"{type(error).__name__}: {error}", resolved)
    try:
        status, components = _parse_health(response.json())
        error_text = None
    except ValueError:
        status, components = "UNKNOWN", {}
        error_text = f"HTTP {response.status_code}: body is not JSON"
    return EndpointHealth(
        url=url,
        http_status=response.status_code,
        status=status,
        components=components,
        resolved_address=str(resolved) if resolved else None,
        elapsed_s=time.monotonic() - started,
        error=error_text,
    )
