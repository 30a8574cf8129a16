"""Client of a running simulation's control server (``maip-dr sim up``).

Works without the ``sim`` extra: it only speaks HTTP to a loopback control URL. Not
supported: control URLs that are not loopback (refused before any request).
"""

from __future__ import annotations

from typing import Any

import requests

from maip_drlib.errors import ConfigError, DRError, Unreachable
from maip_drlib.loopback import is_loopback_url

CONTROL_TIMEOUT_S = (2.0, 10.0)


class SimulationControlError(DRError):
    """The control server answered with an error."""

    exit_code = 2


class SimulationClient:
    """Drives the fault controls of a running simulation over its control URL."""

    def __init__(self, control_url: str, session: requests.Session | None = None):
        if not is_loopback_url(control_url):
            raise ConfigError(f"control URL must be a loopback http(s) URL, got {control_url!r}",
                              key="control_url")
        self.control_url = control_url.rstrip("/")
        self._session = session or requests.Session()
        self._session.trust_env = False  # never send loopback traffic through a proxy

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.control_url}{path}"
        try:
            response = self._session.request(method, url, timeout=CONTROL_TIMEOUT_S, **kwargs)
        except requests.RequestException as error:
            raise Unreachable(f"simulation control server {self.control_url} did not answer: "
                              f"{error.__class__.__name__}", target=self.control_url) from error
        try:
            document = response.json()
        except ValueError:
            document = {"text": response.text}
        if response.status_code >= 400:
            message = document.get("error") if isinstance(document, dict) else None
            raise SimulationControlError(f"simulation refused {method} {path}: "
                                         f"{message or response.status_code}")
        return document

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def resolve(self, name: str) -> dict[str, Any]:
        return self._call("GET", "/dns/resolve", params={"name": name})

    def fault(self, name: str, **body: Any) -> dict[str, Any]:
        return self._call("POST", f"/faults/{name}", json=body)

    def outage(self, region: str, mode: str = "refuse") -> dict[str, Any]:
        return self.fault("outage", region=region, mode=mode)

    def restore(self, region: str) -> dict[str, Any]:
        return self.fault("restore", region=region)

    def replication_cut(self, cut: bool = True) -> dict[str, Any]:
        """Cut (False: restore) the simulated PostgreSQL replication links."""
        return self.fault("replication-cut", cut=cut)
