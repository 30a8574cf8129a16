"""RPO steps (features/rpo.feature): measure from the game day's canaries, then judge.

DynamoDB always; RDS when the target has database access. Without it the RDS scenario is
skipped with the reason "not configured: ...", never passed; without canaries (a stage run
alone) either scenario is skipped "not measured". MSK when the game day could write canaries
to the primary cluster's canary topic; otherwise its scenario is skipped "not measured" with
the reason, which is also kept in the RPO report (``rpo_check.record_not_measured``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import parsers, then, when

from maip_drlib.drill import rpo_check
from maip_drlib.drill.canaries import RDS_STORE
from maip_drlib.drill.context import DrillContext
from maip_drlib.drill.msk_canaries import STORE as MSK_STORE
from maip_drlib.rpo import RpoMeasurement


@pytest.fixture
def dr_attempt_dir(pytestconfig: pytest.Config) -> Path | None:
    from maip_drlib.pytest_dr.keys import attempt_dir_of

    return attempt_dir_of(pytestconfig)


@when("the canaries the primary acknowledged before the outage are looked up in DR",
      target_fixture="rpo_measurement")
def look_up_canaries(dr_context: DrillContext, dr_attempt_dir: Path | None) -> RpoMeasurement:
    """Looks up in DR the DynamoDB canaries the primary acknowledged before the outage (a game
    day's own; skipped when there are none)."""
    try:
        return rpo_check.measure_from_canaries(dr_context, dr_attempt_dir)
    except rpo_check.NotMeasured as error:
        pytest.skip(str(error))


@when("the RDS canaries the primary acknowledged before the outage are looked up in DR",
      target_fixture="rpo_measurement")
def look_up_rds_canaries(dr_context: DrillContext,
                         dr_attempt_dir: Path | None) -> RpoMeasurement:
    """Looks up in DR the RDS canaries the primary acknowledged before the outage (skipped without
    database access or canaries)."""
    try:
        return rpo_check.measure_from_canaries(dr_context, dr_attempt_dir, store=RDS_STORE)
    except rpo_check.NotMeasured as error:  # also "not configured" (no database access)
        pytest.skip(str(error))


@then(parsers.parse("the DynamoDB data loss window is within {seconds:g} seconds"))
def within_target(rpo_measurement: RpoMeasurement, dr_attempt_dir: Path | None,
                  seconds: float, dr_context: DrillContext) -> None:
    """Checks that the measured DynamoDB data loss window (RPO) is within that many seconds, and
    records it."""
    if dr_attempt_dir is not None:
        rpo_check.record(dr_attempt_dir, rpo_measurement, seconds)
    print(rpo_check.assert_within(rpo_measurement, seconds,
                                  dr_context.topology.secondary.region))


@then(parsers.parse("the RDS data loss window is within {seconds:g} seconds"))
def rds_within_target(rpo_measurement: RpoMeasurement, dr_attempt_dir: Path | None,
                      seconds: float, dr_context: DrillContext) -> None:
    """Checks that the measured RDS data loss window (RPO) is within that many seconds, and records
    it."""
    within_target(rpo_measurement, dr_attempt_dir, seconds, dr_context)


@pytest.fixture
def msk_not_measured() -> list[str]:
    """Why the MSK canaries could not be looked up (filled by the When step)."""
    return []


@when("the MSK canaries the primary acknowledged before the outage are looked up in DR",
      target_fixture="rpo_measurement")
def look_up_msk_canaries(dr_context: DrillContext, dr_attempt_dir: Path | None,
                         msk_not_measured: list[str]) -> RpoMeasurement | None:
    """Looks up in DR the MSK canaries the primary acknowledged before the outage, on the topic
    the replicator copies the canary topic to (not measured, with the reason, without Kafka
    access, a broker or canaries)."""
    try:
        return rpo_check.measure_from_canaries(dr_context, dr_attempt_dir, store=MSK_STORE)
    except rpo_check.NotMeasured as error:
        msk_not_measured.append(str(error))
        return None


@then(parsers.parse("the MSK data loss window is within {seconds:g} seconds"))
def msk_within_target(rpo_measurement: RpoMeasurement | None, dr_attempt_dir: Path | None,
                      seconds: float, dr_context: DrillContext,
                      msk_not_measured: list[str]) -> None:
    """Checks that the measured MSK data loss window (RPO) is within that many seconds, and
    records it (or why it was not measured, then skips)."""
    if rpo_measurement is None:
        reason = msk_not_measured[0] if msk_not_measured else "not measured"
        if dr_attempt_dir is not None and "no canaries were written" not in reason \
                and "no attempt folder" not in reason:
            rpo_check.record_not_measured(dr_attempt_dir, MSK_STORE, reason, seconds)
        pytest.skip(reason)
    within_target(rpo_measurement, dr_attempt_dir, seconds, dr_context)
