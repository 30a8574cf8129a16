"""Property: any document fed to ``load_config`` either loads a valid ``Config`` or raises
one single-line ``ConfigError`` naming the file; nothing else escapes.

Documents are generated near the schema (known keys, kinds, regions, loopback and other URLs,
numbers around zero and around the bounds, reserved namespaces, existing and missing files,
valid, broken, non-loopback and exec-plugin kubeconfigs) mixed with arbitrary keys and values,
and also as arbitrary text. A loaded ``sim`` target must reach loopback only. The ``ci``
profile (the default here) runs a fixed, derandomized 300 examples per property; set
``HYPOTHESIS_PROFILE=dev`` for a random exploration.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maip_drlib.config import (
    LEASE_TTL_MAX_S,
    LEASE_TTL_MIN_S,
    MAX_NODEGROUP_SIZE,
    MAX_REPLICAS,
    Config,
)
from maip_drlib.config_loader import describe_config, load_config
from maip_drlib.dns_answers import parse_nameserver
from maip_drlib.errors import ConfigError
from maip_drlib.kubeconfig_check import loopback_problem, read_kubeconfig
from maip_drlib.loopback import is_loopback_url

pytestmark = pytest.mark.unit

settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=2000, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# -- a minimal TOML writer (inline tables; JSON string escaping is a subset of TOML's) ---------


def _string(text: str) -> str:
    return json.dumps(text).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(document: dict[str, Any]) -> str:
    return "".join(f"{_string(key)} = {_value(value)}\n" for key, value in document.items())


# -- strategies ----------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(st.booleans(), st.integers(-3, 30), st.floats(allow_nan=True), TEXT)
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)), max_leaves=6)
URLS = st.one_of(
    st.sampled_from(["http://127.0.0.1:5000", "https://localhost:8443", "http://[::1]:9",
                     "http://10.0.0.5:80", "https://api.example.com", "not a url", "ftp://x",
                     "http://127.0.0.1:0", "http://", "http://127.0.0.1:99999"]),
    TEXT)
NUMBERS = st.one_of(st.integers(-2, 25), st.floats(-1.0, 5.0), st.sampled_from(
    [0, 0.0, -0.0, math.inf, math.nan, "1", 15, 14.99, 3600, 3600.01, 1000, 1001, 10**12]))
NAMESERVERS = st.one_of(st.lists(st.one_of(st.sampled_from(
    ["127.0.0.1:5353", "127.0.0.1", "[::1]:53", "10.0.0.2", "10.0.0.2:99999", "dns.example",
     "127.0.0.1:", "[::1", ""]), TEXT), max_size=3), JUNK)
FILES = st.sampled_from(["kube.yaml", "broken.yaml", "ca.pem", "missing.pem", "", "~",
                         "x" * 300, "a\x00b", "remote.yaml", "exec.yaml"])
NAMESPACES = st.one_of(st.sampled_from(["maip-services", "kube-system", "kube-x", "default",
                                        "Upper", "-dash", "a" * 64]), TEXT, JUNK)


def maybe(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda value: {key: value}))


def merged(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})


SCALING = merged(maybe("min_size", NUMBERS), maybe("max_size", NUMBERS),
                 maybe("desired_size", NUMBERS), maybe("other", JUNK))
REGION_TOPOLOGY = merged(maybe("region", st.sampled_from(["us-east-1", "us-west-2", "x"])),
                         maybe("kube_context", st.one_of(st.just("maip-prod"), TEXT)),
                         maybe("eks_cluster", TEXT), maybe("standby_scaling", SCALING),
                         maybe("surprise", JUNK))
TOPOLOGY = merged(maybe("namespace", NAMESPACES),
                  maybe("failover_scaling", st.one_of(SCALING, JUNK)),
                  maybe("failover_replicas", NUMBERS),
                  maybe("hosted_zone", TEXT), maybe("health_path", st.one_of(
                      st.just("/health"), TEXT)),
                  maybe("lease_table", st.one_of(TEXT, JUNK)),
                  maybe("lease_ttl_s", NUMBERS),
                  maybe("primary", st.one_of(REGION_TOPOLOGY, JUNK)),
                  maybe("secondary", REGION_TOPOLOGY), maybe("unknown", JUNK))
CONNECTION = merged(maybe("endpoint_url", URLS), maybe("profile", st.one_of(TEXT, JUNK)),
                    maybe("kube_context", st.sampled_from(["maip-prod", "maip-prod-dr",
                                                           "absent"])),
                    maybe("kubeconfig", FILES), maybe("colour", JUNK))
REGIONS = st.dictionaries(st.sampled_from(["us-east-1", "us-west-2", "eu-west-1", ""]),
                          st.one_of(CONNECTION, JUNK), max_size=3)
TARGET = merged(maybe("kind", st.one_of(st.sampled_from(["embedded", "sim", "live", "cloud"]),
                                        JUNK)),
                maybe("public_endpoint_url", URLS), maybe("control_url", URLS),
                maybe("ca_bundle", FILES), maybe("time_scale", NUMBERS),
                maybe("dns_nameservers", NAMESERVERS),
                maybe("regions", st.one_of(REGIONS, JUNK)), maybe("extra", JUNK))
TARGET_NAMES = st.one_of(st.sampled_from(["prod", "sim", "a.b", "x y"]), TEXT)
DOCUMENTS = merged(maybe("topology", st.one_of(TOPOLOGY, JUNK)),
                   maybe("targets", st.one_of(st.dictionaries(TARGET_NAMES, st.one_of(
                       TARGET, JUNK), max_size=3), JUNK)),
                   maybe("default_target", st.one_of(TARGET_NAMES, JUNK)),
                   maybe("stray", JUNK))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("hypothesis-config")
    contexts = ("contexts:\n- name: maip-prod\n  context: {cluster: c, user: u}\n"
                "- name: maip-prod-dr\n  context: {cluster: c, user: u}\n")
    (path / "kube.yaml").write_text(
        "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:6443'}\n"
        "users:\n- name: u\n  user: {token: t}\n" + contexts)
    (path / "remote.yaml").write_text(
        "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://10.0.0.1'}\n"
        "users:\n- name: u\n  user: {token: t}\n" + contexts)
    (path / "exec.yaml").write_text(
        "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
        "users:\n- name: u\n  user: {exec: {command: aws}}\n" + contexts)
    (path / "broken.yaml").write_text("contexts: [unclosed\n")
    (path / "ca.pem").write_text("not parsed by the loader\n")
    yield path


def check(path: Path) -> Config | None:
    """Load ``path``: a valid Config, or one ConfigError line naming the file."""
    try:
        config = load_config(path)
    except ConfigError as error:
        message = str(error)
        assert message.startswith(str(path)), message
        assert message.isprintable(), repr(message)  # one line: no newline, no control char
        return None
    describe_config(config)  # renders every loaded config
    for target in config.targets.values():
        if target.kind == "sim":
            assert target.control_url and is_loopback_url(target.control_url)
            assert all(c.endpoint_url and is_loopback_url(c.endpoint_url)
                       for c in target.connections)
            assert all(is_loopback_url(f"http://{ns}") for ns in target.dns_nameservers)
            for connection in target.connections:  # a kubeconfig reaching loopback only
                assert connection.kubeconfig is not None
                document = read_kubeconfig(connection.kubeconfig, key="kubeconfig")
                assert loopback_problem(document, connection.kube_context) is None
        for nameserver in target.dns_nameservers:  # normalised: ADDRESS:PORT
            assert parse_nameserver(nameserver) == parse_nameserver(nameserver, default_port=1)
        if target.time_scale is not None:
            assert target.time_scale > 0 and math.isfinite(target.time_scale)
    topology = config.topology
    assert LEASE_TTL_MIN_S <= topology.lease_ttl_s <= LEASE_TTL_MAX_S
    assert 1 <= topology.failover_replicas <= MAX_REPLICAS
    assert not topology.namespace.startswith("kube-") and topology.namespace != "default"
    for scaling in (topology.failover_scaling, topology.primary.standby_scaling,
                    topology.secondary.standby_scaling):
        assert not scaling.problems() and scaling.max_size <= MAX_NODEGROUP_SIZE
    assert config.default_target is None or config.default_target in config.targets
    return config


@settings.get_profile(PROFILE)
@given(document=DOCUMENTS)
@example(document={"targets": {"\x1f": False}})  # found by the dev profile: control characters
@example(document={"topology": {"a\nb": 1}})      # in keys made multi-line messages
@example(document={"targets": {"prod": {"kind": "live", "ca_bundle": "x" * 300}}})
def test_generated_documents_load_or_raise_config_error(folder: Path,
                                                        document: dict[str, Any]) -> None:
    path = folder / "generated.toml"
    path.write_text(to_toml(document), encoding="utf-8")
    check(path)


@settings.get_profile(PROFILE)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(
    lambda raw: raw.decode("latin-1"))), raw=st.booleans())
def test_arbitrary_text_loads_or_raises_config_error(folder: Path, text: str,
                                                     raw: bool) -> None:
    path = folder / "arbitrary.toml"
    if raw:
        path.write_bytes(text.encode("latin-1", "replace"))
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(path)


def test_the_generator_reaches_valid_configs(folder: Path) -> None:
    """The strategy is not only noise: a document it can produce loads."""
    document = {"targets": {"sim": {"kind": "sim", "control_url": "http://127.0.0.1:5000",
                                    "dns_nameservers": ["127.0.0.1"],
                                    "regions": {"us-east-1": {"endpoint_url": "http://127.0.0.1:5000",
                                                              "kubeconfig": "kube.yaml"},
                                                "us-west-2": {"endpoint_url": "http://[::1]:9",
                                                              "kubeconfig": "kube.yaml"}}}},
                "topology": {"lease_ttl_s": 15, "namespace": "payments"}}
    path = folder / "valid.toml"
    path.write_text(to_toml(document))
    config = check(path)
    assert config is not None and config.target("sim").primary.kubeconfig == folder / "kube.yaml"
    assert config.target("sim").dns_nameservers == ("127.0.0.1:53",)
