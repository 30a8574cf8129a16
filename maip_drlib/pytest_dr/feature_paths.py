"""The team's own feature folders of this pytest session (``--dr-features DIR``, repeatable,
and the config's ``[features] paths``), for ``steps/test_runbook_scenarios.py``.

The plugin's ``pytest_configure`` sets them (``configure``) before collection; the scenarios
module binds them with the project's own ``features/`` (``scenarios(ours, *extra)``). Before
collection every team file is read once, so that a Gherkin syntax error, a tag that is not a
registered marker (``--strict-markers``) or a scenario without a phase tag ends the session
with one line naming the file (exit 2) instead of a collection traceback.

Allure: allure-pytest-bdd 2.16.2 cannot title a file outside pytest's rootdir; a small patch
(``allow_allure_titles_outside_rootdir``) files such scenarios under "own-checks".

Not supported: the project's own ``features/`` folder (or a folder inside it, or one that
holds it) as a team folder: its scenarios would run twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maip_drlib.errors import ConfigError
from maip_drlib.feature_dirs import feature_files

# Tags that put a scenario into a phase of the drill (maip_drlib.pytest_dr.stages).
PHASE_TAGS = ("readiness", "replication", "failover", "failback", "rpo")
PLUGIN_NAME = "maip-dr-feature-folders"

_folders: tuple[Path, ...] = ()


def extra_folders() -> tuple[str, ...]:
    """The team folders of this session, as strings for ``pytest_bdd.scenarios``."""
    return tuple(str(folder) for folder in _folders)


def configure(config: pytest.Config, folders: tuple[Path, ...], ours: Path) -> None:
    """Record ``folders`` for this session (refusing the project's own ``features/``) and
    check their files before collection (``_FolderChecks``)."""
    global _folders
    ours = ours.resolve()
    for folder in folders:
        if folder == ours or ours in folder.parents or folder in ours.parents:
            raise ConfigError(f"{folder} overlaps the suite's own feature folder {ours}, "
                              "whose scenarios always run; give a folder of your own",
                              key="--dr-features")
    _folders = folders
    if folders and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(_FolderChecks(folders), PLUGIN_NAME)
    if folders:
        allow_allure_titles_outside_rootdir()


def allow_allure_titles_outside_rootdir() -> None:
    """A patch of allure-pytest-bdd 2.16.2: its ``get_title_path`` takes the feature file's
    path relative to pytest's rootdir and raises ValueError for a team file outside it (every
    scenario of that file would fail). Such a file gets the title path
    ``["own-checks", <folder name>, <feature name>]``; every other file keeps the original.
    Tested (tests/features_own/test_feature_paths.py) so that an upgrade that changes the
    function underneath fails a test."""
    try:
        from allure_pytest_bdd import pytest_bdd_listener
    except ImportError:  # Allure not installed: nothing to patch
        return
    original = getattr(pytest_bdd_listener, "get_title_path", None)
    if original is None or getattr(original, "maip_dr_patch", False):
        return

    def title_path(request: pytest.FixtureRequest, feature: Any) -> list[str]:
        try:
            return original(request, feature)
        except ValueError:  # outside the rootdir: a team's own folder
            path = Path(feature.filename)
            return ["own-checks", path.parent.name, feature.name or path.name]

    title_path.maip_dr_patch = True  # type: ignore[attr-defined]
    pytest_bdd_listener.get_title_path = title_path


def registered_markers(config: pytest.Config) -> set[str]:
    names = set()
    for line in config.getini("markers"):
        names.add(line.split(":", 1)[0].split("(", 1)[0].strip())
    return names


def check_files(folders: tuple[Path, ...], markers: set[str]) -> None:
    """Parse every team file; one ConfigError (key ``--dr-features``) for the first file with
    a syntax error, an unregistered tag or a scenario without a phase tag."""
    from pytest_bdd.exceptions import GherkinParseError
    from pytest_bdd.parser import FeatureParser

    for folder in folders:
        for path in feature_files(folder):
            try:
                feature = FeatureParser(str(path.parent), path.name).parse()
            except GherkinParseError as error:
                raise ConfigError(f"{path}: line {error.line}: {' '.join(error.message.split())}",
                                  key="--dr-features") from error
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigError(f"{path}: cannot read: {error}",
                                  key="--dr-features") from error
            for template in feature.scenarios.values():
                rule_tags = template.rule.tags if template.rule is not None else set()
                tags = set(template.tags) | set(feature.tags) | set(rule_tags)
                for examples in template.examples:
                    tags |= set(examples.tags or ())
                unknown = sorted(tags - markers)
                if unknown:
                    raise ConfigError(
                        f"{path}: scenario {template.name!r}: unknown tag "
                        f"{', '.join('@' + tag for tag in unknown)} (registered: "
                        f"{', '.join('@' + tag for tag in sorted(_drill_tags(markers)))})",
                        key="--dr-features")
                if not tags & set(PHASE_TAGS):
                    raise ConfigError(
                        f"{path}: scenario {template.name!r} has no phase tag "
                        f"({', '.join('@' + tag for tag in PHASE_TAGS)}), so no drill phase "
                        "would run it", key="--dr-features")


def _drill_tags(markers: set[str]) -> set[str]:
    """The tags worth listing in an error: the drill's own (not pytest's built-in marks)."""
    from maip_drlib.pytest_dr.options import STAGE_TAGS, TAGS

    return markers & set(TAGS + STAGE_TAGS)


class _FolderChecks:
    """Checks the team files once every plugin has registered its markers."""

    def __init__(self, folders: tuple[Path, ...]):
        self.folders = folders

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        import sys

        try:
            check_files(self.folders, registered_markers(session.config))
        except ConfigError as error:
            print(f"maip-dr: {error}", file=sys.stderr)
            pytest.exit(str(error), returncode=error.exit_code)
