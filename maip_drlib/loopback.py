"""Is an address on this machine's loopback? The one test every simulation guard uses.

Loopback means ``localhost``, 127.0.0.0/8 or ``::1`` (IPv4-mapped ``::ffff:127.x`` too). Not
supported: host names other than ``localhost`` (a simulated target never depends on a name
resolving to loopback), ``0.0.0.0`` (it reaches every interface, not only loopback).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def is_loopback_url(url: str) -> bool:
    """True when ``url`` is http(s) on a loopback host; False for anything unparsable."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # an invalid port makes the URL unusable, hence not loopback
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback_host(host)
