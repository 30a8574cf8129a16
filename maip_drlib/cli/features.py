"""``--features DIR`` (repeatable) of the commands that run scenarios (``readiness``,
``gameday``, ``stage``): a team's own feature folders, added to the config's ``[features]
paths`` and passed to the command's pytest session as ``--dr-features DIR``
(docs/own-checks.md).

Checked before anything starts: a missing folder or one with no ``.feature`` file is one
ConfigError line naming ``--features`` (exit 2). The files themselves (syntax, tags, a phase
tag on every scenario) are checked by the plugin before collection, also exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from maip_drlib.config import Config
from maip_drlib.feature_dirs import check_feature_folder, merge_folders

FEATURES_HELP = ("Also run the scenarios of this folder of .feature files (a team's own "
                 "checks, written with the steps 'maip-dr steps' lists; docs/own-checks.md). "
                 "Repeatable; added to the config's [features] paths.")


def _check_folders(_ctx: click.Context, _param: click.Parameter,
                   value: tuple[str, ...]) -> tuple[Path, ...]:
    return tuple(check_feature_folder(text, "--features") for text in value or ())


def features_option(func: click.decorators.FC) -> click.decorators.FC:
    """The ``--features DIR`` option (parameter ``features``: checked absolute folders)."""
    return click.option("--features", "features", multiple=True, metavar="DIR",
                        callback=_check_folders, help=FEATURES_HELP)(func)


def feature_folders(config: Config, given: Iterable[Path] | None) -> tuple[Path, ...]:
    """The config's ``[features] paths`` then the ``--features`` folders, each once."""
    return merge_folders(config.feature_paths, given or ())


def features_args(folders: Iterable[Path] | None) -> list[str]:
    """``--dr-features DIR`` for each folder: the pytest plugin's option."""
    args: list[str] = []
    for folder in folders or ():
        args += ["--dr-features", str(folder)]
    return args
