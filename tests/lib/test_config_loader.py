from __future__ import annotations

import os
from pathlib import Path

import pytest

from maip_drlib.config import Topology, simulation_topology
from maip_drlib.config_loader import default_config, describe_config, load_config
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit

FULL = """
default_target = "prod"

[topology]
namespace = "payments"
failover_replicas = 6
failover_scaling = { min_size = 2, max_size = 10, desired_size = 5 }
hosted_zone = "maip.example.org"

[topology.secondary]
eks_cluster = "dr-cluster"
standby_scaling = { min_size = 0, max_size = 3, desired_size = 1 }

[targets.prod]
kind = "live"
public_endpoint_url = "https://api.maip.example.com"
ca_bundle = "ca.pem"

[targets.prod.regions.us-east-1]
profile = "maip-prod"
kubeconfig = "kube/config"

[targets.prod.regions.us-west-2]
profile = "maip-prod-dr"
kube_context = "dr"

[targets.practice]
kind = "sim"
control_url = "http://127.0.0.1:8999"
time_scale = 0.5

[targets.practice.regions.us-east-1]
endpoint_url = "http://127.0.0.1:5000"
kubeconfig = "kube/config"

[targets.practice.regions.us-west-2]
endpoint_url = "http://localhost:5000"
kubeconfig = "kube/config"
kube_context = "dr"

[targets.local]
kind = "embedded"
time_scale = 1
"""


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: placeholder}
contexts:
- name: maip-prod
  context: {cluster: c, user: u}
- name: dr
  context: {cluster: c, user: u}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "kube").mkdir()
    (tmp_path / "kube" / "config").write_text(KUBECONFIG)
    (tmp_path / "ca.pem").write_text("not checked here\n")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "maip-dr.toml"
    path.write_text(text)
    return path


def error_of(folder: Path, text: str) -> str:
    path = write(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_none_gives_defaults():
    config = load_config(None)
    assert config == default_config()
    # without a config file only simulated targets exist: the runbook's topology with the
    # simulation's KMS key in each region (the simulated writer is encrypted)
    assert config.topology == simulation_topology(Topology())
    assert config.topology.primary.kms_key_id == "alias/maip-rds"
    assert Topology().primary.kms_key_id is None
    assert config.targets == {}


def test_valid_full_file(folder: Path):
    config = load_config(write(folder, FULL))
    assert config.default_target == "prod"
    assert config.topology.namespace == "payments"
    assert config.topology.failover_replicas == 6
    assert config.topology.failover_scaling.desired_size == 5
    assert config.topology.hosted_zone == "maip.example.org."
    assert config.topology.secondary.eks_cluster == "dr-cluster"
    assert config.topology.secondary.nodegroup == "maip-prod-dr-nodegroup"
    prod = config.target("prod")
    assert prod.kind == "live"
    assert prod.primary.profile == "maip-prod"
    assert prod.primary.kube_context == "maip-prod"
    assert prod.secondary.kube_context == "dr"
    assert prod.ca_bundle == folder / "ca.pem"
    practice = config.target("practice")
    assert practice.simulated and practice.time_scale == 0.5
    assert practice.primary.endpoint_url == "http://127.0.0.1:5000"
    assert practice.primary.profile is None
    local = config.target("local")
    assert local.kind == "embedded" and local.primary.endpoint_url is None
    text = describe_config(config)
    assert "prod: kind=live" in text and "maip-prod-dr" in text


def test_relative_kubeconfig_resolved_against_config_folder(folder: Path):
    config = load_config(write(folder, FULL))
    assert config.target("prod").primary.kubeconfig == folder / "kube" / "config"


def test_malformed_toml_names_line(folder: Path):
    message = error_of(folder, "[targets\nkind = 1\n")
    assert "malformed TOML" in message and "line 1" in message


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("text", "key", "expectation"),
    [
        ("colour = 1\n", "colour", "unknown key"),
        ("[topology]\nnamespaces = 'x'\n", "topology.namespaces", "unknown key"),
        ("[topology.primary]\nfoo = 'x'\n", "topology.primary.foo", "unknown key"),
        ("[topology]\nfailover_scaling = { min_size = 1, max_size = 2, desired_size = 1, x = 1 }\n",
         "topology.failover_scaling.x", "unknown key"),
        ("[targets.p]\nkind = 'live'\nfoo = 1\n", "targets.p.foo", "unknown key"),
        ("[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\nprofile = 'a'\nzone = 1\n"
         "[targets.p.regions.us-west-2]\n", "targets.p.regions.us-east-1.zone", "unknown key"),
    ],
)
def test_unknown_keys_at_every_level(folder: Path, text: str, key: str, expectation: str):
    message = error_of(folder, text)
    assert key in message and expectation in message


