"""Build hook: ship the Gherkin scenarios inside the package (the metadata is in pyproject.toml).

``features/``, ``steps/`` and the root ``conftest.py`` stay at the top of the repository (where
a clone runs them); a wheel built from the repository or its sdist also carries them, with
Allure 3's npm manifest (``package.json``, ``package-lock.json``) and ``allurerc.mjs``, as
package data in ``maip_drlib/_scenarios/``. That folder is a pytest root, not library code:
``maip_drlib.drill.pytest_runner.scenarios_root`` runs pytest in it when the library is
installed without a clone beside it. Its ``pytest.ini`` pins the options the clone takes from
pyproject.toml, so an unrelated ini file above site-packages is never picked up.

Not supported: editable installs copy nothing (they run the clone's own folders).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGED = "maip_drlib/_scenarios"
# (source pattern relative to the repository top, destination folder inside PACKAGED)
SCENARIO_FILES = (
    ("conftest.py", "."),
    ("features/*.feature", "features"),
    ("steps/*.py", "steps"),
    ("package.json", "."),
    ("package-lock.json", "."),
    ("allurerc.mjs", "."),
    # The IAM policies and the operations list `maip-dr iam policies` reads and checks.
    ("policies/*.json", "policies"),
    ("policies/*.yaml", "policies"),
)
# The clone's [tool.pytest.ini_options] addopts that the scenarios need (test tiers and the
# timeout belong to the test suite, not to a drill).
PYTEST_INI = "[pytest]\naddopts = --strict-markers -p no:allure_pytest\n"


def scenario_sources(top: Path = HERE) -> list[tuple[Path, str]]:
    """Every file to ship, with its path inside ``PACKAGED``; refuses a tree missing one."""
    found: list[tuple[Path, str]] = []
    for pattern, folder in SCENARIO_FILES:
        matches = sorted(top.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"{top / pattern}: nothing to ship in {PACKAGED}")
        found += [(path, str(Path(folder) / path.name)) for path in matches]
    return found


class BuildPyWithScenarios(build_py):
    """``build_py`` that also copies the scenarios into ``<build_lib>/maip_drlib/_scenarios``."""

    def _targets(self) -> list[tuple[Path, Path]]:
        base = Path(self.build_lib) / PACKAGED
        return [(source, base / inside) for source, inside in scenario_sources()]

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in self._targets():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        ini = Path(self.build_lib) / PACKAGED / "pytest.ini"
        ini.write_text(PYTEST_INI, encoding="utf-8")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if getattr(self, "editable_mode", False):
            return outputs
        outputs += [str(target) for _, target in self._targets()]
        return [*outputs, str(Path(self.build_lib) / PACKAGED / "pytest.ini")]


setup(cmdclass={"build_py": BuildPyWithScenarios})
