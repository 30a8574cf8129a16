"""Go / no-go (DESIGN.md 4a): a failed readiness phase stops a game day before its first
mutation, unless the operator accepts it explicitly.

The readiness scenarios of a run with a declared outage report the primary region's own checks
as expected failures (skipped, with the reason: ``steps/readiness_steps.py``), so what is left
failed here is what DR needs to take over. The decision, the failed checks, the checks expected
to fail and, for an acceptance, the reason and the operator go into the journal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from maip_drlib.drill.stage_result import PhaseRun, StageResult
from maip_drlib.evidence.journal import Journal

if TYPE_CHECKING:
    from maip_drlib.drill.gameday import GamedayPlan

EXPECTED_UNDER_OUTAGE = "expected under the declared outage"


def _checks(results: tuple[StageResult, ...], outcome: str) -> list[dict[str, str]]:
    """The checks of ``outcome`` as the journal records them (scenario and message)."""
    return [{"scenario": r.scenario, "message": str(r.message or "")[:500]}
            for r in results if r.outcome == outcome
            and (outcome != "skipped" or EXPECTED_UNDER_OUTAGE in str(r.message or ""))]


def go_no_go(plan: GamedayPlan, journal: Journal, readiness: PhaseRun) -> bool:
    """True to go on with the drill; False is a no-go (journalled and said)."""
    failed = _checks(readiness.results, "failed")
    expected = _checks(readiness.results, "skipped")
    if not failed and readiness.exit_code in (0, 1, 5):
        journal.record("decision", decision="go: readiness passed",
                       expected_failures=expected)
        return True
    if not failed:
        failed = [{"scenario": "readiness", "message": f"the readiness phase did not run "
                                                       f"(pytest exit {readiness.exit_code})"}]
    names = "; ".join(f"{check['scenario']}: {check['message'][:200]}" for check in failed)
    if plan.accept_readiness_failures:
        from maip_drlib.evidence.allure_meta import local_user_host

        user, host = local_user_host()
        journal.record("readiness.accepted", reason=plan.accept_readiness_failures,
                       failed=failed, expected_failures=expected, operator=f"{user}@{host}")
        plan.echo(f"maip-dr: readiness failed ({len(failed)} checks) and the failures were "
                  f"accepted by {user}@{host}: {plan.accept_readiness_failures}")
        return True
    journal.record("decision", decision="no-go: readiness failed", failed=failed,
                   expected_failures=expected)
    plan.echo(f"maip-dr: NO-GO: readiness failed, the drill stops before its first mutation "
              f"(nothing was changed): {names}. Fix the platform, or go on anyway with "
              "--dr-accept-readiness-failures REASON (recorded)")
    return False
