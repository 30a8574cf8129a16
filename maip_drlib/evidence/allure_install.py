"""Finding Allure 3 (npm ``allure``, no Java) for ``maip-dr report``, and installing it.

Lookup order (the first that exists wins):

1. an explicit path, ``--allure PATH`` or ``MAIP_DR_ALLURE`` (the CLI reads both): Allure's
   ``cli.js``, the ``allure`` command npm put on PATH, the ``allure`` package folder, or a
   folder holding ``node_modules/allure``; a path that is none of these is refused (exit 2);
2. the clone's ``node_modules/allure`` (``npm ci`` in the clone), when run from a clone;
3. the per-user cache, ``$XDG_CACHE_HOME/maip-dr/allure`` (default ``~/.cache/maip-dr/allure``),
   which ``maip-dr report --install-allure`` fills with ``npm ci`` from the ``package.json`` and
   ``package-lock.json`` that ship with the library (the pinned Allure 3 version).

The report's configuration is always this installation's ``allurerc.mjs``. Not supported: a
global ``allure`` found on PATH without being named, Allure 2, and Windows (the report stages
its configuration next to a symlink to the Allure package).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from maip_drlib.errors import ConfigError, DRError
from maip_drlib.user_cache import user_cache_dir as suite_cache_dir

ALLURE_ENV = "MAIP_DR_ALLURE"
NPM_CI_TIMEOUT_S = 600
MANIFEST_FILES = ("package.json", "package-lock.json")


class ReportToolMissing(DRError):
    """Node.js, npm or Allure 3 is not installed (exit 4)."""

    exit_code = 4


class ReportFailed(DRError):
    """Allure (or its installation) ran but did not produce what it should (exit 4)."""

    exit_code = 4


@dataclass(frozen=True)
class AllureTool:
    node: str
    allure_js: Path
    config: Path
    source: str  # "--allure", "clone" or "cache": where the lookup found it

    @property
    def package(self) -> Path:
        """The ``allure`` npm package folder (the one holding ``cli.js``)."""
        return self.allure_js.parent


def user_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/maip-dr/allure``, else ``$HOME/.cache/maip-dr/allure``."""
    return suite_cache_dir(environ) / "allure"


def _is_allure3(cli_js: Path) -> bool:
    try:
        meta = json.loads((cli_js.parent / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("name") == "allure" and str(meta.get("version", "")).startswith("3.")


def allure_cli(path: Path) -> Path | None:
    """The Allure 3 ``cli.js`` that ``path`` names or holds, or None."""
    candidates = [path] if path.is_file() else [path / "cli.js",
                                                 path / "node_modules" / "allure" / "cli.js"]
    for candidate in candidates:
        if candidate.is_file() and _is_allure3(candidate.resolve()):
            return candidate.resolve()
    return None


def missing_message(cache: Path, clone: Path | None) -> str:
    """The one line printed when no Allure 3 is found."""
    from_clone = f", or run `npm ci` in {clone}" if clone is not None else ""
    return (f"Allure 3 is not installed: run `maip-dr report --install-allure` (npm ci into "
            f"{cache}), or pass --allure PATH / set {ALLURE_ENV} to an Allure 3 install"
            f"{from_clone}")


def find_allure(explicit: Path | None, *, config: Path, cache: Path,
                clone: Path | None) -> AllureTool:
    """Allure 3 and Node.js by the lookup order above, or ReportToolMissing in one line."""
    node = shutil.which("node")
    if node is None:
        raise ReportToolMissing("Node.js (node) is not on PATH: Allure 3 needs Node.js 20 or "
                                "later (then `maip-dr report --install-allure`)")
    if not config.is_file():
        raise ReportToolMissing(f"{config} is missing (the Allure 3 configuration of maip-dr)")
    if explicit is not None:
        found = allure_cli(explicit)
        if found is None:
            raise ConfigError(f"{explicit}: not an Allure 3 install (give its cli.js, the "
                              "`allure` command npm installed, or a folder holding "
                              "node_modules/allure)", key=f"--allure/{ALLURE_ENV}")
        return AllureTool(node, found, config, "--allure")
    for source, folder in (("clone", clone), ("cache", cache)):
        found = allure_cli(folder / "node_modules" / "allure") if folder is not None else None
        if found is not None:
            return AllureTool(node, found, config, source)
    raise ReportToolMissing(missing_message(cache, clone))


def install_allure(cache: Path, manifests: Path, *,
                   timeout_s: float = NPM_CI_TIMEOUT_S) -> Path:
    """``npm ci`` in ``cache`` from the ``package.json`` and ``package-lock.json`` in
    ``manifests``; returns the installed ``cli.js``. Needs npm and the npm registry (or the
    user's npm mirror and cache)."""
    npm = shutil.which("npm")
    if npm is None:
        raise ReportToolMissing("npm is not on PATH: `maip-dr report --install-allure` needs "
                                "Node.js 20 or later with npm")
    cache.mkdir(parents=True, exist_ok=True)
    for name in MANIFEST_FILES:
        source = manifests / name
        if not source.is_file():
            raise ReportToolMissing(f"{source} is missing (the pinned Allure 3 of maip-dr)")
        shutil.copyfile(source, cache / name)
    command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(command, cwd=cache, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as error:
        raise ReportFailed(f"`npm ci` in {cache} took over {timeout_s:.0f}s") from error
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ReportFailed(f"`npm ci` in {cache} failed (exit {done.returncode}): "
                           f"{tail[0][:300]}")
    found = allure_cli(cache / "node_modules" / "allure")
    if found is None:
        raise ReportFailed(f"`npm ci` in {cache} did not install Allure 3 "
                           "(node_modules/allure/cli.js)")
    return found
