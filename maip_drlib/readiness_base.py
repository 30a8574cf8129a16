"""The readiness preflight's types: inputs, a check and its result, ``NotChecked``.

Shared by the registry and runner (``maip_drlib.readiness``) and the checks
(``readiness_data``, ``readiness_capacity``). The thresholds are ``readiness_thresholds``'s
(read from the Gherkin), a check's verdict ``readiness_verdict``'s. Not supported: thresholds
per region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from maip_drlib.config import RegionTopology, Target, Topology
from maip_drlib.errors import CheckFailed, DRError
from maip_drlib.readiness_thresholds import Thresholds, default_thresholds
from maip_drlib.readiness_verdict import Verdict
from maip_drlib.regions import RegionHandle, RegionHandles
from maip_drlib.resolvers import Resolver

# The secrets the services need in DR, for the IAM policy's scope (iam_scope.py); readiness
# reads them from features/readiness.feature (tests/lib/test_readiness_verdicts.py: the same).
DEFAULT_REQUIRED_SECRETS = ("maip/prod/db-credentials", "maip/prod/kafka-credentials")
ECR_LOOKUP_CONCURRENCY = 8  # image lookups in flight at once (the DR registry's API)


class NotChecked(DRError):
    """A check could not be made: the API does not answer for it. Not a pass, not a failure."""


@dataclass(frozen=True)
class ReadinessInputs:
    handles: RegionHandles
    topology: Topology
    target: Target
    resolver: Resolver | None
    thresholds: Thresholds = field(default_factory=default_thresholds)  # from the Gherkin


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: passed, or why not, and how long it took. ``verdict``: the
    check's ``Verdict`` (None when it raised: unreachable, not found, not checked, an error);
    ``detail`` is its rendering, or the error's line."""

    name: str
    region: str
    passed: bool
    detail: str
    elapsed_s: float
    error_kind: str | None = None  # "check", "unreachable", "not-found", "error", "not-checked"
    checked: bool = True  # False: no verdict (NotChecked); ``detail`` says why
    verdict: Verdict | None = None

    @property
    def outcome(self) -> str:
        """"passed", "failed" or "skipped" (no verdict: not checked), as the Gherkin run's
        scenario results say it (the metrics read either)."""
        if not self.checked:
            return "skipped"
        return "passed" if self.passed else "failed"

    @property
    def expected(self) -> str | None:
        return self.verdict.expected if self.verdict is not None else None

    @property
    def observed(self) -> str | None:
        return self.verdict.observed if self.verdict is not None else None


CheckFunction = Callable[[ReadinessInputs], Verdict]


@dataclass(frozen=True)
class Check:
    name: str
    region: str  # a region name, or "global" / "both"
    run: CheckFunction


ROLES = ("primary", "secondary")


def _role(inputs: ReadinessInputs, role: str) -> tuple[RegionHandle, RegionTopology]:
    if role not in ROLES:
        raise CheckFailed(f"unknown region role {role!r}", expected=" or ".join(ROLES))
    handle = inputs.handles.primary if role == "primary" else inputs.handles.secondary
    return handle, getattr(inputs.topology, role)

