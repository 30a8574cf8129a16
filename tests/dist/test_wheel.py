"""The distribution works outside a clone: sdist -> wheel -> a fresh venv -> an empty folder.

Offline: the sdist is built with setuptools' PEP 517 hook from a copy of the project, the wheel
with ``pip wheel --no-deps --no-build-isolation --no-index`` from the unpacked sdist (so
MANIFEST.in and setup.py are both exercised), and installed with ``--no-deps --no-index`` into
a fresh venv. Its dependencies come from this environment through a ``.pth`` file listing this
environment's site-packages: a path listed in a ``.pth`` is added to ``sys.path`` without
processing that folder's own ``.pth`` files, so the project's editable install does not leak
in (checked: ``maip_drlib`` imports from the new venv). Then, from an empty folder,
``maip-dr steps`` (the packaged step definitions), ``maip-dr readiness`` and ``maip-dr
gameday`` (the embedded simulation, no config), ``verify`` of the drill written to
``./reports``, and ``report`` with ``--allure`` when Node.js and the clone's Allure 3 are
there.

Building needs setuptools >= 70.1 here (bdist_wheel built in: the test extra pins it); with an
older one and no ``wheel`` package the tests skip, saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gameday, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
HERE_BIN = Path(sys.executable).parent
NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv*", "venv-awscli", "node_modules", "reports", "build", "dist", "*.egg-info",
    "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".work")


def _can_build_wheels() -> str | None:
    """Why this environment cannot build a wheel offline, or None."""
    major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    if (major, minor) >= (70, 1):
        return None
    try:
        version("wheel")
    except Exception:  # importlib.metadata.PackageNotFoundError
        return (f"setuptools {version('setuptools')} needs the `wheel` package to build a "
                "wheel offline: pip install 'setuptools>=70.1' (the test extra pins it)")
    return None


def _offline_env(**extra: str) -> dict[str, str]:
    """This environment, minus the project's own settings, pip's configuration and indexes."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MAIP_", "AWS_", "PIP_", "KUBECONFIG", "PYTHONPATH",
                                  "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               **extra)
    return env


def _run(command: list[str], *, cwd: Path, env: dict[str, str],
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path
    work: Path  # the empty folder the commands run in
    env: dict[str, str]

    def maip_dr(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return _run([str(self.venv / "bin" / "maip-dr"), *args], cwd=self.work, env=self.env,
                    timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    reason = _can_build_wheels()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("dist")
    env = _offline_env()
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED, symlinks=True)
    hook = ("import sys; from setuptools import build_meta; "
            "print(build_meta.build_sdist(sys.argv[1]))")
    done = _run([sys.executable, "-c", hook, str(base / "sdist")], cwd=source, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    archive = base / "sdist" / done.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        tar.extractall(base / "unpacked", filter="data")
    (unpacked,) = (base / "unpacked").iterdir()
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--no-index", "-w", str(base / "wheels"), str(unpacked)], cwd=base, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = (base / "wheels").glob("maip_dr-*.whl")

    venv = base / "venv"
    done = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base, env=env)
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    # Byte-compiled as pip does by default: a module compiled on first use inside a stage
    # would count against that stage's RTO budget (2.5 s for failover 1 here).
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                 "--no-index", str(wheel)], cwd=base, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    done = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cwd=base, env=env)
    site_packages = Path(done.stdout.strip())
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "_maip_dr_test_dependencies.pth").write_text("\n".join(ours) + "\n")

    work = base / "work"
    work.mkdir()
    path = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != HERE_BIN]
    run_env = {**env, "HOME": str(base / "home"), "XDG_CACHE_HOME": str(base / "home" / "c"),
               "PATH": os.pathsep.join([str(venv / "bin"), *path])}
    (base / "home").mkdir()
    return Installed(wheel, venv, site_packages, work, run_env)


