from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml

from maip_drlib.config import RegionConnection, Target, Topology
from maip_drlib.errors import ConfigError
from maip_drlib.regions import RegionHandle, build_region_handles

pytestmark = pytest.mark.sim


def kubeconfig(tmp_path: Path, *, exec_user: bool = False) -> Path:
    user: dict = {"token": "static-test-token"}
    if exec_user:
        user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                         "args": ["--region", "us-west-2", "eks", "get-token", "--cluster-name",
                                  "maip-prod-dr-eks-cluster"]}}
    document = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443",
                                                "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "maip-prod-dr", "context": {"cluster": "c", "user": "u"}},
                     {"name": "maip-prod", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "maip-prod",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


def target(kind: str, path: Path | None = None, endpoint: str | None = "http://127.0.0.1:5999"):
    return Target(
        name="t", kind=kind,  # type: ignore[arg-type]
        primary=RegionConnection("us-east-1", "maip-prod", endpoint_url=endpoint, kubeconfig=path),
        secondary=RegionConnection("us-west-2", "maip-prod-dr", endpoint_url=endpoint,
                                   kubeconfig=path),
    )


def test_sim_clients_get_endpoint_dummy_keys_and_small_retries():
    handles = build_region_handles(target("sim"))
    ec2 = handles.secondary.client("rds")
    assert ec2 is handles.secondary.client("rds")
    assert ec2.meta.endpoint_url == "http://127.0.0.1:5999"
    assert ec2.meta.region_name == "us-west-2"
    assert ec2.meta.config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert ec2.meta.config.connect_timeout == 2 and ec2.meta.config.read_timeout == 5
    credentials = handles.secondary.session.get_credentials()
    assert credentials.access_key == "testing"
    assert [handle.region for handle in handles] == ["us-east-1", "us-west-2"]
    assert handles.by_name("us-west-2") is handles.secondary


@pytest.mark.parametrize("service", ["route53", "iam"])
def test_global_services_sign_for_us_east_1(service):
    handles = build_region_handles(target("sim"))
    assert handles.secondary.client(service).meta.region_name == "us-east-1"


def test_sts_signs_for_the_handles_own_region():
    handles = build_region_handles(target("live", endpoint=None))
    for handle in handles:
        sts = handle.client("sts")
        assert sts.meta.region_name == handle.region
    assert handles.secondary.client("sts").meta.endpoint_url == (
        "https://sts.us-west-2.amazonaws.com")


def test_live_policy_has_more_attempts_and_longer_timeouts():
    handle = RegionHandle(RegionConnection("us-west-2", "x", endpoint_url=None),
                          target_name="live", simulated=False)
    client = handle.client("eks")
    assert client.meta.config.retries["total_max_attempts"] == 5
    assert client.meta.config.read_timeout == 15
    assert handle.kube_request_timeout == (5, 15)


def test_kube_client_from_context_with_retries(tmp_path):
    handles = build_region_handles(target("sim", kubeconfig(tmp_path)))
    api_client = handles.secondary.api_client
    assert api_client is handles.secondary.api_client
    assert api_client.configuration.host == "https://127.0.0.1:6443"
    assert api_client.configuration.retries == 1
    assert api_client.configuration.get_api_key_with_prefix("BearerToken") == (
        "Bearer static-test-token"
    )
    handles.close()


def test_missing_kube_context_is_config_error(tmp_path):
    path = kubeconfig(tmp_path)
    handle = RegionHandle(RegionConnection("us-west-2", "nope", kubeconfig=path),
                          target_name="t", simulated=True)
    with pytest.raises(ConfigError, match="'nope' not found"):
        _ = handle.api_client


def test_unreadable_kubeconfig_is_config_error(tmp_path):
    handle = RegionHandle(RegionConnection("us-west-2", "x", kubeconfig=tmp_path / "absent"),
                          target_name="t", simulated=True)
    with pytest.raises(ConfigError, match="cannot read kubeconfig"):
        _ = handle.api_client


def test_live_eks_exec_user_gets_refreshing_token_provider(tmp_path):
    handles = build_region_handles(target("live", kubeconfig(tmp_path, exec_user=True),
                                          endpoint=None), Topology())
    handle = handles.secondary
    handle.session = boto3.Session(aws_access_key_id="AKIDEXAMPLE",
                                   aws_secret_access_key="dummy", region_name="us-west-2")
    configuration = handle.api_client.configuration
    assert handle.token_provider is not None
    assert handle.token_provider.cluster_name == "maip-prod-dr-eks-cluster"
    assert configuration.refresh_api_key_hook is not None
    assert configuration.get_api_key_with_prefix("BearerToken").startswith("Bearer k8s-aws-v1.")
