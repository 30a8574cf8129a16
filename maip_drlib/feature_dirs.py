"""A team's own feature folders: ``--features DIR``, ``--dr-features DIR`` and the config's
``[features] paths``, checked once at the edge.

A folder is accepted when it exists and holds at least one ``.feature`` file (searched
recursively, as pytest-bdd does). Its scenarios run beside the project's own, bound to the
project's step catalogue (``maip-dr steps``). Not supported: single ``.feature`` files (give
the folder), step definitions of a team's own (a scenario whose step is not in the catalogue
fails with pytest-bdd's "step definition is not found" naming the step).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from maip_drlib.errors import ConfigError


def feature_files(folder: Path) -> list[Path]:
    """The ``.feature`` files under ``folder`` (recursively), sorted."""
    return sorted(path for path in folder.rglob("*.feature") if path.is_file())


def check_feature_folder(value: str | Path, key: str, *, base_dir: Path | None = None,
                         source: str | None = None) -> Path:
    """``value`` as an absolute folder (relative to ``base_dir`` when given, else to the
    working directory) that holds a ``.feature`` file; otherwise one ConfigError naming
    ``key`` (the option or config key) and, for a config file, ``source``."""
    text = str(value)
    if not text.strip():
        raise ConfigError("expected a folder of .feature files, got an empty path",
                          source=source, key=key)
    try:
        folder = Path(text).expanduser()
        if not folder.is_absolute() and base_dir is not None:
            folder = base_dir / folder
        folder = folder.resolve()
        exists, is_dir = folder.exists(), folder.is_dir()
    except (OSError, RuntimeError, ValueError) as error:  # name too long, unknown ~user
        raise ConfigError(f"expected a folder of .feature files, got {text!r} ({error})",
                          source=source, key=key) from error
    if not exists:
        raise ConfigError(f"folder {folder} not found", source=source, key=key)
    if not is_dir:
        raise ConfigError(f"{folder} is not a folder (give the folder that holds the "
                          ".feature files)", source=source, key=key)
    if not feature_files(folder):
        raise ConfigError(f"no .feature file in {folder}", source=source, key=key)
    return folder


def merge_folders(*groups: Iterable[Path]) -> tuple[Path, ...]:
    """The folders of every group in order, each once (compared resolved)."""
    seen: dict[Path, None] = {}
    for group in groups:
        for folder in group:
            seen.setdefault(Path(folder).resolve(), None)
    return tuple(seen)