def test_the_wheel_ships_the_scenarios_and_the_allure_manifest(installed):
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    shipped = {name.removeprefix("maip_drlib/_scenarios/") for name in names
               if name.startswith("maip_drlib/_scenarios/")}
    expected = {"conftest.py", "pytest.ini", "package.json", "package-lock.json",
                "allurerc.mjs"}
    expected |= {f"features/{p.name}" for p in (ROOT / "features").glob("*.feature")}
    expected |= {f"steps/{p.name}" for p in (ROOT / "steps").glob("*.py")}
    expected |= {f"policies/{p.name}" for p in (ROOT / "policies").iterdir()}
    assert shipped == expected
    assert not any(name.startswith(("features/", "steps/", "conftest.py")) for name in names)


def test_the_new_venv_imports_the_installed_library_not_the_clone(installed):
    code = ("import importlib.util, maip_drlib\n"
            "from maip_drlib.scenarios_home import clone_root, scenarios_home\n"
            "print(maip_drlib.__file__); print(scenarios_home()); print(clone_root())\n"
            "print(importlib.util.find_spec('steps'))\n")
    done = _run([str(installed.venv / "bin" / "python"), "-c", code], cwd=installed.work,
                env=installed.env)
    assert done.returncode == 0, done.stderr
    module, home, clone, steps = done.stdout.splitlines()
    assert Path(module) == installed.site_packages / "maip_drlib" / "__init__.py"
    assert Path(home) == installed.site_packages / "maip_drlib" / "_scenarios"
    assert (clone, steps) == ("None", "None")  # no clone, no top-level `steps` package


def test_the_step_catalogue_reads_the_packaged_steps(installed):
    done = installed.maip_dr("steps", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Given the RTO budget of this stage is {minutes} minutes" in done.stdout


def test_the_iam_policies_come_from_the_packaged_policies(installed):
    done = installed.maip_dr("iam", "policies", "--account-id", "123456789012", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "arn:aws:rds:us-east-1:123456789012:db:maip-prod-postgres" in done.stdout


def test_readiness_from_an_empty_folder(installed):
    done = installed.maip_dr("readiness", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASS" in done.stdout + done.stderr
    assert not list((installed.site_packages / "maip_drlib" / "_scenarios").glob("reports"))


def test_a_game_day_from_an_empty_folder_writes_its_evidence_there(installed):
    done = installed.maip_dr("gameday", timeout=600)
    output = done.stdout[-4000:] + done.stderr[-3000:]
    (drill,) = (installed.work / "reports").iterdir()
    attempt = drill / "attempt-1"
    assert drill.name.startswith("gameday-") and attempt.is_dir(), output
    assert any((attempt / "allure-results").iterdir())
    # Exit 1 is accepted only for stages over their RTO budget (a loaded 2-core machine runs
    # the simulation at 0.5 s per simulated minute): every scenario passed or was skipped.
    assert done.returncode in (0, 1), output
    failed = [(path.name, r["scenario"]) for path in attempt.glob("results-*.json")
              if not path.name.endswith(".decisions.json")
              for r in json.loads(path.read_text()) if r["outcome"] == "failed"]
    assert not failed, output
    reasons = json.loads((attempt / "summary.json").read_text())["reasons"]
    assert all("RTO" in reason for reason in reasons), reasons
    assert (done.returncode == 0) == (not reasons), output
    assert not list((installed.site_packages / "maip_drlib" / "_scenarios").glob("reports"))

    # Unsigned (no key): intact only against the final digest the game day printed.
    digest = re.search(r"final digest: (sha256:[0-9a-f]{64})", done.stdout)
    assert digest, output
    done = installed.maip_dr("verify", "--json", "--expect-digest", digest[1], timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["verdict"] == "intact"

    allure = ROOT / "node_modules" / "allure"
    if shutil.which("node") is None or not (allure / "cli.js").is_file():
        return  # the report needs Node.js and an Allure 3 (tests/dist/test_allure_install)
    done = installed.maip_dr("report", "--allure", str(allure), timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (drill / "html" / "index.html").is_file()
