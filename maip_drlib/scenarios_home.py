"""Where the Gherkin scenarios (and Allure 3's npm manifest) of this installation live.

Two layouts: a clone (or an editable install of one), with ``features/``, ``steps/`` and the
root ``conftest.py`` beside the ``maip_drlib`` folder; and a wheel or sdist install, whose
build copied them (with ``package.json``, ``package-lock.json``, ``allurerc.mjs`` and a
``pytest.ini``) into ``maip_drlib/_scenarios/`` (see setup.py). The clone wins when both
exist. Either folder is a pytest root: pytest runs in it, so its ``conftest.py`` and ``steps``
package load the same way in both layouts.

Not supported: scenarios anywhere else (a team's own Gherkin is added with ``--features``, on
top of these), and a clone whose ``features/`` or ``steps/`` was removed (it falls back to the
packaged copy only when the library itself came from a wheel).
"""

from __future__ import annotations

from pathlib import Path

from maip_drlib.errors import ConfigError

LIBRARY = Path(__file__).resolve().parent
CLONE_ROOT = LIBRARY.parent
PACKAGED_ROOT = LIBRARY / "_scenarios"


def _holds_scenarios(root: Path) -> bool:
    return ((root / "features").is_dir() and (root / "steps" / "__init__.py").is_file()
            and (root / "conftest.py").is_file())


def clone_root(candidate: Path = CLONE_ROOT) -> Path | None:
    """The clone this library runs from, or None for an installed wheel (site-packages)."""
    return candidate if _holds_scenarios(candidate) else None


def scenarios_home(clone: Path = CLONE_ROOT, packaged: Path = PACKAGED_ROOT) -> Path:
    """The pytest root holding ``features/``, ``steps/`` and ``conftest.py``: the clone's top
    when the library runs from a clone, else the packaged copy; ConfigError (one line) if
    neither exists."""
    for root in (clone, packaged):
        if _holds_scenarios(root):
            return root
    raise ConfigError(f"the Gherkin scenarios (features/, steps/, conftest.py) are neither next "
                      f"to the library ({clone}) nor packaged in {packaged}: reinstall maip-dr "
                      "from its wheel or sdist, or run it from a clone")
