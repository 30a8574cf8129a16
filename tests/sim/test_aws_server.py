"""The moto server's fault middleware: outages refuse or hang per SigV4 region, global services
survive a us-east-1 outage, Route 53 control-plane impairment answers 503, and the rule hook.

One moto server for the module (moto state is process-global); every test restores the faults.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from maip_drlib.sim.aws.clients import sim_client
from maip_drlib.sim.aws.middleware import (
    FaultMiddleware,
    RequestScope,
    error_decision,
    fault_decision,
    scope_of,
)
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

pytestmark = pytest.mark.sim

REGIONS = ("us-east-1", "us-west-2")
CLOSED = (ConnectionClosedError, EndpointConnectionError)


@pytest.fixture(scope="module")
def faults() -> FaultState:
    return FaultState(REGIONS)


@pytest.fixture(scope="module")
def server(faults: FaultState) -> Iterator[MotoServer]:
    moto_server = MotoServer(faults, SimClock(time_scale=0.6), hang_limit_s=20.0)
    moto_server.start()
    yield moto_server
    moto_server.stop()


@pytest.fixture
def url(server: MotoServer, faults: FaultState) -> Iterator[str]:
    assert server.endpoint_url is not None
    yield server.endpoint_url
    for region in REGIONS:
        faults.restore_region(region)
    faults.impair_route53_control_plane(False)


def test_endpoint_is_loopback_on_a_free_port(url: str) -> None:
    assert url.startswith("http://127.0.0.1:")
    assert int(url.rsplit(":", 1)[1]) > 0


def test_refused_region_fails_fast_while_other_region_and_route53_answer(
    url: str, faults: FaultState, capfd: pytest.CaptureFixture[str]
) -> None:
    east_rds = sim_client("rds", "us-east-1", url)
    east_rds.describe_db_instances()  # warm: the service app exists before the outage
    faults.region_outage("us-east-1", "refuse")

    started = time.monotonic()
    with pytest.raises(CLOSED):
        east_rds.describe_db_instances()
    elapsed = time.monotonic() - started

    assert elapsed < 3.0, f"refused call took {elapsed:.2f}s"
    assert sim_client("rds", "us-west-2", url).describe_db_instances()["DBInstances"] == []
    assert "HostedZones" in sim_client("route53", "us-east-1", url).list_hosted_zones()
    # STS is regional: sts.us-east-1 goes down with its region (the DR side signs for its own).
    with pytest.raises(CLOSED):
        sim_client("sts", "us-east-1", url).get_caller_identity()
    assert sim_client("sts", "us-west-2", url).get_caller_identity()["Account"]
    assert "Traceback" not in capfd.readouterr().err


def test_regional_sts_follows_its_region(url: str, faults: FaultState) -> None:
    faults.region_outage("us-west-2", "refuse")
    with pytest.raises(CLOSED):
        sim_client("sts", "us-west-2", url).get_caller_identity()


def test_restore_brings_the_region_back(url: str, faults: FaultState) -> None:
    east_rds = sim_client("rds", "us-east-1", url)
    faults.region_outage("us-east-1", "refuse")
    with pytest.raises(CLOSED):
        east_rds.describe_db_instances()
    faults.restore_region("us-east-1")
    assert east_rds.describe_db_instances()["DBInstances"] == []


def test_hanging_region_makes_the_client_time_out(url: str, faults: FaultState) -> None:
    east_rds = sim_client("rds", "us-east-1", url, read_timeout=1,
                          retries={"total_max_attempts": 1, "mode": "standard"})
    faults.region_outage("us-east-1", "hang")
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        east_rds.describe_db_instances()
    assert 0.9 <= time.monotonic() - started < 3.0


def test_hanging_request_is_answered_once_the_region_is_restored(
    url: str, faults: FaultState
) -> None:
    east_rds = sim_client("rds", "us-east-1", url)
    faults.region_outage("us-east-1", "hang")
    restorer = threading.Timer(0.4, faults.restore_region, args=("us-east-1",))
    restorer.start()
    started = time.monotonic()
    try:
        assert east_rds.describe_db_instances()["DBInstances"] == []
    finally:
        restorer.cancel()
    assert 0.3 <= time.monotonic() - started < 3.0


def test_route53_control_plane_impairment_answers_503(url: str, faults: FaultState) -> None:
    faults.impair_route53_control_plane(True)
    route53 = sim_client("route53", "us-east-1", url)
    with pytest.raises(ClientError) as raised:
        route53.list_hosted_zones()
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert sim_client("rds", "us-east-1", url).describe_db_instances()["DBInstances"] == []
    faults.impair_route53_control_plane(False)
    assert "HostedZones" in route53.list_hosted_zones()


def test_a_rule_can_inject_errors_per_region_and_service(
    url: str, server: MotoServer
) -> None:
    def throttle_west_dynamodb(scope: RequestScope, _snapshot: object) -> object:
        if (scope.region, scope.service) == ("us-west-2", "dynamodb"):
            return error_decision(
                400, "application/x-amz-json-1.0",
                '{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
                '"message":"simulated throttling"}',
            )
        return None

    assert server.middleware is not None
    server.middleware.add_rule(throttle_west_dynamodb)  # type: ignore[arg-type]
    try:
        with pytest.raises(ClientError) as raised:
            sim_client("dynamodb", "us-west-2", url,
                       retries={"total_max_attempts": 1, "mode": "standard"}).list_tables()
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert "TableNames" in sim_client("dynamodb", "us-east-1", url).list_tables()
    finally:
        server.middleware.rules.remove(throttle_west_dynamodb)  # type: ignore[arg-type]


def test_the_simulations_own_client_sends_a_request_once(url: str, server: MotoServer) -> None:
    """A seeding create answered 500 is not sent again: moto may have made the resource, and
    a retry would then fail with "already exists" (seen once in CI). botocore's ``max_attempts``
    counts retries, so the client must say ``total_max_attempts``."""
    seen: list[RequestScope] = []

    def fail_west_eks(scope: RequestScope, _snapshot: object) -> object:
        if (scope.region, scope.service) == ("us-west-2", "eks"):
            seen.append(scope)
            return error_decision(500, "application/json",
                                  '{"message":"simulated internal error"}')
        return None

    assert server.middleware is not None
    server.middleware.add_rule(fail_west_eks)  # type: ignore[arg-type]
    try:
        with pytest.raises(ClientError) as raised:
            sim_client("eks", "us-west-2", url).list_clusters()
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert len(seen) == 1
    finally:
        server.middleware.rules.remove(fail_west_eks)  # type: ignore[arg-type]


def test_scope_is_read_from_the_authorization_header_and_presigned_queries() -> None:
    signed = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-west-2/rds/"
              "aws4_request, SignedHeaders=host, Signature=abc"}
    presigned = {"QUERY_STRING": "Action=GetCallerIdentity&X-Amz-Credential="
                 "AKID%2F20250101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=abc"}
    assert scope_of(signed) == RequestScope("us-west-2", "rds")
    assert scope_of(presigned) == RequestScope("us-east-1", "sts")
    assert scope_of({}) == RequestScope(None, None)


@pytest.mark.parametrize(("content_type", "protocol"), [
    ("application/cbor", "cbor"), ("application/x-amz-json-1.0", "json"),
    ("application/x-www-form-urlencoded; charset=utf-8", "query"), ("", ""),
])
def test_the_wire_protocol_follows_the_content_type(content_type: str, protocol: str) -> None:
    """CloudWatch clients choose CBOR, JSON or query: a fault answers in the one chosen."""
    signed = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-west-2/"
              "monitoring/aws4_request, SignedHeaders=host, Signature=abc",
              "CONTENT_TYPE": content_type}
    assert scope_of(signed).protocol == protocol


def test_global_services_are_spared_only_when_signed_for_us_east_1(faults: FaultState) -> None:
    faults.region_outage("us-east-1", "refuse")
    try:
        snapshot = faults.snapshot()
        for service in ("route53", "iam"):
            assert fault_decision(RequestScope("us-east-1", service), snapshot).kind == "pass"
        for service in ("rds", "sts"):
            assert fault_decision(RequestScope("us-east-1", service), snapshot).kind == "refuse"
    finally:
        faults.restore_region("us-east-1")


def test_stopping_the_middleware_releases_hanging_requests(faults: FaultState) -> None:
    def app(environ: object, start_response: object) -> list[bytes]:
        return [b"answered"]

    middleware = FaultMiddleware(app, faults, hang_limit_s=60.0)
    environ = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-west-2/"
               "ec2/aws4_request, SignedHeaders=host, Signature=abc"}
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            middleware(environ, lambda *args: None)
        except ConnectionAbortedError as dropped:
            outcome.append(dropped)

    faults.region_outage("us-west-2", "hang")
    try:
        caller = threading.Thread(target=call, daemon=True)
        caller.start()
        caller.join(timeout=0.3)
        assert caller.is_alive(), "the request should hang while the region hangs"
        started = time.monotonic()
        middleware.stop()
        caller.join(timeout=3.0)
        assert not caller.is_alive()
        assert time.monotonic() - started < 1.0
        assert len(outcome) == 1
    finally:
        faults.restore_region("us-west-2")
