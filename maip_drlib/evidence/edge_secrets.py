"""Secrets the process was given through its environment, for the redaction layer.

Read only at the edge (the CLI and the pytest plugins), never inside the library: AWS keys
and session token, the evidence HMAC key, a notification webhook URL.
"""

from __future__ import annotations

from collections.abc import Mapping

from maip_drlib.evidence.redact import Redactor, default_redactor

SECRET_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "MAIP_DR_HMAC_KEY",
    "MAIP_DR_WEBHOOK_URL",
)


def redactor_from_environment(environ: Mapping[str, str],
                              extra: tuple[str, ...] = ()) -> Redactor:
    """The default redactor, also masking every secret given in ``environ`` and ``extra``."""
    redactor = default_redactor()
    for name in SECRET_VARIABLES:
        value = environ.get(name, "")
        if value:
            redactor.add(value)
    for value in extra:
        if value:
            redactor.add(value)
    webhook = environ.get("MAIP_DR_WEBHOOK_URL", "")
    if webhook:  # urllib3 logs the request path apart from the host: mask the path alone too
        from maip_drlib.notify import protect_url

        protect_url(redactor, webhook)
    return redactor
