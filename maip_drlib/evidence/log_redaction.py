"""Redaction of log records at their creation, whatever handler or level later prints them.

``install(redactor)`` replaces the logging module's record factory once per process: every
record any logger creates (botocore's DEBUG lines with signed headers included) carries its
message already formatted and redacted, so pytest's capture, its live log, Allure's "log"
attachment and any handler a user adds see only the redacted text. Installed at the edge:
the CLI and the pytest plugin.

The traceback of a record made with ``exc_info`` (``log.exception``) and its ``stack_info``
are formatted when the record is made and redacted too (``record.exc_text``, which every
``logging.Formatter`` prints instead of formatting the exception again): a driver's error
may quote its connection string.

Not supported: a secret that reaches a record only in part (cut short by whoever formatted
it), handlers whose formatter overrides ``formatException`` and ignores ``exc_text``, records
made by a factory set after ``install``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from maip_drlib.evidence.redact import Redactor

_lock = threading.Lock()
_FORMATTER = logging.Formatter()
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
            if record.exc_info and not record.exc_text:
                record.exc_text = redactor.text(_FORMATTER.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = redactor.text(record.stack_info)
            return record

        redacting_factory._maip_redacting = True  # type: ignore[attr-defined]
        redacting_factory._maip_wrapped = previous  # type: ignore[attr-defined]
        logging.setLogRecordFactory(redacting_factory)
        _installed = redactor
        return restore
