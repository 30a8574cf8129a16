"""The drill lease inside pytest (docs/lease.md): a session that runs mutating stages on a
``sim`` or ``live`` target holds it, or checks that ``maip-dr`` around it does.

The lease applies when the session will run ``@destructive`` scenarios (``--dr-execute``, no
``--dr-dry-run``, at least one selected) against a ``sim`` or ``live`` target:

- Run directly (``pytest -m "failover and stage_2" --dr-config c.toml --dr-target sim
  --dr-execute --dr-confirm sim``): the plugin acquires the lease before the first scenario
  runs and keeps its heartbeat running; another holder is exit 3 naming it. Before each
  destructive scenario it checks that the lease is still this session's (the heartbeat did not
  lose it, and a read finds this holder); a lost lease ends the session with exit 3. It
  releases the lease at the end of the session (also after Ctrl-C). ``--dr-break-lease
  REASON`` and ``--dr-lease-ttl SECONDS`` work as for ``maip-dr``.
- Run by ``maip-dr``, which already holds the lease: ``--dr-lease-holder HOLDER_ID`` (internal)
  makes the plugin only read the item (GetItem) before the first and before each destructive
  scenario, and check that this holder holds it, unexpired; a missing, expired or another
  holder's lease is exit 3. It never acquires, renews or releases then.

With ``--dr-attempt-dir`` the session's journal records ``lease.acquired``, ``lease.broken``,
``lease.lost`` and ``lease.released``. Exit codes: 3 refused (held, lost, not this holder's);
2 bad option or a missing lease table; 4 the table unreachable.

Not supported: a lease for the ``embedded`` target (every pytest session simulates a fresh
world of its own, which no other drill can touch); read-only sessions (readiness, dry runs, no
``--dr-execute``) take none; stopping a scenario already running when the lease is lost.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from maip_drlib.drill.lease import (
    LEASE_TTL_MAX_S,
    LEASE_TTL_MIN_S,
    DrillLease,
    Holder,
    LeaseGrant,
    LeaseLost,
    lease_key,
)
from maip_drlib.errors import ConfigError, DRError
from maip_drlib.pytest_dr.keys import CONFIG_KEY, OPTIONS_KEY, TARGET_KEY
from maip_drlib.pytest_dr.terminal import fail, say
from maip_drlib.waits import is_transient
from maip_drlib.write_gate import WriteGate

HOLDER_OPTION = "--dr-lease-holder"


@dataclass
class SessionLease:
    """The lease of this pytest session: held (``grant`` set) or verified for ``holder_id``."""

    lease: DrillLease
    handles: Any  # RegionHandles, closed at the end
    holder_id: str
    grant: LeaseGrant | None = None  # None: maip-dr holds it, this session only verifies

    @property
    def held_here(self) -> bool:
        return self.grant is not None


SESSION_LEASE_KEY = pytest.StashKey[SessionLease]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maip-dr")
    group.addoption(HOLDER_OPTION, default=None, metavar="HOLDER_ID",
                    help="Internal, passed by maip-dr, which holds the drill lease: verify "
                         "(a read) that this holder id holds it instead of acquiring it.")
    group.addoption("--dr-lease-ttl", default=None, metavar="SECONDS",
                    help=f"Drill lease expiry after the last heartbeat, {LEASE_TTL_MIN_S} to "
                         f"{LEASE_TTL_MAX_S} (default: the topology's lease_ttl_s).")
    group.addoption("--dr-break-lease", default=None, metavar="REASON",
                    help="Take over the drill lease of a dead drill (its heartbeat stale; "
                         "'holder alive: REASON' even when fresh); recorded in the lease "
                         "table.")


def _ttl_option(config: pytest.Config) -> float | None:
    """--dr-lease-ttl as seconds within the bounds, or ConfigError naming the option."""
    value = config.getoption("--dr-lease-ttl")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not LEASE_TTL_MIN_S <= seconds <= LEASE_TTL_MAX_S:
        raise ConfigError(f"expected {LEASE_TTL_MIN_S} to {LEASE_TTL_MAX_S} seconds, got "
                          f"{value!r}", key="--dr-lease-ttl")
    return seconds


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Bad lease options end the session with exit 2 before anything is called."""
    try:
        _ttl_option(config)
        if config.getoption(HOLDER_OPTION) is not None:
            if not str(config.getoption(HOLDER_OPTION)).strip():
                raise ConfigError("needs the holder id of the lease maip-dr holds",
                                  key=HOLDER_OPTION)
            for option in ("--dr-break-lease", "--dr-lease-ttl"):
                if config.getoption(option) is not None:
                    raise ConfigError(f"{option} is for direct pytest runs: with "
                                      f"{HOLDER_OPTION}, maip-dr holds the lease",
                                      key=HOLDER_OPTION)
        reason = config.getoption("--dr-break-lease")
        if reason is not None and not str(reason).strip():
            raise ConfigError("needs a reason (it is recorded)", key="--dr-break-lease")
    except ConfigError as error:
        fail(config, str(error), error.exit_code)


def _holder_option(config: pytest.Config) -> str | None:
    """The holder maip-dr holds the lease for: its drill run's, else ``--dr-lease-holder``."""
    from maip_drlib.pytest_dr.keys import drill_run_of

    drill = drill_run_of(config)
    if drill is not None and drill.holder_id is not None:
        return drill.holder_id
    return config.getoption(HOLDER_OPTION)


