from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from maip_drlib.errors import Unreachable, WaitFailed, WaitTimeout
from maip_drlib.waits import WaitSpec, wait_for

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def sequence(*values):
    items = iter(values)

    def observe():
        value = next(items)
        if isinstance(value, BaseException):
            raise value
        return value

    return observe


def run(spec, observe, clock, **kwargs):
    return wait_for(spec, observe, clock=clock, sleep=clock.sleep, jitter=lambda _: 0.0,
                    **kwargs)


def test_success_returns_value_elapsed_and_polls():
    clock = FakeClock()
    outcome = run(WaitSpec("ready", deadline_s=60), sequence("pending", "pending", "ready"), clock,
                  success=lambda value: value == "ready")
    assert outcome.value == "ready"
    assert outcome.polls == 3
    assert clock.sleeps == [0.2, 0.4]
    assert outcome.elapsed_s == pytest.approx(0.6)


def test_backoff_is_capped():
    clock = FakeClock()
    run(WaitSpec("x", deadline_s=100, poll_initial_s=1, poll_max_s=3), sequence(*[0] * 6 + [1]),
        clock, success=bool)
    assert clock.sleeps == [1, 2, 3, 3, 3, 3]


def test_terminal_failure_raises_at_once():
    clock = FakeClock()
    with pytest.raises(WaitFailed) as caught:
        run(WaitSpec("db available", deadline_s=600), sequence("modifying", "failed", "x"), clock,
            success=lambda value: value == "available",
            failure=lambda value: "status failed" if value == "failed" else None)
    assert "db available" in str(caught.value) and "status failed" in str(caught.value)
    assert caught.value.last_observed == "failed"
    assert len(clock.sleeps) == 1


def test_deadline_names_wait_deadline_and_last_observation():
    clock = FakeClock()
    polls: list[tuple[str, float]] = []
    with pytest.raises(WaitTimeout) as caught:
        run(WaitSpec("replica in sync", deadline_s=10, poll_max_s=2),
            lambda: "lagging 30s", clock, success=lambda _: False,
            on_poll=lambda value, elapsed: polls.append((value, elapsed)))
    message = str(caught.value)
    assert "replica in sync" in message and "deadline 10s" in message and "lagging 30s" in message
    assert clock.now == pytest.approx(10)
    assert caught.value.elapsed_s == pytest.approx(10)
    assert polls[-1][1] == pytest.approx(10)


def test_real_clock_tiny_deadline_is_bounded():
    import time

    started = time.monotonic()
    with pytest.raises(WaitTimeout):
        wait_for(WaitSpec("never", deadline_s=0.3, poll_initial_s=0.05, poll_max_s=0.1,
                          jitter_s=0.01), lambda: 0, success=bool)
    assert time.monotonic() - started < 1.0


def test_transient_error_then_success():
    clock = FakeClock()
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Describe")
    outcome = run(WaitSpec("x", deadline_s=30),
                  sequence(Unreachable("refused"), throttled, "ok"), clock,
                  success=lambda value: value == "ok")
    assert outcome.value == "ok" and outcome.polls == 1


def test_transient_errors_until_deadline_report_the_error():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        refusals = [Unreachable("connection refused")] * 100
        run(WaitSpec("api back", deadline_s=5), sequence(*refusals), clock, success=bool)
    assert "connection refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, Unreachable)


def test_other_errors_propagate():
    clock = FakeClock()
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "Describe")
    with pytest.raises(ClientError):
        run(WaitSpec("x", deadline_s=30), sequence(denied), clock, success=bool)


def test_spec_rejects_non_positive_durations():
    with pytest.raises(ValueError):
        WaitSpec("x", deadline_s=0)
