"""Secrets the process was given through its environment, for the redaction layer.

Read only at the edge (the CLI and the pytest plugins), never inside the library: AWS keys
and session token, the evidence HMAC key, a notification webhook URL, and the value of every
variable whose name says it holds a secret (``PGPASSWORD``, ``DB_PASSWORD``,
``GITHUB_TOKEN``, ``SLACK_WEBHOOK_URL``, ``KUBE_CLIENT_KEY_DATA``...: the name ends in a
secret word, ``redact.is_secret_key`` or ``SECRET_NAME_ENDINGS``), as CI runners and
shells hand them to every process they start.

Not supported: secrets in variables with ordinary names (``DATABASE_URL`` is masked by the
redactor's URL-password pattern, not as a whole), values shorter than ``MIN_VALUE_LENGTH``
or starting with ``/`` or ``~`` (paths, flags and numbers would mask ordinary evidence).
"""

from __future__ import annotations

from collections.abc import Mapping

from maip_drlib.evidence.redact import Redactor, default_redactor, is_secret_key

SECRET_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "MAIP_DR_HMAC_KEY",
    "MAIP_DR_WEBHOOK_URL",
)
# Upper-case name endings of variables whose values are secrets whatever else they are called.
SECRET_NAME_ENDINGS = ("PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "SECRET", "API_KEY",
                       "PRIVATE_KEY", "ACCESS_KEY", "HMAC_KEY", "KEY_DATA", "WEBHOOK_URL",
                       "WEBHOOK")
MIN_VALUE_LENGTH = 8


def secret_named(name: str, value: str) -> bool:
    """Whether the environment variable ``name`` is taken to hold a secret ``value``."""
    if name in SECRET_VARIABLES:
        return bool(value)
    if len(value) < MIN_VALUE_LENGTH or value.startswith(("/", "~")):
        return False
    return name.upper().endswith(SECRET_NAME_ENDINGS) or is_secret_key(name)


def redactor_from_environment(environ: Mapping[str, str],
                              extra: tuple[str, ...] = ()) -> Redactor:
    """The default redactor, also masking every secret given in ``environ`` and ``extra``."""
    redactor = default_redactor()
    for name, value in environ.items():
        if secret_named(name, value):
            redactor.add(value)
    for value in extra:
        if value:
            redactor.add(value)
    webhook = environ.get("MAIP_DR_WEBHOOK_URL", "")
    if webhook:  # urllib3 logs the request path apart from the host: mask the path alone too
        from maip_drlib.notify import protect_url

        protect_url(redactor, webhook)
    return redactor