def _needs_lease(session: pytest.Session) -> bool:
    config = session.config
    options = config.stash.get(OPTIONS_KEY, None)
    target = config.stash.get(TARGET_KEY, None)
    if options is None or target is None or target.kind == "embedded":
        return False
    if config.option.collectonly or not options.execute or options.dry_run:
        return False
    return any(item.get_closest_marker("destructive") is not None for item in session.items)


def _journal(config: pytest.Config, kind: str, **fields: Any) -> None:
    from maip_drlib.pytest_dr.journal_hooks import journal_of

    journal = journal_of(config)
    if journal is not None:
        journal.record(kind, **fields)


def _label(holder_id: str, *, here: bool) -> str:
    if here:
        return f"this pytest session (holder {holder_id})"
    return f"maip-dr's holder {holder_id} ({HOLDER_OPTION})"


def _drill_id(config: pytest.Config) -> str:
    from maip_drlib.pytest_dr.keys import attempt_dir_of

    attempt_dir = attempt_dir_of(config)
    if attempt_dir is not None:
        return str(attempt_dir.parent.name)
    from maip_drlib.drill.evidence_dirs import new_drill_id

    return new_drill_id("pytest")


def _start(config: pytest.Config) -> SessionLease:
    """Acquire the lease (heartbeat running), or verify maip-dr's; exit 2, 3 or 4 on failure."""
    from maip_drlib.regions import build_region_handles

    target = config.stash[TARGET_KEY]
    topology = config.stash[CONFIG_KEY].topology
    holder_id = _holder_option(config)
    ttl = _ttl_option(config)
    # The lease is written only for --dr-execute runs whose --dr-confirm the plugin checked.
    handles = build_region_handles(target, topology,
                                   writes=WriteGate.consented(target=target.name))
    try:
        lease = DrillLease(client=handles.secondary.client("dynamodb"),
                           table=topology.lease_table, region=handles.secondary.region,
                           key=lease_key(topology.record_name),
                           ttl_s=ttl if ttl is not None else topology.lease_ttl_s,
                           ttl_key="--dr-lease-ttl" if ttl is not None else
                           "topology.lease_ttl_s",
                           holder=Holder.this_process(_drill_id(config)))
        if holder_id is not None:
            lease.verify(holder_id, _label(holder_id, here=False))
            return SessionLease(lease=lease, handles=handles, holder_id=holder_id)
        grant = lease.acquire(config.getoption("--dr-break-lease"))
    except (DRError, ClientError) as error:
        handles.close()
        code = error.exit_code if isinstance(error, DRError) else 4
        fail(config, f"{error}; no scenario ran" if isinstance(error, DRError) else
              f"drill lease table {topology.lease_table!r}: {error}; no scenario ran", code)
    lease.start_heartbeat()
    taken = " (taken over from a previous holder)" if grant.broken else ""
    say(config, f"maip-dr: drill lease acquired{taken}: {grant.key} in {grant.table} "
         f"({grant.region}), ttl {grant.ttl_s:g}s, holder {grant.holder.who}")
    _journal(config, "lease.acquired", **grant.journal_fields())
    if grant.broken is not None:
        _journal(config, "lease.broken", **grant.broken_fields())
    return SessionLease(lease=lease, handles=handles, holder_id=grant.holder.holder_id,
                        grant=grant)


def _end(config: pytest.Config, held: SessionLease) -> None:
    """Release a lease this session holds (a verified one stays maip-dr's); close handles."""
    try:
        if held.held_here:
            try:
                released = held.lease.release()
            except (DRError, ClientError) as error:
                say(config, f"maip-dr: could not release the drill lease ({error}); it "
                     f"expires by itself after {held.lease.ttl_s:g}s")
                return
            if not released:
                say(config, "maip-dr: the drill lease was no longer ours at the end (broken "
                     "by another drill)")
            _journal(config, "lease.released", released=released, key=held.lease.key)
    finally:
        held.handles.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """Hold (or verify) the lease around the scenarios of a mutating session."""
    if not _needs_lease(session):
        return (yield)
    held = _start(session.config)
    session.config.stash[SESSION_LEASE_KEY] = held
    try:
        return (yield)
    finally:
        del session.config.stash[SESSION_LEASE_KEY]
        _end(session.config, held)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before each destructive scenario: the lease is still this session's (or maip-dr's)."""
    held = item.config.stash.get(SESSION_LEASE_KEY, None)
    if held is None or item.get_closest_marker("destructive") is None:
        return
    lease = held.lease
    try:
        if lease.lost.is_set():
            raise LeaseLost(f"the drill lease on {lease.key} was lost ({lease.lost_reason})")
        lease.verify(held.holder_id, _label(held.holder_id, here=held.held_here))
    except (DRError, ClientError) as error:
        if is_transient(error):  # the heartbeat (this session's or maip-dr's) still guards
            say(item.config, f"maip-dr: could not read the drill lease before {item.nodeid} "
                 f"({error}); going on: the holder's heartbeat still guards it")
            return
        _journal(item.config, "lease.lost", reason=str(error), before=item.nodeid)
        code = error.exit_code if isinstance(error, DRError) else 4
        fail(item.config, f"{error}; stopped before {item.nodeid}: check who holds the lease "
              "('maip-dr lease show') before running it again", code)
