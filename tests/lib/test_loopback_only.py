"""A simulated target reaches loopback only (issue 13 item 1, DESIGN.md 4a).

Checked when the config is loaded (one ``ConfigError`` naming the key) and again when a
simulated handle builds its Kubernetes client (``maip_drlib.regions``): both call
``kubeconfig_check.loopback_problem``. The writers of the suite's own kubeconfigs (the
embedded simulation, ``sim up --config-out``) produce files that pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from maip_drlib.config import RegionConnection, Target
from maip_drlib.config_loader import load_config
from maip_drlib.errors import ConfigError
from maip_drlib.kubeconfig_check import loopback_problem
from maip_drlib.loopback import is_loopback_url
from maip_drlib.regions import RegionHandle, build_region_handles
from maip_drlib.sim.kube.kubeconfig import KubeContextSpec, kubeconfig_dict

pytestmark = pytest.mark.sim

LOOPBACK = "https://127.0.0.1:6443"
PRODUCTION = "https://10.0.0.1:443"


def document(server: Any = LOOPBACK, user: dict[str, Any] | None = None,
             **cluster: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "u", "user": user if user is not None else {"token": "t"}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}}
                     for name in ("maip-prod", "maip-prod-dr")],
    }


def write(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


# -- the shared inspection ------------------------------------------------------------------------

@pytest.mark.parametrize("server", [LOOPBACK, "http://127.0.0.2:8080", "https://[::1]:6443",
                                    "https://localhost:6443"])
def test_loopback_servers_pass(server: str) -> None:
    assert loopback_problem(document(server), "maip-prod") is None


@pytest.mark.parametrize(("content", "expected"), [
    (document(PRODUCTION), "not a loopback"),
    (document("https://localhost.example.com"), "not a loopback"),
    (document("https://127.0.0.1@prod.example.com"), "not a loopback"),
    (document("unix:///var/run/k8s.sock"), "not a loopback"),
    (document(None), "server None"),
    (document(LOOPBACK, **{"proxy-url": "http://proxy.corp:3128"}), "proxy-url"),
    (document(LOOPBACK, user={"exec": {"command": "aws", "args": ["eks", "get-token"]}}),
     "exec credential plugin ('aws')"),
    (document(LOOPBACK, user={"auth-provider": {"name": "oidc"}}), "auth-provider 'oidc'"),
    ({"contexts": [{"name": "maip-prod", "context": {"cluster": "gone"}}]}, "'gone'"),
    ({"contexts": [{"name": "maip-prod"}]}, "no cluster"),
    ({"contexts": []}, "not in the kubeconfig"),
])
def test_what_reaches_beyond_loopback_is_named(content: dict[str, Any], expected: str) -> None:
    problem = loopback_problem(content, "maip-prod")
    assert problem is not None and expected in problem and "maip-prod" in problem


def test_a_duplicate_entry_is_checked_too() -> None:
    content = document()
    content["clusters"].append({"name": "c", "cluster": {"server": PRODUCTION}})
    assert "not a loopback" in (loopback_problem(content, "maip-prod") or "")


def test_a_loopback_proxy_is_accepted() -> None:
    content = document(LOOPBACK, **{"proxy-url": "http://127.0.0.1:3128"})
    assert loopback_problem(content, "maip-prod") is None


# -- at load time --------------------------------------------------------------------------------

def sim_toml(folder: Path, *, kubeconfig: str | None = "kube.yaml", extra: str = "") -> Path:
    lines = ["[targets.s]", "kind = 'sim'", "control_url = 'http://127.0.0.1:1'", extra]
    for region in ("us-east-1", "us-west-2"):
        lines += [f"[targets.s.regions.{region}]", "endpoint_url = 'http://127.0.0.1:1'"]
        if kubeconfig is not None:
            lines.append(f"kubeconfig = '{kubeconfig}'")
    path = folder / "c.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    assert caught.value.exit_code == 2
    return message


def test_a_sim_target_must_name_a_kubeconfig(tmp_path: Path) -> None:
    message = load_error(sim_toml(tmp_path, kubeconfig=None))
    assert "targets.s.regions.us-east-1.kubeconfig: missing required key" in message
    assert "~/.kube/config" in message


@pytest.mark.parametrize(("content", "expected"), [
    (document(PRODUCTION), "'https://10.0.0.1:443', not a loopback"),
    (document(LOOPBACK, user={"exec": {"command": "aws"}}), "exec credential plugin"),
    (document(LOOPBACK, user={"auth-provider": {"name": "gcp"}}), "auth-provider 'gcp'"),
])
def test_a_sim_kubeconfig_reaching_beyond_loopback_is_refused(tmp_path: Path,
                                                             content: dict[str, Any],
                                                             expected: str) -> None:
    write(tmp_path / "kube.yaml", content)
    message = load_error(sim_toml(tmp_path))
    assert "targets.s.regions.us-east-1.kubeconfig" in message and expected in message


def test_a_control_character_in_the_server_stays_one_line(tmp_path: Path) -> None:
    write(tmp_path / "kube.yaml", document("https://10.0.0.1\n\x1b[31m"))
    assert "\\n" in load_error(sim_toml(tmp_path))


def test_a_live_target_may_use_any_cluster(tmp_path: Path) -> None:
    """Production is reached by live targets: only sim targets are held to loopback."""
    write(tmp_path / "kube.yaml", document(PRODUCTION, user={"exec": {"command": "aws"}}))
    path = tmp_path / "live.toml"
    path.write_text("[targets.p]\nkind = 'live'\n[targets.p.regions.us-east-1]\n"
                    "kubeconfig = 'kube.yaml'\n[targets.p.regions.us-west-2]\n")
    assert load_config(path).target("p").primary.kubeconfig == tmp_path / "kube.yaml"


@pytest.mark.parametrize("url", ["https://10.1.1.1", "https://[2001:db8::1]:8443"])
def test_a_sim_public_endpoint_given_as_an_address_must_be_loopback(tmp_path: Path,
                                                                    url: str) -> None:
    write(tmp_path / "kube.yaml", document())
    message = load_error(sim_toml(tmp_path, extra=f"public_endpoint_url = '{url}'"))
    assert "targets.s.public_endpoint_url" in message and "loopback" in message


@pytest.mark.parametrize("url", ["https://api.maip.example.com", "https://127.0.0.1:8443"])
def test_a_sim_public_endpoint_the_simulation_resolves_is_accepted(tmp_path: Path,
                                                                   url: str) -> None:
    write(tmp_path / "kube.yaml", document())
    config = load_config(sim_toml(tmp_path, extra=f"public_endpoint_url = '{url}'"))
    assert config.target("s").public_endpoint_url == url


# -- again when the client is built ---------------------------------------------------------------

def sim_handle(kubeconfig: Path | None, context: str = "maip-prod") -> RegionHandle:
    return RegionHandle(RegionConnection("us-east-1", context, endpoint_url="http://127.0.0.1:1",
                                         kubeconfig=kubeconfig),
                        target_name="s", simulated=True)


@pytest.fixture
def loader_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every kubeconfig load the kubernetes package is asked for (none may happen)."""
    from kubernetes import config as kube_config
    from kubernetes.config import kube_config as kube_config_module

    calls: list[Any] = []
    real = kube_config_module.KubeConfigLoader

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(kube_config_module, "KubeConfigLoader", recording)
    monkeypatch.setattr(kube_config, "new_client_from_config",
                        lambda *a, **k: calls.append(k))
    return calls


