"""The fault controls added for the fault matrix, without a running simulation.

- ``FaultState``: API faults match by service and region, bursts count down, ``restore``
  clears a region's faults;
- ``api_fault_decision``: each protocol's error body parses in botocore to the service's real
  code, and botocore's standard retry mode sees throttles as throttles and 5xx as transient;
- the HTTP control routes validate their bodies; ``maip-dr sim fault`` has help for each.
"""

from __future__ import annotations

import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.retries.standard import (
    RetryContext,
    ThrottledRetryableChecker,
    TransientRetryableChecker,
)
from click.testing import CliRunner

from maip_drlib.cli.sim import sim_group
from maip_drlib.sim.aws.middleware import RequestScope, api_fault_decision
from maip_drlib.sim.control import FAULT_ROUTES, BadRequest
from maip_drlib.sim.faults import ApiFault, FaultState

pytestmark = pytest.mark.unit

REGIONS = ("us-east-1", "us-west-2")


def test_bursts_count_down_and_match_by_service_and_region() -> None:
    faults = FaultState(REGIONS)
    faults.add_api_fault(ApiFault("throttle", service="rds", region="us-west-2", remaining=2))
    assert faults.take_api_fault("rds", "us-east-1") is None
    assert faults.take_api_fault("eks", "us-west-2") is None
    assert faults.take_api_fault("rds", "us-west-2") is not None
    assert faults.snapshot().api_faults[0].remaining == 1
    assert faults.take_api_fault("rds", "us-west-2") is not None
    assert faults.take_api_fault("rds", "us-west-2") is None


def test_restore_clears_every_fault_of_the_region() -> None:
    faults = FaultState(REGIONS)
    faults.add_api_fault(ApiFault("5xx", region="us-east-1"))
    faults.add_api_fault(ApiFault("5xx", region="us-west-2"))
    faults.set_kube_api("us-east-1", "hang")
    faults.set_nodes_not_ready("us-east-1")
    faults.set_synthetic_status("us-east-1", 500)
    snapshot = faults.restore_region("us-east-1")
    region = snapshot.region("us-east-1")
    assert (region.kube_api, region.nodes_not_ready, region.synthetic_status) == (None, False,
                                                                                  None)
    assert [f.region for f in snapshot.api_faults] == ["us-west-2"]
    assert snapshot.kube_api_mode("us-east-1") is None


def test_bad_faults_are_refused() -> None:
    faults = FaultState(REGIONS)
    with pytest.raises(ValueError, match="persistent"):
        faults.add_api_fault(ApiFault("hang", remaining=2))
    with pytest.raises(ValueError, match="at least 1"):
        faults.add_api_fault(ApiFault("throttle", remaining=0))
    with pytest.raises(ValueError, match=r"100\.\.599"):
        faults.set_synthetic_status("us-east-1", 700)


PROTOCOLS = [("rds", "query", "Throttling", 400), ("route53", "rest-xml", "Throttling", 400),
             ("dynamodb", "json", "ThrottlingException", 400),
             ("eks", "rest-json", "TooManyRequestsException", 429),
             ("kafka", "rest-json", "TooManyRequestsException", 429),
             ("monitoring", "smithy-rpc-v2-cbor", "Throttling", 400),
             ("ec2", "ec2", "RequestLimitExceeded", 503)]


def _parsed(service: str, protocol: str, kind: str) -> tuple[dict, int]:
    decision = api_fault_decision(ApiFault(kind), RequestScope("us-west-2", service))
    response = {"status_code": decision.status, "headers": HeadersDict(decision.headers),
                "body": decision.body}
    return create_parser(protocol).parse(response, None), decision.status


@pytest.mark.parametrize(("service", "protocol", "code", "status"), PROTOCOLS)
def test_throttles_parse_to_the_service_code_and_botocore_retries_them(
        service: str, protocol: str, code: str, status: int) -> None:
    parsed, answered = _parsed(service, protocol, "throttle")
    assert parsed["Error"]["Code"] == code and answered == status
    context = RetryContext(attempt_number=1, operation_model=None, parsed_response=parsed,
                           http_response=None, caught_exception=None)
    assert ThrottledRetryableChecker().is_retryable(context)


@pytest.mark.parametrize(("service", "protocol"), [(s, p) for s, p, _c, _st in PROTOCOLS])
def test_5xx_is_a_transient_error_for_botocore(service: str, protocol: str) -> None:
    parsed, status = _parsed(service, protocol, "5xx")
    assert status == 503 and parsed["Error"]["Code"] == "ServiceUnavailable"

    class Http:
        status_code = 503

    context = RetryContext(attempt_number=1, operation_model=None, parsed_response=parsed,
                           http_response=Http(), caught_exception=None)
    assert TransientRetryableChecker().is_retryable(context)


def test_control_routes_validate_bodies() -> None:
    faults = FaultState(REGIONS)
    FAULT_ROUTES["api"](faults, {"kind": "throttle", "service": "eks", "count": 3})
    assert faults.snapshot().api_faults[0].remaining == 3
    FAULT_ROUTES["api-clear"](faults, {})
    assert faults.snapshot().api_faults == ()
    for route, body in (("api", {"kind": "slow"}), ("api", {"kind": "5xx", "count": 0}),
                        ("kube-api", {"region": "us-east-1", "mode": "sometimes"}),
                        ("synthetic", {"region": "us-east-1", "http_status": "500"})):
        with pytest.raises(BadRequest):
            FAULT_ROUTES[route](faults, body)
    FAULT_ROUTES["nodes"](faults, {"region": "us-east-1"})
    FAULT_ROUTES["nodegroup-update"](faults, {})
    FAULT_ROUTES["route53-change"](faults, {"stuck": True})
    snapshot = faults.snapshot()
    assert snapshot.region("us-east-1").nodes_not_ready
    assert snapshot.nodegroup_update_fails and snapshot.route53_change_stuck


@pytest.mark.parametrize("command", ["api", "api-clear", "kube-api", "nodes",
                                     "nodegroup-update", "route53-change", "synthetic"])
def test_every_new_fault_command_has_help(command: str) -> None:
    result = CliRunner().invoke(sim_group, ["fault", command, "--help"], obj={})
    assert result.exit_code == 0 and len(result.output.split("Options:")[0]) > 60


def test_a_burst_of_zero_calls_is_bad_usage() -> None:
    result = CliRunner().invoke(sim_group, ["fault", "--control-url", "http://127.0.0.1:9",
                                            "api", "--kind", "throttle", "--count", "0"],
                                obj={})
    assert result.exit_code == 2 and "--count" in result.output
