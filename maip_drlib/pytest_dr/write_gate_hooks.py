"""Opens the write gate (``maip_drlib.write_gate``) for destructive scenarios only.

The session's region handles share one gate (made here, used by the fixture ``dr_handles``):
it has consent only
with ``--dr-execute`` (the plugin checked ``--dr-confirm``), and it is open only while a
scenario tagged ``@destructive`` runs. Readiness, replication and RPO scenarios, and the
time between scenarios, run with every write refused (exit 3), whatever the flags.
"""

from __future__ import annotations

import pytest

from maip_drlib.pytest_dr.keys import GATE_KEY, OPTIONS_KEY, TARGET_KEY
from maip_drlib.pytest_dr.stages import phase_of, stage_of
from maip_drlib.write_gate import WriteGate

REFUSAL = ("writes need --dr-execute (and --dr-confirm with the target's name on sim and live "
           "targets); nothing was written")


@pytest.hookimpl(trylast=True)  # after the plugin loaded the target and the options
def pytest_configure(config: pytest.Config) -> None:
    if config.stash.get(OPTIONS_KEY, None) is not None and \
            config.stash.get(TARGET_KEY, None) is not None:
        session_gate(config)


def session_gate(config: pytest.Config) -> WriteGate:
    """The session's gate, made once: consent only with --dr-execute (not with --dr-dry-run);
    closed until a destructive scenario starts."""
    gate = config.stash.get(GATE_KEY, None)
    if gate is not None:
        return gate
    from maip_drlib.pytest_dr.journal_hooks import call_listener

    options, target = config.stash[OPTIONS_KEY], config.stash[TARGET_KEY]
    gate = WriteGate(consent=options.execute and not options.dry_run, target=target.name,
                     listener=call_listener(config), refusal=REFUSAL)
    gate.enter(None, may_write=False, because="only a destructive stage writes")
    config.stash[GATE_KEY] = gate
    return gate


def pytest_runtest_setup(item: pytest.Item) -> None:
    gate = item.config.stash.get(GATE_KEY, None)
    if gate is None:
        return
    phase, stage = phase_of(item), stage_of(item)
    label = f"{phase} {stage}" if phase and stage else (phase or item.name)
    gate.enter(label, may_write=item.get_closest_marker("destructive") is not None,
               because=f"{label} is read-only (not @destructive); nothing was written")


def pytest_runtest_teardown(item: pytest.Item) -> None:
    gate = item.config.stash.get(GATE_KEY, None)
    if gate is not None:
        gate.enter(None, may_write=False, because="only a destructive stage writes")
