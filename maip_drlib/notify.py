"""Drill notifications: a Slack-compatible summary posted to a webhook, never failing the drill.

The messages are built in ``maip_drlib.notify_messages`` (their builders are importable from
here too); this module sends them.

``completion_payload(summary)`` builds the message of a finished drill from the document of
``summary.json`` (``maip_drlib.evidence.summary_files``): verdict and reasons, the stage table, RTO
end to end, RPO per store, the evidence digest and where the report is. ``stage_failure_payload``
builds the immediate message of one failed stage (a ``results-<phase>.json`` entry);
``readiness_payload`` the message of a readiness run.
``post_webhook(settings, payload)`` sends it: JSON over HTTP(S) with a connect/read timeout per
attempt, bounded retries (tenacity: exponential backoff, a total deadline) on connection
errors, timeouts, HTTP 429 and 5xx; it returns a ``Delivery`` and never raises for a network or
HTTP failure, so a broken webhook is reported and never fails a drill.

The webhook URL is a secret: it and its path are added to the redactor (``protect_url``), it is
kept out of ``repr``, and no message or log record of this module contains it (errors say
"webhook", with the exception type and the HTTP status only). Other libraries' log records
(urllib3 logs the request path at DEBUG) are masked only where the caller's redactor is the one
installed by ``maip_drlib.evidence.log_redaction`` (the edge does that). The caller reads the
URL at the edge (``WEBHOOK_URL_ENV``); this module never reads the environment.

Message format: Slack incoming-webhook JSON (``text`` as the fallback line plus ``blocks``:
header, sections in mrkdwn, the stage table as a code block). Mattermost and Rocket.Chat read
``text``; ``blocks`` is ignored there.

Not supported: redirects (not followed: a 3xx is a failed delivery), proxies other than what
``requests`` takes from its environment, authentication headers, Microsoft Teams cards,
message threading or updates, and more than ``MAX_TABLE_ROWS`` stages in the table (the rest
are counted).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from maip_drlib.evidence.redact import Redactor, default_redactor
from maip_drlib.notify_messages import (
    MAX_TABLE_ROWS,
    completion_payload,
    readiness_payload,
    stage_failure_payload,
    stage_table,
)

log = logging.getLogger(__name__)

WEBHOOK_URL_ENV = "MAIP_DR_WEBHOOK_URL"


@dataclass(frozen=True)
class WebhookSettings:
    """Where and how to post; ``url`` is a secret (never in ``repr``, logs or messages)."""

    url: str = field(repr=False)
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    attempts: int = 3  # total, the first included
    backoff_s: float = 1.0  # first wait between attempts; doubles, capped at backoff_max_s
    backoff_max_s: float = 8.0
    deadline_s: float = 45.0  # no new attempt starts after this many seconds

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("webhook attempts must be >= 1")
        if min(self.connect_timeout_s, self.read_timeout_s, self.deadline_s) <= 0:
            raise ValueError("webhook timeouts and deadline must be > 0")


@dataclass(frozen=True)
class Delivery:
    """What happened to one notification; ``error`` never contains the URL."""

    event: str
    delivered: bool
    attempts: int
    status: int | None
    elapsed_s: float
    error: str | None = None

    def describe(self) -> str:
        if self.delivered:
            return (f"notification ({self.event}) delivered to the webhook: HTTP {self.status} "
                    f"after {self.attempts} attempt(s), {self.elapsed_s:.2f}s")
        return (f"notification ({self.event}) NOT delivered to the webhook after "
                f"{self.attempts} attempt(s), {self.elapsed_s:.2f}s: {self.error}")


class _Retryable(Exception):
    """One failed attempt that is worth another (network error, timeout, 429, 5xx)."""

    def __init__(self, message: str, status: int | None = None, retry_after_s: float = 0.0):
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class _Final(Exception):
    """One failed attempt that another would not fix (4xx other than 429, a redirect)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# -- delivery -------------------------------------------------------------------------------

MIN_SECRET_PATH = 8


def protect_url(redactor: Redactor, url: str) -> None:
    """Add the webhook URL to ``redactor``, and its path (with the query) on its own: urllib3
    logs the host and the path of a request in separate places, so the whole URL alone would
    never match its DEBUG lines. Paths shorter than ``MIN_SECRET_PATH`` are not added."""
    redactor.add(url)
    parts = urlsplit(url)
    for secret in (parts.path + (f"?{parts.query}" if parts.query else ""), parts.path):
        if len(secret) >= MIN_SECRET_PATH:
            redactor.add(secret)


def _retry_after(response: requests.Response, cap: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(value), cap))
    except ValueError:
        return 0.0


