"""TLS: the certificate an endpoint presents, verified, and how many days it has left.

Connects to the resolved address with SNI set to the hostname, verifies the chain against
the given CA bundle (else the default trust store) and the hostname, and reads ``notAfter``.
A handshake that fails verification is an error with evidence, never a fact read anyway.

Not supported: client certificates, OCSP and CRL checks, certificates of every address behind
a name (only the one the resolver answers), proxies, turning verification off.
"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

from maip_drlib.errors import CheckFailed, Unreachable
from maip_drlib.facts_platform import TlsCertificateFact
from maip_drlib.resolvers import Resolver, SystemResolver

DEFAULT_TIMEOUT_S = 5.0


def _name(entries: object) -> str:
    pairs = [pair for rdn in (entries or ()) for pair in rdn]  # type: ignore[attr-defined]
    wanted = dict(pairs)
    return str(wanted.get("commonName") or wanted.get("organizationName") or "?")


def peer_certificate(hostname: str, port: int = 443, *, resolver: Resolver | None = None,
                     ca_bundle: Path | None = None,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> TlsCertificateFact:
    address = (resolver or SystemResolver()).resolve(hostname, port)
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    started = time.monotonic()
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout_s) as raw, \
                context.wrap_socket(raw, server_hostname=hostname) as tls:
            certificate = tls.getpeercert()
    except ssl.SSLCertVerificationError as error:
        raise CheckFailed("TLS certificate does not verify", resource=f"{hostname} at {address}",
                          expected=f"a certificate for {hostname} from "
                                   f"{ca_bundle or 'the default trust store'}",
                          observed=error.verify_message or str(error)) from error
    except (OSError, ssl.SSLError) as error:
        raise Unreachable(f"TLS handshake with {hostname} at {address} failed: {error}",
                          target=hostname, elapsed_s=time.monotonic() - started) from error
    if not certificate or "notAfter" not in certificate:
        raise CheckFailed("endpoint presented no readable certificate",
                          resource=f"{hostname} at {address}")
    not_after = str(certificate["notAfter"])
    days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400.0
    return TlsCertificateFact(hostname=hostname, address=str(address),
                              subject=_name(certificate.get("subject")),
                              issuer=_name(certificate.get("issuer")),
                              not_after=not_after, days_remaining=days)
