"""A live region naming ``role_arn`` signs with the assumed role (issue 14 item 7), against
moto's STS: session name ``maip-dr-<drill id>``, the region's own STS endpoint, a refresh
before expiry (botocore's clock injected), EKS tokens signed again when the credentials
change, and a different role (account) per region."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from maip_drlib.assumed_role import assumed_role_session, role_session_name
from maip_drlib.config import RegionConnection, Target
from maip_drlib.eks_token import EksTokenProvider, decode_token
from maip_drlib.regions import LIVE_POLICY, build_region_handles

pytestmark = pytest.mark.sim

PRIMARY_ROLE = "arn:aws:iam::111122223333:role/maip-dr"
DR_ROLE = "arn:aws:iam::444455556666:role/maip-dr"


@pytest.fixture
def endpoint(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5).raise_for_status()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the "default chain" of the test
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return moto_endpoint


def _live(endpoint: str) -> Target:
    return Target(
        name="prod", kind="live",
        primary=RegionConnection("us-east-1", "p", endpoint_url=endpoint, role_arn=PRIMARY_ROLE,
                                 external_id="maip-42"),
        secondary=RegionConnection("us-west-2", "s", endpoint_url=endpoint, role_arn=DR_ROLE))


def test_session_name_is_the_drill_id_within_stss_rules() -> None:
    assert role_session_name("gameday-20250101T000000Z") == "maip-dr-gameday-20250101T000000Z"
    assert role_session_name(None) == "maip-dr-cli"
    long = role_session_name("d" * 100 + " x/y")
    assert len(long) == 64 and long.startswith("maip-dr-ddd")
    assert role_session_name("a b:c") == "maip-dr-a-b-c"


def test_each_region_signs_as_its_own_assumed_role(endpoint: str) -> None:
    handles = build_region_handles(_live(endpoint), session_name=role_session_name("drill-7"))
    try:
        primary = handles.primary.client("sts").get_caller_identity()
        dr = handles.secondary.client("sts").get_caller_identity()
    finally:
        handles.close()
    assert primary["Arn"] == "arn:aws:sts::111122223333:assumed-role/maip-dr/maip-dr-drill-7"
    assert dr["Arn"] == "arn:aws:sts::444455556666:assumed-role/maip-dr/maip-dr-drill-7"
    assert primary["Account"] != dr["Account"]


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_credentials_are_assumed_again_before_expiry_and_eks_tokens_follow(
        endpoint: str) -> None:
    import boto3

    calls: list[dict[str, Any]] = []
    base = boto3.Session(region_name="us-west-2")
    base.events.register("provide-client-params.sts.AssumeRole",
                         lambda params, **_: calls.append(dict(params)))
    clock = _Clock()
    connection = RegionConnection("us-west-2", "s", endpoint_url=endpoint, role_arn=DR_ROLE,
                                  external_id="maip-42")
    session = assumed_role_session(base, connection, "maip-dr-long", LIVE_POLICY
                                   .botocore_config(), time_fetcher=clock)
    assert calls == []  # deferred: nothing assumed before the first signed call
    first = session.get_credentials().get_frozen_credentials().access_key
    provider = EksTokenProvider(session, "maip-prod-dr-eks-cluster", "us-west-2",
                                sts_endpoint_url=endpoint)
    token = provider.token()
    assert "X-Amz-Credential=" + first in decode_token(token)
    assert provider.token() == token  # same credentials, token cached
    assert len(calls) == 1
    assert calls[0]["RoleSessionName"] == "maip-dr-long" and calls[0]["ExternalId"] == "maip-42"
    clock.now += timedelta(minutes=50)  # moto's default: 1 h; botocore refreshes at 15 min
    second = session.get_credentials().get_frozen_credentials().access_key
    # moto dates the new credentials from the real clock: back to it, they have an hour.
    clock.now -= timedelta(minutes=50)
    renewed = provider.token()
    assert len(calls) == 2 and second != first
    assert renewed != token and "X-Amz-Credential=" + second in decode_token(renewed)


def test_a_simulated_target_never_assumes_a_role(endpoint: str) -> None:
    target = Target(name="s", kind="sim",
                    primary=RegionConnection("us-east-1", "p", endpoint_url=endpoint,
                                             role_arn=PRIMARY_ROLE),
                    secondary=RegionConnection("us-west-2", "s", endpoint_url=endpoint))
    handles = build_region_handles(target)
    try:
        assert "assumed-role" not in handles.primary.client("sts").get_caller_identity()["Arn"]
    finally:
        handles.close()
