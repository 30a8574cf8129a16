"""Waits poll through transient AWS errors until their own deadline (issue 13, item 11).

A fake clock: nothing sleeps. Throttles, 5xx answers, server timeouts and connection errors
are recorded as the last seen state and polled again; AccessDenied, validation and not-found
errors fail the wait at once; at the deadline the ``WaitTimeout`` names the last transient
error."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from maip_drlib.errors import PermissionDenied, Unreachable, WaitTimeout
from maip_drlib.probes.aws_errors import degraded
from maip_drlib.waits import Progress, WaitSpec, is_transient, set_progress, wait_for

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answer(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} says no"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "DescribeDBInstances")


THROTTLE = answer("ThrottlingException", 400)
TRANSIENT = {
    "throttle": THROTTLE,
    "HTTP 429 without a known code": answer("TooManyRequests", 429),
    "HTTP 500": answer("InternalFailure", 500),
    "HTTP 503": answer("ServiceUnavailable", 503),
    "server timeout without a status": ClientError(
        {"Error": {"Code": "RequestTimeoutException", "Message": "slow"}}, "Describe"),
    "endpoint refused": EndpointConnectionError(endpoint_url="https://rds.us-east-1"),
    "connect timeout": ConnectTimeoutError(endpoint_url="https://rds.us-east-1"),
    "read timeout": ReadTimeoutError(endpoint_url="https://rds.us-east-1"),
    "connection closed": ConnectionClosedError(endpoint_url="https://rds.us-east-1"),
    "Unreachable": Unreachable("rds in us-east-1 did not answer", region="us-east-1"),
}
PERMANENT = {
    "AccessDenied": answer("AccessDenied", 403),
    "validation": answer("ValidationException", 400),
    "not found": answer("DBInstanceNotFound", 404),
}


def throttled(times: int, error: BaseException, then: object) -> Callable[[], object]:
    calls = {"n": 0}

    def observe() -> object:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return then

    return observe


def run(observe: Callable[[], object], clock: FakeClock, deadline_s: float = 60,
        **kwargs: object):
    return wait_for(WaitSpec("db available", deadline_s=deadline_s, poll_max_s=2), observe,
                    success=lambda value: value == "available", clock=clock,
                    sleep=clock.sleep, jitter=lambda _: 0.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_errors_are_polled_through_until_success(error: BaseException) -> None:
    clock = FakeClock()
    outcome = run(throttled(5, error, "available"), clock)
    assert outcome.value == "available"
    assert outcome.transient_errors == 5 and outcome.polls == 1
    assert 0 < outcome.elapsed_s < 60


def test_a_throttle_until_the_deadline_times_out_naming_the_throttle() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        run(throttled(10_000, THROTTLE, "available"), clock, deadline_s=30)
    message = str(caught.value)
    assert "db available" in message and "deadline 30s" in message
    assert "ThrottlingException" in message and "transient errors in all" in message
    assert caught.value.__cause__ is THROTTLE
    assert clock.now == pytest.approx(30)


def test_the_timeout_names_the_last_transient_error_before_the_last_observation() -> None:
    clock = FakeClock()
    server_error = answer("InternalFailure", 500)
    states = iter([server_error, "modifying", server_error] + ["modifying"] * 10_000)

    def observe() -> object:
        state = next(states)
        if isinstance(state, BaseException):
            raise state
        return state

    with pytest.raises(WaitTimeout) as caught:
        run(observe, clock, deadline_s=20)
    message = str(caught.value)
    assert "last observed: modifying" in message
    assert "last transient error (2 in all)" in message and "InternalFailure" in message


@pytest.mark.parametrize("error", PERMANENT.values(), ids=PERMANENT.keys())
def test_other_errors_fail_at_once(error: ClientError) -> None:
    clock = FakeClock()
    calls = {"n": 0}

    def observe() -> object:
        calls["n"] += 1
        raise error

    with pytest.raises(ClientError) as caught:
        run(observe, clock)
    assert caught.value is error and calls["n"] == 1 and clock.now == 0


def test_a_denied_permission_fails_at_once_even_after_throttles() -> None:
    denied = PermissionDenied(target="prod", region="us-east-1", service="rds",
                              action="rds:DescribeDBInstances",
                              response={"Error": {"Code": "AccessDenied", "Message": "no"},
                                        "ResponseMetadata": {"HTTPStatusCode": 403}},
                              operation_name="DescribeDBInstances")
    errors = iter([THROTTLE, THROTTLE, denied])

    def observe() -> object:
        raise next(errors)

    with pytest.raises(PermissionDenied):
        run(observe, FakeClock())
    assert not is_transient(denied)


def test_the_display_shows_the_transient_error_as_the_last_seen_state() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    set_progress(Progress(stream, first_after_s=0.0, every_s=0.0))
    try:
        run(throttled(3, THROTTLE, "available"), clock)
    finally:
        set_progress(None)
    assert "last seen: error:" in stream.getvalue()
    assert "ThrottlingException" in stream.getvalue()


def test_aws_api_translates_a_server_timeout_as_degraded() -> None:
    timeout = ClientError({"Error": {"Code": "RequestTimeout", "Message": "slow"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetObject")
    assert degraded(timeout) == ("RequestTimeout", 400)
    assert degraded(PERMANENT["validation"]) is None