def _attempt(settings: WebhookSettings, body: bytes) -> int:
    """One POST; returns the HTTP status of a 2xx answer, raises _Retryable or _Final."""
    try:
        response = requests.post(
            settings.url, data=body, headers={"Content-Type": "application/json"},
            timeout=(settings.connect_timeout_s, settings.read_timeout_s),
            allow_redirects=False)
    except requests.Timeout as error:
        raise _Retryable(f"webhook timed out ({type(error).__name__}; connect "
                         f"{settings.connect_timeout_s:g}s, read {settings.read_timeout_s:g}s)"
                         ) from None
    except requests.ConnectionError as error:
        raise _Retryable(f"webhook did not answer ({type(error).__name__})") from None
    except requests.RequestException as error:  # invalid URL and the like: no retry helps
        raise _Final(f"webhook request could not be made ({type(error).__name__})") from None
    status = response.status_code
    response.close()
    if 200 <= status < 300:
        return status
    if status == 429 or status >= 500:
        raise _Retryable(f"webhook answered HTTP {status}", status,
                         _retry_after(response, settings.backoff_max_s))
    raise _Final(f"webhook answered HTTP {status}", status)


def _wait(settings: WebhookSettings, started: float) -> Any:
    """Exponential backoff (or the server's Retry-After, capped), never past the deadline."""
    backoff = wait_exponential(multiplier=settings.backoff_s, max=settings.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = float(getattr(error, "retry_after_s", 0.0) or 0.0)
        remaining = settings.deadline_s - (time.monotonic() - started)
        return max(0.0, min(max(float(backoff(state)), hinted), remaining))

    return wait


def post_webhook(settings: WebhookSettings, payload: Mapping[str, Any], *,
                 event: str = "completion", redactor: Redactor | None = None) -> Delivery:
    """POST ``payload`` as JSON with timeouts and bounded retries; never raises for delivery
    failures (they are returned, and logged without the URL)."""
    redactor = redactor or default_redactor()
    protect_url(redactor, settings.url)
    started = time.monotonic()
    parts = urlsplit(settings.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        delivery = Delivery(event, False, 0, None, 0.0,
                            "webhook URL is not an http(s) URL (value not shown)")
        log.warning(delivery.describe())
        return delivery
    body = json.dumps(redactor.value(dict(payload)), default=str).encode("utf-8")
    attempts = 0

    def one_attempt() -> int:
        nonlocal attempts
        attempts += 1
        return _attempt(settings, body)

    def log_failure(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if error is not None:
            log.info(redactor.text(f"webhook attempt {state.attempt_number} failed: {error}"))

    retrying = Retrying(
        stop=stop_after_attempt(settings.attempts) | stop_after_delay(settings.deadline_s),
        wait=_wait(settings, started), retry=retry_if_exception_type(_Retryable),
        after=log_failure, reraise=True)
    status: int | None = None
    error_text: str | None = None
    try:
        status = retrying(one_attempt)
    except (_Retryable, _Final) as error:
        status, error_text = error.status, redactor.text(str(error))
    delivery = Delivery(event, error_text is None, attempts, status,
                        round(time.monotonic() - started, 3), error_text)
    (log.info if delivery.delivered else log.warning)(redactor.text(delivery.describe()))
    return delivery


def notify_completion(settings: WebhookSettings, summary: Mapping[str, Any], *,
                      digest: str | None = None, report_location: str | None = None,
                      redactor: Redactor | None = None) -> Delivery:
    """Build and post the completion message; see ``post_webhook``."""
    redactor = redactor or default_redactor()
    protect_url(redactor, settings.url)
    payload = completion_payload(summary, digest=digest, report_location=report_location,
                                 redactor=redactor)
    return post_webhook(settings, payload, event="completion", redactor=redactor)


def notify_stage_failure(settings: WebhookSettings, result: Mapping[str, Any], *,
                         drill_id: str, target: Mapping[str, Any], simulated: bool,
                         report_location: str | None = None,
                         redactor: Redactor | None = None) -> Delivery:
    """Build and post the message of one failed stage; see ``post_webhook``."""
    redactor = redactor or default_redactor()
    protect_url(redactor, settings.url)
    payload = stage_failure_payload(result, drill_id=drill_id, target=target,
                                    simulated=simulated, report_location=report_location,
                                    redactor=redactor)
    return post_webhook(settings, payload, event="stage-failed", redactor=redactor)


__all__ = ["MAX_TABLE_ROWS", "WEBHOOK_URL_ENV", "Delivery", "WebhookSettings",
           "completion_payload", "notify_completion", "notify_stage_failure", "post_webhook",
           "protect_url", "readiness_payload", "stage_failure_payload", "stage_table"]
