"""Session fixtures: the target (hosting the embedded simulation when asked), region handles,
the resolver and the drill context. State passes through fixtures, never a shared dict."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from maip_drlib.config import Target, Topology
from maip_drlib.drill.context import DrillContext, PollPolicy
from maip_drlib.pytest_dr.keys import CONFIG_KEY, OPTIONS_KEY, TARGET_KEY, drill_id_of
from maip_drlib.pytest_dr.operator import CONTEXT_KEY
from maip_drlib.pytest_dr.options import DrRunOptions
from maip_drlib.readiness import ReadinessInputs, Thresholds
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.resolvers import Resolver, resolver_for
from maip_drlib.write_gate import WriteGate


@pytest.fixture(scope="session")
def dr_run_options(pytestconfig: pytest.Config) -> DrRunOptions:
    return pytestconfig.stash[OPTIONS_KEY]


@pytest.fixture(scope="session")
def dr_topology(pytestconfig: pytest.Config) -> Topology:
    return pytestconfig.stash[CONFIG_KEY].topology


@pytest.fixture(scope="session")
def dr_target(pytestconfig: pytest.Config, dr_topology: Topology) -> Iterator[Target]:
    """The reachable target; an ``embedded`` one starts the simulation in this process."""
    target = pytestconfig.stash[TARGET_KEY]
    if target.kind != "embedded":
        yield target
        return
    from maip_drlib.sim.data_plane_choice import embedded_data_plane
    from maip_drlib.sim.simulation import SimSettings, Simulation

    def warn(line: str) -> None:
        print(line, file=sys.stderr)

    asked = pytestconfig.stash[OPTIONS_KEY].data_plane
    with_plane = embedded_data_plane(asked, warn, off_flag="--dr-data-plane off")
    print("\nmaip-dr: starting the embedded simulation (simulated platform on 127.0.0.1"
          + (", with its data plane: PostgreSQL and DNS" if with_plane else "") + ")",
          file=sys.stderr)
    with Simulation(dr_topology, time_scale=target.time_scale or None,
                    settings=SimSettings(data_plane=True) if with_plane else None
                    ) as simulation:
        yield simulation.target(target.name)


@pytest.fixture(scope="session")
def dr_write_gate(pytestconfig: pytest.Config) -> WriteGate:
    """Consent for writes (``write_gate_hooks``): only with --dr-execute, open only while a
    destructive scenario runs."""
    from maip_drlib.pytest_dr.write_gate_hooks import session_gate

    return session_gate(pytestconfig)


@pytest.fixture(scope="session")
def dr_handles(pytestconfig: pytest.Config, dr_target: Target, dr_topology: Topology,
               dr_write_gate: WriteGate) -> Iterator[RegionHandles]:
    """Both regions' handles; an assumed role's session is named for the drill
    (``maip-dr-<drill id>``), so CloudTrail shows which drill made each call."""
    from maip_drlib.assumed_role import role_session_name

    drill_id = drill_id_of(pytestconfig)
    handles = build_region_handles(dr_target, dr_topology, writes=dr_write_gate,
                                   session_name=role_session_name(drill_id))
    yield handles
    handles.close()


@pytest.fixture(scope="session")
def dr_resolver(dr_target: Target) -> Resolver:
    """Real DNS when the target names resolvers, else the simulation's or the system's."""
    return resolver_for(dr_target)


@pytest.fixture(scope="session")
def dr_context(pytestconfig: pytest.Config, dr_handles: RegionHandles, dr_topology: Topology,
               dr_target: Target, dr_resolver: Resolver,
               dr_run_options: DrRunOptions) -> DrillContext:
    def progress(message: str) -> None:
        print(f"  .. {message}", file=sys.stderr, flush=True)

    context = DrillContext(handles=dr_handles, topology=dr_topology, target=dr_target,
                           resolver=dr_resolver, options=dr_run_options.drill_options(),
                           poll=PollPolicy.for_target(dr_target), progress=progress,
                           drill_id=drill_id_of(pytestconfig))
    from maip_drlib.pytest_dr.journal_hooks import decision_listener

    context.decisions.listener = decision_listener(pytestconfig)
    pytestconfig.stash[CONTEXT_KEY] = context
    return context


@pytest.fixture
def dr_readiness_inputs(dr_handles: RegionHandles, dr_topology: Topology, dr_target: Target,
                        dr_resolver: Resolver) -> ReadinessInputs:
    """The readiness checks' inputs; thresholds from features/readiness.feature (each
    readiness step replaces its own with the figure in its text)."""
    return ReadinessInputs(dr_handles, dr_topology, dr_target, dr_resolver,
                           Thresholds.from_gherkin())


@dataclass(frozen=True)
class DeclaredOutage:
    """The region the operator declared down (``--dr-declare-outage``), for readiness: its
    own checks are expected to fail and are noted (printed and journalled), not failed."""

    region: str | None
    reason: str | None
    note: Callable[[str], None]


@pytest.fixture(scope="session")
def dr_declared_outage(pytestconfig: pytest.Config, dr_run_options: DrRunOptions,
                       dr_topology: Topology) -> DeclaredOutage:
    from maip_drlib.pytest_dr.journal_hooks import journal_of

    def note(text: str) -> None:
        print(text)
        journal = journal_of(pytestconfig)
        if journal is not None:
            journal.record("readiness.expected_failure", detail=text)

    declared = dr_run_options.declare_outage
    return DeclaredOutage(region=dr_topology.primary.region if declared else None,
                          reason=declared, note=note)
