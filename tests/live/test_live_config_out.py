"""``maip-dr sim up --live-config-out``, without a running simulation: the live-kind target it
writes (rendered and loaded), the listeners that serve the DNS plan's addresses, and the
options refused before anything starts (exit 2, one line)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from maip_cli_helpers import run_maip_dr

from maip_drlib.cli.sim import _time_scale
from maip_drlib.config import RegionConnection, Target
from maip_drlib.config_loader import load_config
from maip_drlib.errors import ConfigError
from maip_drlib.sim.config_out import render_live_config
from maip_drlib.sim.planned_listeners import PlannedListeners

pytestmark = pytest.mark.sim

# Another block than the simulation's plan (127.100.0.0/24): no clash with a running sim.
PLANNED = ("127.100.7.1", "127.100.7.2")


def _simulation_target(folder: Path) -> Target:
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n"
        + "".join(f"- name: {c}\n  cluster: {{server: 'https://127.0.0.1:9'}}\n"
                  for c in ("maip-prod", "maip-prod-dr"))
        + "contexts:\n"
        + "".join(f"- name: {c}\n  context: {{cluster: {c}, user: sim}}\n"
                  for c in ("maip-prod", "maip-prod-dr"))
        + "users:\n- name: sim\n  user: {token: placeholder}\n")
    ca = folder / "simulation-ca.pem"
    ca.write_text("not read here\n")
    return Target(
        name="sim", kind="sim",
        primary=RegionConnection("us-east-1", "maip-prod", endpoint_url="http://127.0.0.1:5000",
                                 kubeconfig=kubeconfig),
        secondary=RegionConnection("us-west-2", "maip-prod-dr",
                                   endpoint_url="http://127.0.0.1:5000", kubeconfig=kubeconfig),
        control_url="http://127.0.0.1:5001", ca_bundle=ca, time_scale=0.5,
        dns_nameservers=("127.0.0.1:5353",))


def test_the_live_config_loads_as_a_live_target_with_nothing_simulated(tmp_path: Path) -> None:
    text = render_live_config("rehearsal", _simulation_target(tmp_path),
                              public_endpoint_url="https://api.maip.example.com:8443",
                              aws_endpoint_url="http://127.0.0.1:5000")
    path = tmp_path / "live.toml"
    path.write_text(text)
    target = load_config(path).target(None)
    assert target.kind == "live" and target.name == "rehearsal"
    assert target.control_url is None and target.database is None
    assert target.time_scale is None
    assert target.public_endpoint_url == "https://api.maip.example.com:8443"
    assert target.dns_nameservers == ("127.0.0.1:5353",)
    assert target.ca_bundle == tmp_path / "simulation-ca.pem"
    for connection in target.connections:
        assert connection.endpoint_url is None and connection.profile is None
        assert connection.kubeconfig == tmp_path / "kubeconfig"
    assert [c.kube_context for c in target.connections] == ["maip-prod", "maip-prod-dr"]
    assert "#   export AWS_ENDPOINT_URL=http://127.0.0.1:5000" in text
    assert "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing" in text
    assert "#   export AWS_DEFAULT_REGION=us-east-1" in text
    assert "serves no TLS (binaries without OpenSSL" in text


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "abc"])
def test_time_scale_must_be_a_finite_number_above_zero(value: str) -> None:
    with pytest.raises(ConfigError, match="--time-scale: expected a finite number"):
        _time_scale(None, None, value)  # type: ignore[arg-type]


def test_time_scale_accepts_a_finite_number() -> None:
    assert _time_scale(None, None, "0.25") == 0.25  # type: ignore[arg-type]
    assert _time_scale(None, None, None) is None  # type: ignore[arg-type]


@pytest.mark.cli
@pytest.mark.parametrize(("args", "line"), [
    (["--time-scale", "nan"], "maip-dr: --time-scale: expected a finite number of seconds > 0, "
                              "got 'nan'"),
    (["--time-scale", "inf"], "maip-dr: --time-scale: expected a finite number of seconds > 0, "
                              "got 'inf'"),
    (["--live-config-out", "live.toml"], "maip-dr: --live-config-out: needs --data-plane (a "
     "live-kind target finds the API name through the simulation's DNS server)"),
    (["--data-plane", "--config-out", "c.toml", "--live-config-out", "./c.toml"],
     "maip-dr: --live-config-out: 'c.toml' is also the file of --config-out"),
    (["--live-target-name", "a b"], "maip-dr: --live-target-name: a target name is letters, "
                                    "digits, '_' and '-', got 'a b'"),
], ids=["nan", "inf", "no-data-plane", "same-file", "bad-name"])
def test_bad_sim_up_options_are_one_line_and_start_nothing(
        tmp_path: Path, args: list[str], line: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run_maip_dr(["sim", "up", *args], home, timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == line
    assert result.stdout == ""
    assert not (tmp_path / "c.toml").exists() and not (tmp_path / "live.toml").exists()


@pytest.fixture
def backend() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers each line with 'echo: <line>'."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                data = conn.recv(1024)
                conn.sendall(b"echo: " + data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def _ask(address: str, port: int, message: bytes) -> bytes:
    with socket.create_connection((address, port), timeout=5) as sock:
        sock.sendall(message)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(1024):
            received += chunk
        return received


def test_planned_listeners_relay_each_address_to_its_endpoint(backend: int) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: an endpoint in outage
    listeners = PlannedListeners({PLANNED[0]: backend, PLANNED[1]: refused_port},
                                 preferred_port=backend)  # taken on 127.0.0.1 only
    port = listeners.start()
    try:
        assert _ask(PLANNED[0], port, b"hello") == b"echo: hello"
        with pytest.raises((ConnectionResetError, ConnectionAbortedError)):
            _ask(PLANNED[1], port, b"hello")
    finally:
        listeners.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((PLANNED[0], port), timeout=5)


def test_planned_listeners_share_one_port_and_skip_a_taken_one(backend: int) -> None:
    taken = socket.create_server((PLANNED[1], 0))
    try:
        listeners = PlannedListeners({PLANNED[0]: backend, PLANNED[1]: backend},
                                     preferred_port=taken.getsockname()[1])
        port = listeners.start()
        try:
            assert port != taken.getsockname()[1]
            assert _ask(PLANNED[0], port, b"a") == _ask(PLANNED[1], port, b"a") == b"echo: a"
        finally:
            listeners.stop()
    finally:
        taken.close()


def test_planned_listeners_bind_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        PlannedListeners({"10.0.0.1": 443})


def test_database_access_over_tls_is_written_with_verify_full(tmp_path: Path) -> None:
    from maip_drlib.config import DatabaseAccess

    simulation = _simulation_target(tmp_path)
    access = DatabaseAccess(sslmode="disable", secret_ids=(
        ("us-east-1", "maip/prod/db-credentials"), ("us-west-2", "maip/prod/db-credentials")))
    text = render_live_config("rehearsal", simulation,
                              public_endpoint_url="https://api.maip.example.com",
                              aws_endpoint_url="http://127.0.0.1:5000", database=access)
    path = tmp_path / "live.toml"
    path.write_text(text)
    database = load_config(path).target(None).database
    assert database is not None
    assert database.sslmode == "verify-full"
    assert database.sslrootcert == tmp_path / "simulation-ca.pem"
    assert dict(database.secret_ids) == dict(access.secret_ids)
    assert "serves no TLS" not in text


def test_both_written_configs_name_the_simulations_kms_keys(tmp_path: Path) -> None:
    """The simulated writer is encrypted with the topology's keys: a config written for it
    names them, or failback 2 and 4 would refuse to create their replicas."""
    from maip_drlib.config import SIMULATION_KMS_KEY, simulation_topology
    from maip_drlib.sim.config_out import render_sim_config

    topology = simulation_topology()
    simulation = _simulation_target(tmp_path)
    live = tmp_path / "live.toml"
    live.write_text(render_live_config("rehearsal", simulation, topology=topology,
                                       public_endpoint_url="https://api.maip.example.com",
                                       aws_endpoint_url="http://127.0.0.1:5000"))
    sim = tmp_path / "sim.toml"
    sim.write_text(render_sim_config(simulation, topology))
    for path in (live, sim):
        loaded = load_config(path).topology
        assert loaded.primary.kms_key_id == SIMULATION_KMS_KEY
        assert loaded.secondary.kms_key_id == SIMULATION_KMS_KEY
    # a config file without keys stays unencrypted; only the run without a config file names them
    assert load_config(None).topology.primary.kms_key_id == SIMULATION_KMS_KEY
    from maip_drlib.config import Topology
    assert Topology().primary.kms_key_id is None


def test_a_simulation_with_kafka_brokers_gives_the_live_target_its_kafka_table(
        tmp_path: Path) -> None:
    path = tmp_path / "live.toml"
    path.write_text(render_live_config("rehearsal", _simulation_target(tmp_path),
                                       public_endpoint_url="https://api.maip.example.com:8443",
                                       aws_endpoint_url="http://127.0.0.1:5000", kafka=True))
    access = load_config(path).target(None).kafka
    assert access is not None and access.auth == "none" and not access.tls
    without = tmp_path / "without.toml"
    without.write_text(render_live_config("rehearsal", _simulation_target(tmp_path),
                                          public_endpoint_url="https://api.maip.example.com",
                                          aws_endpoint_url="http://127.0.0.1:5000"))
    assert load_config(without).target(None).kafka is None
