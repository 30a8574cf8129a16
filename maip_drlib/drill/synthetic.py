"""The synthetic request of failover stage 5: one HTTP call through the public name.

The hostname is resolved by the drill's ``Resolver`` (simulated DNS or the system's); the request
connects to that address while speaking TLS (SNI, certificate name) and ``Host`` for the public
hostname, as ``probes.endpoint`` does. Network trouble is a result (``status`` None, ``error``),
never a crash.

Not supported: request bodies, authentication headers (nothing secret is ever sent or
recorded), redirects (not followed), retries beyond one attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from maip_drlib.errors import NotFound, Unreachable
from maip_drlib.probes.endpoint import PinnedHostAdapter
from maip_drlib.resolvers import ResolvedAddress, Resolver

DEFAULT_TIMEOUT_S = (3.0, 5.0)


@dataclass(frozen=True)
class SyntheticResult:
    """What the synthetic request got back."""

    method: str
    url: str
    status: int | None
    resolved: str | None
    elapsed_s: float
    error: str | None = None

    def __str__(self) -> str:
        via = f" via {self.resolved}" if self.resolved else ""
        outcome = f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})"
        return f"{self.method} {self.url}{via}: {outcome} in {self.elapsed_s:.2f}s"


def send(method: str, url: str, *, resolver: Resolver, ca_bundle: Path | None = None,
         timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S) -> SyntheticResult:
    """Send ``method url`` through ``resolver``'s answer for the URL's hostname."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    started = time.monotonic()
    resolved: ResolvedAddress | None = None

    def result(status: int | None, error: str | None = None) -> SyntheticResult:
        return SyntheticResult(method=method, url=url, status=status,
                               resolved=str(resolved) if resolved else None,
                               elapsed_s=time.monotonic() - started, error=error)

    try:
        resolved = resolver.resolve(hostname, port)
    except (NotFound, Unreachable) as error:
        return result(None, f"unresolved: {error}")
    host_text = f"[{resolved.host}]" if ":" in resolved.host else resolved.host
    request_url = urlunsplit((parts.scheme, f"{host_text}:{resolved.port}", parts.path or "/",
                              parts.query, ""))
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "Accept": "application/json"}
    with requests.Session() as session:
        session.trust_env = False
        session.mount(f"{parts.scheme}://", PinnedHostAdapter(hostname, max_retries=0))
        try:
            response = session.request(
                method, request_url, headers=headers, timeout=timeout_s,
                verify=str(ca_bundle) if ca_bundle else True, allow_redirects=False,
            )
        except requests.RequestException as error:
            return result(None, f"{type(error).__name__}: {error}")
    return result(response.status_code)
