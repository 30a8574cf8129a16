"""An unplanned failover and failback through the live-kind target, stage by stage, on a fresh
``maip-dr sim up --data-plane`` (``rehearsal_env``; docs/live-rehearsal.md section 6): the
us-east-1 outage injected from outside (``sim fault outage``), every stage its own ``maip-dr
stage`` run under ``--dr-declare-outage`` (attempts of one drill), the region healed from outside
(``sim fault restore``) before failback, failback 3 with ``--soak-step 10``; database access over
verify-full TLS throughout; readiness passes at the end.

Its own simulation: after a completed failback the writer is ``topology.failback_replica`` and a
second drill's failback 2 would create a replica of that very name (refused), so it does not
follow the planned game day of ``test_live_rehearsal``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rehearsal_env import (
    DR,
    DR_REPLICA,
    PRIMARY,
    SOAK_STEP,
    Rehearsal,
    assert_soak_override,
    decided,
    output,
    run_stage,
    start_rehearsal,
)

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    with start_rehearsal(tmp_path_factory) as started:
        yield started


@pytest.mark.timeout(900)
def test_an_unplanned_failover_and_failback_stage_by_stage(rehearsal: Rehearsal) -> None:
    """The outage comes from outside (``sim fault``); the operator declares it; each stage is
    its own ``maip-dr stage`` run (an attempt of one drill); the region is healed from
    outside before failback; the platform ends in the steady state."""
    rehearsal.fault("outage", "--region", PRIMARY)
    try:
        for number in range(1, 6):
            run_stage(rehearsal, "failover", number)
    finally:
        rehearsal.fault("restore", "--region", PRIMARY)
    replica = rehearsal.dr_replica()
    assert not replica.get("ReadReplicaSourceDBInstanceIdentifier"), replica  # promoted
    ssl, _ = rehearsal.tls_session(DR, DR_REPLICA)  # the promoted writer serves TLS
    assert ssl
    for number in range(1, 5):
        run_stage(rehearsal, "failback", number, *(SOAK_STEP if number == 3 else ()))
    decisions = rehearsal.decisions("unplanned-1")
    assert not [d for d in decisions if "no database access" in d[1] + d[2]], decisions
    decided(decisions, "failover 1", "primary down", r".")
    decided(decisions, "failover 2", "promoted database accepts writes", r"accepts writes")
    decided(decisions, "failback 1", "old writer's database role", r"PostgreSQL")
    decided(decisions, "failback 2", "resynced", r"decided by wal")
    decided(decisions, "failback 4", "lag zero", r"decided by wal")
    assert_soak_override(decisions)
    # The drill's fenced old writer awaits the operator's reconcile-and-delete: until then
    # readiness fails on that one check (the next game day's go/no-go), naming it
    after = rehearsal.live(["readiness"])
    assert after.returncode == 1 and "maip-prod-postgres first" in output(after), output(after)
    after = rehearsal.live(["readiness", "--", "-k", "not can_fail_back_after_a_failover"])
    assert after.returncode == 0, output(after)
    assert "readiness of 'live' [live]: PASS" in after.stdout, output(after)
