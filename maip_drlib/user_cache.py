"""The per-user cache folder of the suite: ``$XDG_CACHE_HOME/maip-dr``, else ``~/.cache/maip-dr``.

Holds what can be rebuilt at any time (the Allure 3 install ``maip-dr report --install-allure``
fills, the simulation's seeded snapshots); deleting it costs only time. A relative
``XDG_CACHE_HOME`` is ignored, as the XDG specification says. Not supported: Windows folders.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def user_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/maip-dr``, else ``$HOME/.cache/maip-dr``."""
    xdg = environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    else:
        base = (Path(environ["HOME"]) if environ.get("HOME") else Path.home()) / ".cache"
    return base / "maip-dr"