def test_a_simulated_handle_never_falls_back_to_the_users_kubeconfig(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader_calls: list[Any]) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    write(home / ".kube" / "config", document())  # even a loopback one is not used
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    handle = sim_handle(None)
    with pytest.raises(ConfigError) as caught:
        _ = handle.api_client
    message = str(caught.value)
    assert "us-east-1.kubeconfig" in message and "never falls back to ~/.kube/config" in message
    with pytest.raises(ConfigError):
        _ = handle.kubeconfig_path
    assert loader_calls == []
    live = RegionHandle(RegionConnection("us-east-1", "maip-prod"), target_name="p",
                        simulated=False)
    assert live.kubeconfig_path == home / ".kube" / "config"  # live: the default, as before


@pytest.mark.parametrize(("content", "expected"), [
    (document(PRODUCTION), "not a loopback"),
    (document(LOOPBACK, user={"exec": {"command": "aws", "args": ["eks", "get-token"]}}),
     "exec credential plugin"),
])
def test_a_simulated_handle_refuses_before_building_a_client(tmp_path: Path,
                                                            loader_calls: list[Any],
                                                            content: dict[str, Any],
                                                            expected: str) -> None:
    handle = sim_handle(write(tmp_path / "kube.yaml", content))
    with pytest.raises(ConfigError) as caught:
        _ = handle.api_client
    assert expected in str(caught.value) and "us-east-1.kubeconfig" in str(caught.value)
    assert loader_calls == []


def test_a_kubeconfig_edited_after_load_is_refused_at_use(tmp_path: Path) -> None:
    path = write(tmp_path / "kube.yaml", document())
    target = load_config(sim_toml(tmp_path)).target("s")
    write(path, document(PRODUCTION))  # after the load-time check
    handles = build_region_handles(target)
    with pytest.raises(ConfigError, match="not a loopback"):
        _ = handles.primary.api_client


def test_the_client_is_built_from_the_checked_document(tmp_path: Path) -> None:
    handle = sim_handle(write(tmp_path / "kube.yaml", document()))
    assert handle.api_client.configuration.host == LOOPBACK
    handle.close()


def test_a_target_built_in_code_without_kubeconfig_still_makes_aws_clients() -> None:
    """Handles for AWS only (tests, the planner) need no kubeconfig; Kubernetes does."""
    target = Target(name="moto", kind="sim",
                    primary=RegionConnection("us-east-1", "maip-prod",
                                             endpoint_url="http://127.0.0.1:1"),
                    secondary=RegionConnection("us-west-2", "maip-prod-dr",
                                               endpoint_url="http://127.0.0.1:1"))
    handles = build_region_handles(target)
    assert handles.primary.client("rds").meta.endpoint_url == "http://127.0.0.1:1"
    with pytest.raises(ConfigError, match="never falls back"):
        _ = handles.secondary.api_client


# -- the suite's own kubeconfigs pass -------------------------------------------------------------

def test_the_simulation_kubeconfig_writer_passes() -> None:
    specs = [KubeContextSpec(name=name, server=f"https://127.0.0.1:{port}", ca_pem=b"pem",
                             token="t") for name, port in (("maip-prod", 1), ("maip-prod-dr", 2))]
    content = kubeconfig_dict(specs)
    assert all(loopback_problem(content, spec.name) is None for spec in specs)


def test_sim_up_config_out_and_the_embedded_target_pass(simulation: Any, tmp_path: Path) -> None:
    """What 'maip-dr sim up --config-out' writes loads, and both targets build clients."""
    config = load_config(simulation.write_config(tmp_path / "c.toml"))
    for target in (config.target("sim"), simulation.target()):
        handles = build_region_handles(target)
        try:
            for handle in handles:
                assert is_loopback_url(handle.api_client.configuration.host)
        finally:
            handles.close()
