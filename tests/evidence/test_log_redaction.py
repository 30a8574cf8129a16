"""Log records and pytest reports are redacted at their source, at any log level."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from maip_drlib.evidence import log_redaction
from maip_drlib.evidence.redact import MARK, Redactor

pytestmark = pytest.mark.sim

pytest_plugins = ["pytester"]

SECRET = "dummy-db-password-for-the-log-test"


@pytest.fixture
def redacting() -> Iterator[Redactor]:
    before = logging.getLogRecordFactory()
    redactor = Redactor([SECRET])
    restore = log_redaction.install(redactor)
    yield redactor
    restore()
    assert logging.getLogRecordFactory() is before


def _log_at_debug(message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("maip-test-redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_debug_records_are_redacted_with_their_arguments(redacting: Redactor) -> None:
    text = _log_at_debug("headers %s password=%s url %s", {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAMAIPDUMMY0000001/x, Signature=ab12"},
        SECRET, "https://bucket.s3.amazonaws.com/k?X-Amz-Signature=deadbeef&X-Amz-Date=1")
    assert SECRET not in text and "AKIAMAIPDUMMY0000001" not in text
    assert "deadbeef" not in text and "ab12" not in text
    assert MARK in text and "headers" in text


def test_tracebacks_and_stacks_are_redacted(redacting: Redactor) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("maip-test-redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionError(f"cannot connect to postgresql://maip:{SECRET}@db/maip")
        except ConnectionError:
            logger.exception("connection failed")
        logger.error("where: %s", SECRET, stack_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "ConnectionError" in text and "Stack (most recent" in text
    assert SECRET not in text and MARK in text


def test_restore_undoes_the_install() -> None:
    before = logging.getLogRecordFactory()
    restore = log_redaction.install(Redactor([SECRET]))
    assert logging.getLogRecordFactory() is not before
    restore()
    assert logging.getLogRecordFactory() is before


def test_a_second_redactor_replaces_the_first(redacting: Redactor) -> None:
    other = "another-dummy-secret-value"
    restore = log_redaction.install(Redactor([other]))
    try:
        text = _log_at_debug("%s %s", SECRET, other)
    finally:
        restore()
    assert other not in text and SECRET in text


def test_pytest_reports_hold_no_secret(pytester: pytest.Pytester,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    webhook = "https://hooks.example.test/T000/B000/dummy-webhook-path-0001"
    monkeypatch.setenv("MAIP_DR_WEBHOOK_URL", webhook)
    pytester.makeconftest("""
        import json, pathlib
        def pytest_runtest_logreport(report):
            with pathlib.Path("reports.jsonl").open("a") as out:
                out.write(json.dumps({"sections": report.sections,
                                      "longrepr": str(report.longrepr)}) + "\\n")
    """)
    pytester.makepyfile("""
        import logging, os
        def test_leaks():
            url = os.environ["MAIP_DR_WEBHOOK_URL"]
            print("posting to", url)
            logging.getLogger("botocore").debug("signed %s", url)
            assert url == "x", url
    """)
    result = pytester.runpytest_subprocess("-p", "maip_drlib.pytest_dr.redaction",
                                           "--log-level=DEBUG")
    result.assert_outcomes(failed=1)
    written = (pytester.path / "reports.jsonl").read_text()
    assert webhook not in written and "dummy-webhook-path-0001" not in written
    assert MARK in written and "posting to" in written and "AssertionError" in written