def test_missing_kind(folder: Path):
    assert "targets.p.kind" in error_of(folder, "[targets.p]\npublic_endpoint_url = 'https://a'\n")


def test_unknown_kind(folder: Path):
    message = error_of(folder, "[targets.p]\nkind = 'staging'\n")
    assert "targets.p.kind" in message and "embedded, sim, live" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[topology]\nfailover_replicas = true\n", "topology.failover_replicas"),
        ("[topology]\nfailover_replicas = '4'\n", "topology.failover_replicas"),
        ("[topology]\nnamespace = 3\n", "topology.namespace"),
        ("[topology]\nfailover_scaling = { min_size = 1.5, max_size = 2, desired_size = 2 }\n",
         "topology.failover_scaling.min_size"),
        ("[topology]\nprimary = 'x'\n", "topology.primary"),
        ("[targets.p]\nkind = 'embedded'\ntime_scale = true\n", "targets.p.time_scale"),
    ],
)
def test_wrong_types_bool_is_not_int(folder: Path, text: str, key: str):
    message = error_of(folder, text)
    assert key in message and "expected" in message


def test_unknown_region(folder: Path):
    text = ("[targets.p]\nkind = 'live'\n[targets.p.regions.eu-west-1]\n"
            "[targets.p.regions.us-east-1]\n[targets.p.regions.us-west-2]\n")
    message = error_of(folder, text)
    assert "targets.p.regions.eu-west-1" in message and "unknown region" in message


def test_live_target_must_name_both_regions(folder: Path):
    message = error_of(folder, "[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\n")
    assert "targets.p.regions.us-west-2" in message and "missing" in message


def test_profile_only_for_live(folder: Path):
    text = ("[targets.s]\nkind = 'sim'\ncontrol_url = 'http://127.0.0.1:1'\n"
            "[targets.s.regions.us-east-1]\nendpoint_url = 'http://127.0.0.1:2'\nprofile = 'x'\n"
            "[targets.s.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:2'\n")
    assert "targets.s.regions.us-east-1.profile" in error_of(folder, text)


@pytest.mark.parametrize(
    "scaling",
    [
        "{ min_size = 5, max_size = 20, desired_size = 4 }",
        "{ min_size = 1, max_size = 2, desired_size = 3 }",
        "{ min_size = -1, max_size = 2, desired_size = 1 }",
    ],
)
def test_scaling_rule(folder: Path, scaling: str):
    message = error_of(folder, f"[topology]\nfailover_scaling = {scaling}\n")
    assert "topology.failover_scaling" in message


def test_scaling_missing_key(folder: Path):
    message = error_of(folder, "[topology]\nfailover_scaling = { min_size = 1, max_size = 2 }\n")
    assert "topology.failover_scaling.desired_size" in message and "missing" in message


@pytest.mark.parametrize("value", ["0", "-1.5"])
def test_time_scale_must_be_positive(folder: Path, value: str):
    message = error_of(folder, f"[targets.e]\nkind = 'embedded'\ntime_scale = {value}\n")
    assert "targets.e.time_scale" in message and "> 0" in message


def test_replicas_must_be_positive(folder: Path):
    assert "topology.failover_replicas" in error_of(folder, "[topology]\nfailover_replicas = 0\n")


def test_time_scale_not_for_live(folder: Path):
    text = ("[targets.p]\nkind = 'live'\ntime_scale = 1\n[targets.p.regions.us-east-1]\n"
            "[targets.p.regions.us-west-2]\n")
    assert "targets.p.time_scale" in error_of(folder, text)


SIM = ("[targets.s]\nkind = 'sim'\ncontrol_url = '{control}'\n"
       "[targets.s.regions.us-east-1]\nendpoint_url = '{endpoint}'\nkubeconfig = 'kube/config'\n"
       "[targets.s.regions.us-west-2]\nendpoint_url = 'http://127.0.0.1:2'\n"
       "kubeconfig = 'kube/config'\nkube_context = 'dr'\n")


@pytest.mark.parametrize("control", ["http://10.0.0.5:8999", "http://example.com:1",
                                     "https://169.254.169.254/"])
def test_control_url_must_be_loopback(folder: Path, control: str):
    message = error_of(folder, SIM.format(control=control, endpoint="http://127.0.0.1:2"))
    assert "targets.s.control_url" in message and "loopback" in message


