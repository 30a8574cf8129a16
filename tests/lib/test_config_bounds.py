"""Config bounds and bad input (issue 13 items 12 and 13), at library level.

Namespace never ``default`` nor ``kube-*``; replicas and node group sizes at most 1000; the
lease TTL from 15 s to 1 h; NaN and infinity refused under any key; TOML deeper than 100
levels or larger than 1 MiB refused before it is parsed deeply. Each refusal is one
``ConfigError`` line naming the file and the key.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from maip_drlib import config_loader
from maip_drlib.config_file import bounds
from maip_drlib.config_loader import MAX_CONFIG_BYTES, load_config
from maip_drlib.errors import ConfigError

pytestmark = pytest.mark.unit


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str, *culprits: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and message.isprintable(), message
    assert caught.value.exit_code == 2
    assert all(culprit in message for culprit in culprits), message
    return message


# -- namespace -------------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease",
                                       "kube-anything", "default"])
def test_reserved_namespaces_are_refused(tmp_path: Path, namespace: str) -> None:
    refused(tmp_path, f"[topology]\nnamespace = '{namespace}'\n", "topology.namespace",
            f"'{namespace}' is refused", "default or kube-*")


@pytest.mark.parametrize("namespace", ["Maip", "maip_services", "-maip", "maip-", "a" * 64,
                                       "maip services", "ns\u00e9"])
def test_a_namespace_kubernetes_would_reject_is_refused(tmp_path: Path, namespace: str) -> None:
    refused(tmp_path, f"[topology]\nnamespace = '{namespace}'\n", "topology.namespace",
            "Kubernetes namespace name")


@pytest.mark.parametrize("namespace", ["maip-services", "payments", "kube", "kubex", "a" * 63,
                                       "my-kube-apps"])
def test_ordinary_namespaces_load(tmp_path: Path, namespace: str) -> None:
    config = load_config(write(tmp_path, f"[topology]\nnamespace = '{namespace}'\n"))
    assert config.topology.namespace == namespace


# -- replicas and node group sizes -----------------------------------------------------------------

def test_failover_replicas_at_most_1000(tmp_path: Path) -> None:
    refused(tmp_path, "[topology]\nfailover_replicas = 1000001\n",
            "topology.failover_replicas", "<= 1000", "1000001")
    config = load_config(write(tmp_path, "[topology]\nfailover_replicas = 1000\n"))
    assert config.topology.failover_replicas == 1000


@pytest.mark.parametrize("key", ["[topology]\nfailover_scaling",
                                 "[topology.primary]\nstandby_scaling",
                                 "[topology.secondary]\nstandby_scaling"])
@pytest.mark.parametrize("size", ["min_size", "desired_size", "max_size"])
def test_node_group_sizes_at_most_1000(tmp_path: Path, key: str, size: str) -> None:
    values = {"min_size": 1, "desired_size": 2, "max_size": 3}
    values[size] = 1001
    table = ", ".join(f"{name} = {value}" for name, value in values.items())
    dotted = key.replace("[", "").replace("]\n", ".")
    refused(tmp_path, f"{key} = {{ {table} }}\n", f"{dotted}.{size}", "<= 1000")


def test_node_group_of_1000_loads(tmp_path: Path) -> None:
    text = ("[topology]\nfailover_scaling = { min_size = 1000, max_size = 1000, "
            "desired_size = 1000 }\n")
    assert load_config(write(tmp_path, text)).topology.failover_scaling.max_size == 1000


# -- lease TTL -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["14.999", "1", "3600.001", "86400", "1e12"])
def test_lease_ttl_from_15_s_to_1_h(tmp_path: Path, value: str) -> None:
    refused(tmp_path, f"[topology]\nlease_ttl_s = {value}\n", "topology.lease_ttl_s",
            "from 15 to 3600")


@pytest.mark.parametrize("value", ["15", "60", "3600", "900.5"])
def test_lease_ttl_bounds_are_inclusive(tmp_path: Path, value: str) -> None:
    config = load_config(write(tmp_path, f"[topology]\nlease_ttl_s = {value}\n"))
    assert config.topology.lease_ttl_s == float(value)


# -- NaN and infinity anywhere ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("[targets.e]\nkind = 'embedded'\ntime_scale = nan\n", "targets.e.time_scale"),
    ("[targets.e]\nkind = 'embedded'\ntime_scale = inf\n", "targets.e.time_scale"),
    ("[topology]\nlease_ttl_s = +inf\n", "topology.lease_ttl_s"),
    ("[topology]\nlease_ttl_s = -nan\n", "topology.lease_ttl_s"),
    ("[targets.p]\nkind = 'live'\n[targets.p.database]\nconnect_timeout_s = inf\n",
     "targets.p.database.connect_timeout_s"),
    ("[topology]\nfailover_replicas = nan\n", "topology.failover_replicas"),
    ("colour = { shades = [1.0, 2.0, -inf] }\n", "colour.shades[2]"),  # unknown keys too
])
def test_nan_and_infinity_are_refused_naming_the_key(tmp_path: Path, text: str,
                                                     key: str) -> None:
    refused(tmp_path, text, f": {key}: expected a finite number, got")


# -- depth and size, before parsing deeply ---------------------------------------------------------

@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{a = ", "}")])
@pytest.mark.parametrize("levels", [101, 100_000])
def test_nesting_deeper_than_100_is_refused_before_parsing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: str, closer: str,
        levels: int) -> None:
    parsed: list[str] = []
    monkeypatch.setattr(config_loader.tomllib, "loads", parsed.append)
    inner = "1" if opener != "[" else ""
    refused(tmp_path, "x = " + opener * levels + inner + closer * levels + "\n",
            "nested deeper than 100 levels", "refused before parsing")
    assert parsed == []  # tomllib never saw it (it recurses once per level)


def test_100_levels_parse(tmp_path: Path) -> None:
    """The bound itself parses: the refusal that follows is the schema's (an unknown key)."""
    refused(tmp_path, "x = " + "[" * 100 + "]" * 100 + "\n", "x: unknown key")


def test_deep_dotted_keys_are_refused_after_parsing_without_recursion(tmp_path: Path) -> None:
    limit = sys.getrecursionlimit()
    header = "[" + ".".join(["t"] * (limit + 10)) + "]\nvalue = 1\n"
    refused(tmp_path, header, ": t: TOML nested deeper than 100 levels")


@pytest.mark.parametrize("text", [
    'a = "' + "[" * 500 + '"\n',
    "a = '''\n" + "{" * 500 + "\n'''\n",
    'a = """\\"""' + "[" * 500 + '"""\n',
    "a = 1 # " + "[" * 500 + "\n",
])
def test_brackets_in_strings_and_comments_do_not_count(tmp_path: Path, text: str) -> None:
    refused(tmp_path, text, "a: unknown key")  # parsed: the schema's refusal, not depth
    assert bounds.bracket_depth(text) <= 1


def test_a_file_larger_than_1_mib_is_refused_unparsed(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    monkeypatch.setattr(config_loader.tomllib, "loads", parsed.append)
    refused(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n", "larger than 1 MiB")
    assert parsed == []


def test_a_file_of_exactly_1_mib_is_read(tmp_path: Path) -> None:
    padding = MAX_CONFIG_BYTES - len("# \n")
    path = write(tmp_path, "# " + "x" * padding + "\n")
    assert path.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(path).targets == {}
