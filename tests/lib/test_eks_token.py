from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from maip_drlib.eks_token import EksTokenProvider, decode_token

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="dummy",
                         region_name="us-west-2")


def test_token_is_presigned_sts_url_with_cluster_header(session):
    provider = EksTokenProvider(session, "maip-prod-dr-eks-cluster", "us-west-2", clock=Clock())
    token = provider.token()
    assert token.startswith("k8s-aws-v1.")
    body = token[len("k8s-aws-v1."):]
    assert "=" not in body
    assert base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode() == decode_token(token)
    url = urlsplit(decode_token(token))
    query = parse_qs(url.query)
    assert url.scheme == "https" and url.hostname == "sts.us-west-2.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert "us-west-2/sts/aws4_request" in query["X-Amz-Credential"][0]
    assert "maip-prod-dr-eks-cluster" not in url.query  # a header, not a parameter


def test_token_cached_then_refreshed_a_minute_before_expiry(session):
    clock = Clock()
    provider = EksTokenProvider(session, "c", "us-east-1", clock=clock)
    first = provider.token()
    clock.now += 13 * 60
    assert provider.token() == first
    assert provider.expires_in_s == pytest.approx(120)
    clock.now += 61
    second = provider.token()
    assert second != first or provider.expires_in_s == pytest.approx(15 * 60)
    assert provider.expires_in_s == pytest.approx(15 * 60)


def test_repr_and_hook_never_expose_token_in_repr(session):
    provider = EksTokenProvider(session, "c", "us-east-1", clock=Clock())

    class FakeConfiguration:
        def __init__(self) -> None:
            self.api_key: dict[str, str] = {}
            self.api_key_prefix: dict[str, str] = {}
            self.refresh_api_key_hook = None

    configuration = FakeConfiguration()
    provider.install(configuration)
    assert configuration.api_key["BearerToken"].startswith("k8s-aws-v1.")
    assert configuration.api_key_prefix["BearerToken"] == "Bearer"
    assert "k8s-aws" not in repr(provider)
