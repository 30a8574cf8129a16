"""The redaction layer inside pytest: log records, captured output and failure text.

Every log record is redacted when it is made (``evidence.log_redaction``), at any log level
(``--log-level=DEBUG`` included). A test report's captured sections (stdout, stderr, log)
and its failure text are redacted before any reporter reads them, so Allure's "stdout",
"stderr" and "log" attachments and its failure trace hold no secret. The shared redactor
learns the secrets of this process's environment (``edge_secrets``).

Not supported: output another plugin writes straight to a file of its own.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from maip_drlib.evidence.edge_secrets import redactor_from_environment
from maip_drlib.evidence.log_redaction import install


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    install(redactor_from_environment(os.environ))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    assert isinstance(report, pytest.TestReport)
    redactor = redactor_from_environment(os.environ)
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        report.longrepr = redactor.text(str(report.longrepr))
    return report
