"""pytest hooks of the suite: load the target at the edge, enforce the safety flags, order
the drill's scenarios, skip after failures, record RTO verdicts and write the results.

Exit codes follow DESIGN.md section 8: a bad config or option ends the session with 2 before
any call; a ``--dr-confirm`` that does not match the target ends it with 3.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from maip_drlib.config import embedded_target
from maip_drlib.errors import ConfigError, DRError
from maip_drlib.pytest_dr.keys import CONFIG_KEY, OPTIONS_KEY, TARGET_KEY
from maip_drlib.pytest_dr.operator import CONTEXT_KEY, ask_approval, print_plan, write_decisions
from maip_drlib.pytest_dr.options import STAGE_TAGS, TAGS, DrRunOptions, add_options
from maip_drlib.pytest_dr.stages import StageTracker, drill_order_key, phase_of, stage_of

# A second person's approval before each destructive stage (--dr-require-approval).
pytest_plugins = ["maip_drlib.pytest_dr.approval_hooks"]
TRACKER_KEY = pytest.StashKey[StageTracker]()
MARKER_HELP = {
    "readiness": "read-only preflight checks, safe against production at any time",
    "replication": "read-only replication checks (DynamoDB global table, MSK replicator)",
    "failover": "a failover stage of the drill",
    "failback": "a failback stage of the drill",
    "destructive": "mutates the target: needs --dr-execute (and --dr-confirm on sim/live)",
    "rpo": "the measured data loss of a game day (reads the canaries it wrote)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.getgroup("maip-dr").addoption(
        "--dr-features", action="append", default=[], metavar="DIR",
        help="Also run the scenarios of this folder of .feature files (a team's own checks, "
             "bound to the suite's steps: docs/own-checks.md); repeatable, added to the "
             "config's [features] paths.")


def _fail_session(message: str, code: int) -> None:
    print(f"maip-dr: {message}", file=sys.stderr)
    pytest.exit(message, returncode=code)


def pytest_configure(config: pytest.Config) -> None:
    from maip_drlib.evidence.edge_secrets import redactor_from_environment

    redactor_from_environment(os.environ)  # the shared redactor learns this run's secrets
    for tag in TAGS:
        config.addinivalue_line("markers", f"{tag}: {MARKER_HELP[tag]}")
    for tag in STAGE_TAGS:
        config.addinivalue_line("markers", f"{tag}: stage {tag[-1]} of its phase")
    options = DrRunOptions.from_pytest(config)
    config.stash[OPTIONS_KEY] = options
    if options.results_path is not None:
        # A drill run by maip-dr (--dr-results): no scenario uses Hypothesis, whose pytest
        # plugin imports the whole library in its terminal summary (0.6-4 s per phase).
        config.pluginmanager.set_blocked("hypothesispytest")
    from maip_drlib.config_loader import load_config

    try:
        loaded = load_config(options.config_path)
        if options.config_path is None and not options.target_name:
            target = embedded_target(loaded.topology)
        else:
            target = loaded.target(options.target_name)
    except ConfigError as error:
        _fail_session(str(error), error.exit_code)
        return
    if options.data_plane is not None:  # the sim package only when a choice was made
        from maip_drlib.sim.data_plane_choice import refuse_unless_embedded

        try:
            refuse_unless_embedded(target, options.data_plane, "--dr-data-plane")
        except ConfigError as error:
            _fail_session(str(error), error.exit_code)
            return
    if options.execute and target.kind in ("sim", "live") and options.confirm != target.name:
        given = f"got {options.confirm!r}" if options.confirm else "it is missing"
        _fail_session(f"--dr-confirm must repeat the target's name {target.name!r} to run "
                      f"mutating stages on a {target.kind} target ({given}); nothing was called",
                      3)
    try:
        _configure_feature_folders(config, loaded.feature_paths)
    except ConfigError as error:
        _fail_session(str(error), error.exit_code)
        return
    config.stash[CONFIG_KEY] = loaded
    config.stash[TARGET_KEY] = target
    config.stash[TRACKER_KEY] = StageTracker(target.time_scale)


def _configure_feature_folders(config: pytest.Config, from_config: tuple) -> None:
    """The team folders of this session: the config's ``[features] paths`` and every
    ``--dr-features DIR`` (relative to the invocation folder), for the scenarios module."""
    from maip_drlib.feature_dirs import check_feature_folder, merge_folders
    from maip_drlib.pytest_dr import feature_paths

    given = [check_feature_folder(value, "--dr-features", base_dir=config.invocation_params.dir)
             for value in config.getoption("--dr-features") or ()]
    folders = merge_folders(from_config, given)
    steps = sys.modules.get("steps")  # the step package the root conftest loaded
    ours = (Path(steps.__file__).resolve().parent.parent if steps and steps.__file__
            else Path(config.rootpath)) / "features"
    feature_paths.configure(config, folders, ours)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drill order (stable for everything else), and the @destructive guard as skips."""
    drill = [item for item in items if phase_of(item) is not None]
    if drill:
        others = [item for item in items if phase_of(item) is None]
        items[:] = others + sorted(drill, key=drill_order_key)
    options = config.stash[OPTIONS_KEY]
    for item in items:
        if options.dry_run and phase_of(item) in ("failover", "failback"):
            item.add_marker(pytest.mark.skip(reason="dry run (--dr-dry-run): stage planned, "
                                                    "not run"))
        elif item.get_closest_marker("destructive") is not None and not options.execute:
            item.add_marker(pytest.mark.skip(
                reason="destructive: needs --dr-execute (and --dr-confirm <target> on sim and "
                       "live targets)"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    tracker = item.config.stash.get(TRACKER_KEY, None)
    if tracker is None or phase_of(item) is None:
        return (yield)
    tracker.begin(item)
    result = yield  # the fixtures are set up: the stage's context can be asked for
    options = item.config.stash[OPTIONS_KEY]
    if options.pause_between_stages and item.get_closest_marker("destructive") is not None:
        # Before the stage's steps, which run in the call phase; pytest 9 refuses a fixture
        # request from this hook before the item's own setup (it reads it as teardown).
        context = item._request.getfixturevalue("dr_context")  # type: ignore[attr-defined]
        stage = stage_of(item)
        ask_approval(item, f"{phase_of(item)} stage {stage}", context.decisions)
    return result


@pytest.fixture(scope="session", autouse=True)
def _dr_dry_run_plan(request: pytest.FixtureRequest) -> None:
    """With --dr-dry-run, print the drill's planned mutating calls once, before any stage."""
    options = request.config.stash[OPTIONS_KEY]
    drill_items = [item for item in request.session.items if phase_of(item) in
                   ("failover", "failback")]
    if options.dry_run and drill_items:
        print_plan(request.getfixturevalue("dr_context"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    tracker = item.config.stash.get(TRACKER_KEY, None)
    relevant = isinstance(report, pytest.TestReport) and (
        report.when == "call" or report.failed or report.skipped)
    if tracker is not None and phase_of(item) is not None and relevant:
        assert isinstance(report, pytest.TestReport)
        error = call.excinfo.value if call.excinfo is not None else None
        tracker.finish(item, report, error)
        options = item.config.stash[OPTIONS_KEY]
        if options.results_path is not None:  # after every stage: a killed run keeps them
            tracker.write(options.results_path)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    options = session.config.stash.get(OPTIONS_KEY, None)
    tracker = session.config.stash.get(TRACKER_KEY, None)
    if options is not None and tracker is not None and options.results_path is not None:
        tracker.write(options.results_path)
        context = session.config.stash.get(CONTEXT_KEY, None)
        if context is not None:
            write_decisions(options.results_path, context.decisions)


def pytest_exception_interact(node: pytest.Item, call: pytest.CallInfo[None],
                              report: pytest.TestReport) -> None:
    """Library errors already carry evidence: shorten their traceback to the message."""
    if call.excinfo is not None and isinstance(call.excinfo.value, DRError):
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: object, scenario: object,
                           step: object, step_func: object) -> None:
    """Progress for the operator: stage, step, elapsed against the RTO budget."""
    from maip_drlib.pytest_dr.stages import progress_line

    line = progress_line(request.node, step)
    if line:
        print(line, file=sys.stderr, flush=True)