@pytest.mark.parametrize("control", ["http://127.0.0.2:8999", "http://[::1]:9", "http://localhost"])
def test_loopback_control_urls_accepted(folder: Path, control: str):
    config = load_config(write(folder, SIM.format(control=control, endpoint="http://127.0.0.1:2")))
    assert config.target("s").control_url == control


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/", "http://", "127.0.0.1:5000",
                                 "http://127.0.0.1:99999"])
def test_url_that_is_not_a_url(folder: Path, url: str):
    message = error_of(folder, SIM.format(control="http://127.0.0.1:1", endpoint=url))
    assert "targets.s.regions.us-east-1.endpoint_url" in message and "URL" in message


def test_sim_needs_endpoint_urls(folder: Path):
    text = ("[targets.s]\nkind = 'sim'\ncontrol_url = 'http://127.0.0.1:1'\n"
            "[targets.s.regions.us-east-1]\n[targets.s.regions.us-west-2]\n")
    assert "targets.s.regions.us-east-1.endpoint_url" in error_of(folder, text)


def test_sim_needs_control_url(folder: Path):
    text = ("[targets.s]\nkind = 'sim'\n[targets.s.regions.us-east-1]\n"
            "endpoint_url = 'http://127.0.0.1:2'\n[targets.s.regions.us-west-2]\n"
            "endpoint_url = 'http://127.0.0.1:2'\n")
    assert "targets.s.control_url" in error_of(folder, text)


def test_embedded_has_no_endpoints(folder: Path):
    message = error_of(folder, "[targets.e]\nkind = 'embedded'\ncontrol_url = 'http://127.0.0.1:1'\n")
    assert "targets.e.control_url" in message and "embedded" in message


def test_missing_kubeconfig_file(folder: Path):
    text = ("[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\nkubeconfig = 'nope'\n"
            "[targets.p.regions.us-west-2]\n")
    assert "targets.p.regions.us-east-1.kubeconfig" in error_of(folder, text)


def test_default_target_must_exist(folder: Path):
    assert "default_target" in error_of(folder, "default_target = 'x'\n")


def test_topology_region_is_fixed(folder: Path):
    message = error_of(folder, "[topology.primary]\nregion = 'us-west-2'\n")
    assert "topology.primary.region" in message


LIVE_WITH_KUBECONFIG = (
    "[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\nkubeconfig = 'kube/config'\n"
    "{context}[targets.p.regions.us-west-2]\n")


def test_kube_context_missing_from_kubeconfig(folder: Path):
    message = error_of(folder, LIVE_WITH_KUBECONFIG.format(context="kube_context = 'other'\n"))
    assert "targets.p.regions.us-east-1.kube_context" in message
    assert "'other'" in message and "maip-prod" in message  # names what the file has


def test_default_kube_context_checked_too(folder: Path):
    (folder / "kube" / "config").write_text("apiVersion: v1\ncontexts: []\n")
    message = error_of(folder, LIVE_WITH_KUBECONFIG.format(context=""))
    assert "'maip-prod'" in message and "has: none" in message


@pytest.mark.parametrize("content, expected", [
    (b"contexts: [unclosed\n", "not valid YAML"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"- just\n- a list\n", "expected a YAML mapping"),
    (b"contexts: 3\n", "not a list"),
])
def test_unreadable_kubeconfig(folder: Path, content: bytes, expected: str):
    (folder / "kube" / "config").write_bytes(content)
    message = error_of(folder, LIVE_WITH_KUBECONFIG.format(context=""))
    assert "targets.p.regions.us-east-1.kubeconfig" in message and expected in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_kubeconfig_without_read_permission(folder: Path):
    path = folder / "kube" / "config"
    path.chmod(0)
    try:
        message = error_of(folder, LIVE_WITH_KUBECONFIG.format(context=""))
    finally:
        path.chmod(0o600)
    assert "cannot read kubeconfig" in message


@pytest.mark.parametrize("value", ["0", "-5", "inf", "nan", "'60'", "14.9", "3600.5", "1e12"])
def test_lease_ttl_must_be_a_finite_positive_number(folder: Path, value: str):
    message = error_of(folder, f"[topology]\nlease_ttl_s = {value}\n")
    assert "topology.lease_ttl_s" in message


def test_lease_settings_load_and_show(folder: Path):
    config = load_config(write(folder, "[topology]\nlease_table = 't'\nlease_ttl_s = 15\n"))
    assert config.topology.lease_table == "t" and config.topology.lease_ttl_s == 15.0
    assert "lease_ttl_s: 15.0" in describe_config(config)
    assert Topology().lease_table == "maip-dr-drill-lease" and Topology().lease_ttl_s == 60.0
