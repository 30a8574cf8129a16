"""The seeding's boto3 clients: one per (service, region, endpoint) while a seeding runs.

Building a boto3 client costs tens of milliseconds (its service model), and the seed asks for
some twice or more. ``release_clients(endpoint_url)`` closes a seeding's clients at its end.
Not supported: endpoints other than the simulation's loopback server (``clients.sim_client``).
"""

from __future__ import annotations

import threading
from typing import Any

from maip_drlib.sim.aws.clients import sim_client as _new_sim_client

_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()


def sim_client(service: str, region: str, endpoint_url: str) -> Any:
    """The seeding's client for ``service`` in ``region`` (built once per seeding)."""
    key = (service, region, endpoint_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _new_sim_client(service, region, endpoint_url)
        return client


def release_clients(endpoint_url: str) -> None:
    """Close and forget every client of the seeding at ``endpoint_url``."""
    with _clients_lock:
        for key in [key for key in _clients if key[2] == endpoint_url]:
            _clients.pop(key).close()
