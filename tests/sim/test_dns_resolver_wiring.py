"""The drill sees the public name through real DNS answers when the target names a DNS server.

ONE module-scoped Simulation with its data plane on (real PostgreSQL behind RDS, the loopback
DNS server; moto state is process-global); the tests run in file order, each continuing where
the previous one left the platform: the address plan over the control server, the target and
its written config naming the DNS server, failover stage 3 changing the record (the answer
moves to the DR ALB), the env file's ``curl``, an outage with failover stages 1-5 (run by
``rehearse.advance``, as ``sim up --after`` does), then failback stages 1-4 bringing the answer
back to the primary ALB. Every answer comes from the DNS server (``DnsResolver``), mapped
through ``GET /dns/plan``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from maip_cli_helpers import wait_until

from maip_drlib.actions.route53 import change_record_sets, record_set_dict
from maip_drlib.config_loader import describe_config, load_config
from maip_drlib.dns_answers import DnsResolver
from maip_drlib.drill import (
    call_builders,
    clients_landing,
    failback,
    failover,
    outcome_checks,
    rehearse,
)
from maip_drlib.drill.context import DrillContext, DrillOptions, PollPolicy
from maip_drlib.errors import GuardRefused
from maip_drlib.regions import build_region_handles
from maip_drlib.resolvers import ResolvedAddress, SimulationAddressPlan, resolver_for
from maip_drlib.sim.postgres import find_binaries, search_places
from maip_drlib.sim.simulation import SimSettings, Simulation
from maip_drlib.write_gate import WriteGate

pytestmark = pytest.mark.sim

if find_binaries() is None:
    pytest.skip("no PostgreSQL binaries; looked in: " + "; ".join(search_places()),
                allow_module_level=True)

PRIMARY, DR = "us-east-1", "us-west-2"
SOAK_S = 0.3
LIMITS = {"max_5xx_per_min": 10.0, "max_latency_s": 1.0}


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    settings = SimSettings(time_scale=0.2, metric_period_s=0.5, data_plane=True)
    with Simulation(settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def ctx(simulation: Simulation) -> Iterator[DrillContext]:
    target = simulation.target()
    handles = build_region_handles(target, simulation.topology,
                                   writes=WriteGate.consented(target=target.name))
    yield DrillContext(handles=handles, topology=simulation.topology, target=target,
                       resolver=resolver_for(target), options=DrillOptions(execute=True),
                       poll=PollPolicy(0.1, 0.3))
    handles.close()


def _endpoint_port(simulation: Simulation, region: str) -> int:
    port = urlsplit(simulation.status()["regions"][region]["endpoint"]).port
    assert port is not None
    return port


def _resolve(simulation: Simulation) -> ResolvedAddress:
    return resolver_for(simulation.target()).resolve(simulation.topology.record_name, 443)


def _answers_region(simulation: Simulation, region: str) -> ResolvedAddress:
    """Waits until the DNS answer is ``region``'s ALB, connecting to its endpoint's port."""
    port = _endpoint_port(simulation, region)

    def there() -> ResolvedAddress | None:
        answer = _resolve(simulation)
        return answer if answer.port == port and f"region {region}" in answer.detail else None

    found = wait_until(f"the DNS answer in {region}", there)
    assert isinstance(found, ResolvedAddress)
    return found


def _connect_to_by_env_file(simulation: Simulation, folder: Path) -> str:
    env_file = simulation.write_env_file(folder / "e.sh")
    done = subprocess.run(["bash", "-c", f"source {env_file} 2>/dev/null\n_maip_api_connect_to"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_dns_plan_route_names_each_alb_and_its_real_port(simulation: Simulation) -> None:
    plane = simulation.data_plane
    assert plane is not None and plane.dns_plan is not None and simulation.seed is not None
    document = requests.get(f"{simulation.control_url}/dns/plan", timeout=5).json()
    assert document["simulated"] is True and document["nameserver"] == plane.dns_nameserver
    by_region = {entry["region"]: (address, entry)
                 for address, entry in document["addresses"].items()}
    for region in (PRIMARY, DR):
        address, entry = by_region[region]
        assert address.startswith("127.100.0.")
        assert address in plane.dns_plan.addresses(simulation.seed.alb_dns_names[region])
        assert entry["port"] == _endpoint_port(simulation, region)
        assert entry["alb_dns_name"] == simulation.seed.alb_dns_names[region].lower()


def test_the_target_and_its_written_config_name_the_dns_server(simulation: Simulation,
                                                               tmp_path: Path) -> None:
    nameserver = simulation.data_plane.dns_nameserver  # type: ignore[union-attr]
    assert simulation.target().dns_nameservers == (nameserver,)
    config = load_config(simulation.write_config(tmp_path / "sim.toml"))
    loaded = config.target("sim")
    assert loaded.dns_nameservers == (nameserver,)
    assert f"    dns: {nameserver}" in describe_config(config)
    resolver = resolver_for(loaded)  # as a drill in another process builds it
    assert isinstance(resolver, DnsResolver)
    assert isinstance(resolver.connect_to, SimulationAddressPlan)
    answer = resolver.resolve(simulation.topology.record_name, 443)
    assert answer.port == _endpoint_port(simulation, PRIMARY)


def test_the_public_name_resolves_to_the_primary_through_dns(simulation: Simulation,
                                                             ctx: DrillContext) -> None:
    answer = _answers_region(simulation, PRIMARY)
    assert answer.host == "127.0.0.1"
    nameserver = simulation.data_plane.dns_nameserver  # type: ignore[union-attr]
    assert answer.detail.startswith("DNS 127.100.0.")
    assert f"via simulated {nameserver}, ALB " in answer.detail
    region, seen = clients_landing.clients_region(ctx)
    assert region == PRIMARY and "DNS 127.100.0." in seen


def test_failover_stage_3_record_change_moves_the_dns_answer_to_dr(
        simulation: Simulation, ctx: DrillContext) -> None:
    """Failover 3's Route 53 change alone (the stage itself refuses from steady state: no
    promoted DR writer, no outage) moves the DNS answer, as the drill sees it, to the DR ALB."""
    zone_id, records, dr_alb = clients_landing.route_state(ctx)
    original = next(r for r in records if r.failover == "PRIMARY")
    before_region, before = clients_landing.clients_region(ctx)
    assert before_region == PRIMARY and f"region {PRIMARY}" in before, before
    with pytest.raises(GuardRefused, match=r"failover 3: refusing to start.*run failover 2 first"):
        failover.stage_3_route_clients(ctx)
    assert clients_landing.route_state(ctx)[1] == records  # the refused stage changed nothing
    changes = call_builders.failover_pair_changes(records, dr_alb)
    assert changes
    try:
        change_record_sets(ctx.handles.primary, zone_id, changes,
                           comment="test: PRIMARY -> DR ALB")
        _answers_region(simulation, DR)

        def clients_in_dr() -> str | None:
            region, seen = clients_landing.clients_region(ctx)
            return seen if region == DR else None

        clients = str(wait_until("the drill's clients to reach DR", clients_in_dr))
        assert "DNS 127.100.0." in clients and f"region {DR}" in clients, clients
    finally:
        change_record_sets(ctx.handles.primary, zone_id, [
            {"Action": "UPSERT", "ResourceRecordSet": record_set_dict(original)}])
    _answers_region(simulation, PRIMARY)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not on PATH")
def test_env_file_curl_connects_where_the_dns_answer_points(simulation: Simulation,
                                                            tmp_path: Path) -> None:
    port = _endpoint_port(simulation, PRIMARY)
    assert _connect_to_by_env_file(simulation, tmp_path) == f"127.0.0.1:{port}"
    env_file = tmp_path / "e.sh"
    text = env_file.read_text()
    assert "/dns/plan?address=" in text and "MAIP_SIM_PYTHON=" in text
    done = subprocess.run(
        ["bash", "-c", f"source {env_file} 2>/dev/null\n"
                       f"curl -s https://{simulation.topology.record_name}/actuator/health"],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert '"status": "UP"' in done.stdout


def test_outage_and_failover_stages_see_dr_through_dns(simulation: Simulation,
                                                       ctx: DrillContext,
                                                       tmp_path: Path) -> None:
    outcomes = rehearse.advance(simulation, "failover", 5)  # injects the primary outage
    stage_3 = outcomes[2]
    assert stage_3.stage == failover.STAGE_3
    clients = str(stage_3.facts["clients"])
    assert "DNS 127.100.0." in clients and f"region {DR}" in clients, clients
    assert "DNS 127.100.0." in stage_3.summary
    answer = _answers_region(simulation, DR)
    assert "DNS 127.100.0." in outcome_checks.clients_resolve_to(ctx, "secondary")
    assert str(answer.port) in outcome_checks.endpoint_up_from(ctx, "secondary")
    if shutil.which("curl") is not None:
        assert _connect_to_by_env_file(simulation, tmp_path) == f"127.0.0.1:{answer.port}"


def test_failback_stages_bring_the_dns_answer_back(simulation: Simulation,
                                                   ctx: DrillContext) -> None:
    simulation.faults.restore_region(ctx.topology.primary.region)
    failback.stage_1_primary_restored(ctx)
    failback.stage_2_resync(ctx, deadline_s=60)
    outcome = failback.stage_3_weighted_shift(ctx, soak_s=SOAK_S, **LIMITS)
    assert outcome.actions[-1].endswith("weights 100/0")
    endpoints = [str(entry.evidence.get("endpoint")) for entry in ctx.decisions.entries
                 if entry.stage == failback.STAGE_3 and "good" in entry.decision]
    assert endpoints and all("DNS 127.100.0." in seen for seen in endpoints), endpoints
    assert f"region {PRIMARY}" in endpoints[-1]
    _answers_region(simulation, PRIMARY)
    failback.stage_4_steady_state(ctx, deadline_s=60, delete_deadline_s=30)
    answer = _answers_region(simulation, PRIMARY)
    region, seen = clients_landing.clients_region(ctx)
    assert region == PRIMARY and str(answer.port) in seen and "DNS 127.100.0." in seen
    _, records, _ = clients_landing.route_state(ctx)
    assert {record.kind for record in records} == {"failover"}  # the pair is back
