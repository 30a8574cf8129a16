"""A streaming standby whose lag cannot be told yet (WAL behind, no commit replayed: a fresh
replica) is read again until its lag is known, within a bound, instead of failing readiness on
one unlucky reading; one that stays unknown still fails."""

from __future__ import annotations

import pytest

from maip_drlib import readiness_data
from maip_drlib.probes import postgres
from maip_drlib.probes.postgres import StandbyLagFact

pytestmark = pytest.mark.unit


def _lag(distance: int, age: float | None) -> StandbyLagFact:
    return StandbyLagFact(region="us-west-2", instance="replica", in_recovery=True,
                          replay_age_s=age, replay_lsn="0/1", writer_lsn="0/2",
                          lsn_distance_bytes=distance, receiving=True)


class _Spec:
    instance = "replica"


def test_an_unknown_lag_is_read_again_until_known(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([_lag(96, None), _lag(96, None), _lag(0, None)])
    monkeypatch.setattr(postgres, "standby_lag", lambda spec, writer: next(readings))
    found = readiness_data._known_standby_lag(_Spec(), _Spec(), 60.0)  # type: ignore[arg-type]
    assert found.lag_s == 0.0


def test_a_lag_that_stays_unknown_is_returned_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness_data, "UNKNOWN_LAG_WAIT_S", 0.5)
    monkeypatch.setattr(postgres, "standby_lag", lambda spec, writer: _lag(96, None))
    found = readiness_data._known_standby_lag(_Spec(), _Spec(), 60.0)  # type: ignore[arg-type]
    assert found.lag_s is None and found.lsn_distance_bytes == 96


def test_the_replica_lag_check_reads_a_fresh_standby_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """ReplicaLag over the limit on a fresh standby 96 bytes behind with nothing replayed: the
    WAL distance is read again until known (here caught up: an idle writer), not judged on the
    first reading (seen after failback 4 in the live rehearsal)."""
    from types import SimpleNamespace

    readings = iter([_lag(96, None), _lag(0, None)])
    monkeypatch.setattr(postgres, "standby_lag", lambda spec, writer: next(readings))
    monkeypatch.setattr(postgres, "connection_spec", lambda handle, access, name: _Spec())
    inputs = SimpleNamespace(target=SimpleNamespace(database=object()),
                             handles=SimpleNamespace(by_name=lambda region: None),
                             thresholds=SimpleNamespace(rds_replica_lag_s=60.0))
    node = SimpleNamespace(region="us-west-2", identifier="replica")
    found = readiness_data._wal_distance(inputs, node, node)  # type: ignore[arg-type]
    assert found is not None and found.startswith("idle source"), found
