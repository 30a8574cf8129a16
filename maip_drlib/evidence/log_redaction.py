"""Redaction of log records at their creation, whatever handler or level later prints them.

``install(redactor)`` replaces the logging module's record factory once per process: every
record any logger creates (botocore's DEBUG lines with signed headers included) carries its
message already formatted and redacted, so pytest's capture, its live log, Allure's "log"
attachment and any handler a user adds see only the redacted text. Installed at the edge:
the CLI and the pytest plugin.

Not supported: a secret that reaches a record only in part (cut short by whoever formatted
it), secrets in the traceback text of ``exc_info`` (formatted later by handlers;
the suite's own errors carry no secrets), records made by a factory set after ``install``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from maip_drlib.evidence.redact import Redactor

_lock = threading.Lock()
_installed: Redactor | None = None


def install(redactor: Redactor) -> Callable[[], None]:
    """Redact every log record made from now on with ``redactor``; returns the undo.

    Idempotent per redactor; a second redactor replaces the first (never wraps it).
    """
    global _installed
    with _lock:
        before, before_installed = logging.getLogRecordFactory(), _installed

        def restore() -> None:
            global _installed
            with _lock:
                logging.setLogRecordFactory(before)
                _installed = before_installed

        if _installed is redactor:
            return restore
        previous = before
        if getattr(previous, "_maip_redacting", False):
            previous = previous._maip_wrapped  # type: ignore[attr-defined]

        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a malformed %-format: keep what logging would show
                message = str(record.msg)
            record.msg = redactor.text(message)
            record.args = None
            return record

        redacting_factory._maip_redacting = True  # type: ignore[attr-defined]
        redacting_factory._maip_wrapped = previous  # type: ignore[attr-defined]
        logging.setLogRecordFactory(redacting_factory)
        _installed = redactor
        return restore
