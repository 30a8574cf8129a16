"""A readiness check's typed verdict: the fact checked, what was expected, what was observed, ok.

Every readiness check (``maip_drlib.readiness``) returns one ``Verdict``; a check that
measures several things (the lag of each replica, both MSK clusters) returns one verdict whose
``observed`` names each of them, and fails on the first that is out of bounds. ``render()`` is
the one line users see: a passing verdict's summary (what the checks printed before verdicts
existed), or for a failing one the same line a ``CheckFailed`` prints (``message; region=...;
resource=...; expected=...; observed=...``), so terminal output, evidence and ``--json`` stay
as they were. ``error()`` is that ``CheckFailed`` (exit 1; Allure files it under "DR capability
failed"), raised by ``require()``: the Then steps assert verdicts with it.

Not a verdict: a check that could not be made (``NotChecked``: skipped with the reason), an
API that does not answer (``Unreachable``) or a resource that does not exist (``NotFound``);
those stay exceptions. Not supported: verdicts that are neither pass nor fail (a warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maip_drlib.errors import CheckFailed


@dataclass(frozen=True)
class Verdict:
    """One readiness fact: ``fact`` (what was checked, e.g. "RDS replica lag"), ``expected``
    (e.g. "<= 60s"), ``observed`` (e.g. "3.2s"), ``ok``; ``region`` and ``resource`` where
    the fact has them; ``summary``: a pass's one-line detail, a failure's message."""

    fact: str
    expected: str
    observed: str
    ok: bool
    region: str | None = None
    resource: str | None = None
    summary: str = ""

    def render(self) -> str:
        """The one line users see (terminal, evidence, ``CheckResult.detail``)."""
        if self.ok:
            return self.summary or f"{self.fact}: {self.observed}"
        return str(self.error())

    def error(self) -> CheckFailed:
        """The ``CheckFailed`` this verdict raises when it is not ok (its message and fields)."""
        return CheckFailed(self.summary or f"{self.fact} not as expected", region=self.region,
                           resource=self.resource, expected=self.expected or None,
                           observed=self.observed or None)

    def require(self) -> Verdict:
        """This verdict when ok; raises ``error()`` otherwise."""
        if not self.ok:
            raise self.error()
        return self


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def passed(fact: str, summary: str, *, expected: Any = None, observed: Any = None,
           region: str | None = None, resource: str | None = None) -> Verdict:
    """A passing verdict; ``summary`` is its one-line detail (also ``observed`` if none given)."""
    return Verdict(fact, _text(expected), _text(summary if observed is None else observed), True,
                   region, resource, summary)


def failed(fact: str, message: str, *, expected: Any = None, observed: Any = None,
           region: str | None = None, resource: str | None = None) -> Verdict:
    """A failing verdict; ``message`` says what is wrong, as the ``CheckFailed`` it raises."""
    return Verdict(fact, _text(expected), _text(observed), False, region, resource, message)
