"""Where ``maip-dr report`` finds Allure 3, and where the scenarios are found (fake files only).

Lookup order: ``--allure``/``MAIP_DR_ALLURE``, the clone's ``node_modules``, the per-user
cache; when none holds Allure 3, one line names ``--install-allure``, ``--allure`` and
``MAIP_DR_ALLURE``. The scenarios: the clone's top when the library runs from a clone, else the
copy packaged in ``maip_drlib/_scenarios``.
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest

from maip_drlib import scenarios_home as home_module
from maip_drlib.errors import ConfigError
from maip_drlib.evidence import allure_install
from maip_drlib.evidence.allure_install import (
    ReportToolMissing,
    find_allure,
    install_allure,
    missing_message,
    user_cache_dir,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def fake_allure(folder: Path, version: str = "3.18.0") -> Path:
    """An npm ``allure`` package folder (cli.js and package.json); returns cli.js."""
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": "allure", "version": version}))
    cli = folder / "cli.js"
    cli.write_text("// fake\n")
    return cli


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(allure_install.shutil, "which",
                        lambda name: "/usr/bin/node" if name == "node" else None)
    return "/usr/bin/node"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "pkg" / "allurerc.mjs"
    path.parent.mkdir()
    path.write_text("export default {};\n")
    return path


def lookup(explicit: Path | None, config: Path, cache: Path, clone: Path | None):
    return find_allure(explicit, config=config, cache=cache, clone=clone)


# -- the cache folder -------------------------------------------------------------------------

def test_cache_is_under_xdg_cache_home_else_home_dot_cache(tmp_path):
    assert user_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "maip-dr" / "allure"
    assert user_cache_dir({"HOME": "/h"}) == Path("/h/.cache/maip-dr/allure")
    # a relative XDG_CACHE_HOME is invalid by the XDG specification: ignored
    assert user_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.cache/maip-dr/allure")


# -- the lookup order -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["cli.js", "npm bin link", "package folder", "project folder"])
def test_an_explicit_path_wins_over_the_clone_and_the_cache(tmp_path, node, config, shape):
    cli = fake_allure(tmp_path / "mine" / "node_modules" / "allure")
    fake_allure(tmp_path / "clone" / "node_modules" / "allure")
    fake_allure(tmp_path / "cache" / "node_modules" / "allure")
    if shape == "npm bin link":
        (tmp_path / "bin").mkdir()
        explicit = tmp_path / "bin" / "allure"
        explicit.symlink_to(cli)
    else:
        explicit = {"cli.js": cli, "package folder": cli.parent,
                    "project folder": tmp_path / "mine"}[shape]
    tool = lookup(explicit, config, tmp_path / "cache", tmp_path / "clone")
    assert (tool.source, tool.allure_js, tool.node) == ("--allure", cli.resolve(), node)
    assert tool.package == cli.resolve().parent and tool.config == config


@pytest.mark.parametrize("what", ["nothing there", "an Allure 2 package"])
def test_an_explicit_path_without_allure_3_is_refused_in_one_line(tmp_path, node, config, what):
    explicit = tmp_path / "x"
    if what == "an Allure 2 package":
        explicit = fake_allure(tmp_path / "x", version="2.30.0")
    fake_allure(tmp_path / "cache" / "node_modules" / "allure")  # not a silent fallback
    with pytest.raises(ConfigError) as raised:
        lookup(explicit, config, tmp_path / "cache", None)
    message = str(raised.value)
    assert raised.value.exit_code == 2 and "\n" not in message
    assert message.startswith(f"--allure/MAIP_DR_ALLURE: {explicit}: not an Allure 3 install")


def test_the_clone_node_modules_win_over_the_cache(tmp_path, node, config):
    clone_cli = fake_allure(tmp_path / "clone" / "node_modules" / "allure")
    fake_allure(tmp_path / "cache" / "node_modules" / "allure")
    tool = lookup(None, config, tmp_path / "cache", tmp_path / "clone")
    assert (tool.source, tool.allure_js) == ("clone", clone_cli.resolve())


@pytest.mark.parametrize("clone", ["installed wheel (no clone)", "clone without npm ci"])
def test_the_cache_is_used_without_allure_in_a_clone(tmp_path, node, config, clone):
    cache_cli = fake_allure(tmp_path / "cache" / "node_modules" / "allure")
    clone_dir = None if clone.startswith("installed") else tmp_path / "clone"
    tool = lookup(None, config, tmp_path / "cache", clone_dir)
    assert (tool.source, tool.allure_js) == ("cache", cache_cli.resolve())


@pytest.mark.parametrize("clone", [None, Path("/src/maip-dr")])
def test_missing_everywhere_is_one_line_naming_the_command_and_the_options(tmp_path, node,
                                                                           config, clone):
    cache = tmp_path / "cache"
    with pytest.raises(ReportToolMissing) as raised:
        lookup(None, config, cache, clone)
    message = str(raised.value)
    assert raised.value.exit_code == 4 and "\n" not in message
    assert message == missing_message(cache, clone)
    assert message.startswith("Allure 3 is not installed: run `maip-dr report "
                              f"--install-allure` (npm ci into {cache}), or pass --allure PATH "
                              "/ set MAIP_DR_ALLURE to an Allure 3 install")
    assert (f"`npm ci` in {clone}" in message) == (clone is not None)


def test_node_missing_is_one_line(tmp_path, config, monkeypatch):
    monkeypatch.setattr(allure_install.shutil, "which", lambda name: None)
    fake_allure(tmp_path / "cache" / "node_modules" / "allure")
    with pytest.raises(ReportToolMissing, match=r"^Node\.js \(node\) is not on PATH: Allure 3 "
                                                r"needs Node\.js 20 or later"):
        lookup(None, config, tmp_path / "cache", None)


def test_npm_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(allure_install.shutil, "which", lambda name: None)
    with pytest.raises(ReportToolMissing, match=r"^npm is not on PATH: `maip-dr report "
                                                r"--install-allure` needs Node\.js"):
        install_allure(tmp_path / "cache", ROOT)


# -- the command line -------------------------------------------------------------------------

def _drill(reports: Path) -> None:
    results = reports / "gameday-1" / "attempt-1" / "allure-results"
    results.mkdir(parents=True)
    (results / "x-result.json").write_text("{}")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``maip-dr ARGV`` in process (errors mapped to one line and an exit code)."""
    from maip_drlib.cli import main

    with pytest.raises(SystemExit) as done:
        main(argv)
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out + captured.err


def test_report_takes_maip_dr_allure_from_the_environment(tmp_path, node, monkeypatch, capsys):
    _drill(tmp_path / "reports")
    monkeypatch.setenv("MAIP_DR_ALLURE", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code, output = run_cli(["report", "--reports", str(tmp_path / "reports")], capsys)
    assert code == 2, output
    assert output == (f"maip-dr: --allure/MAIP_DR_ALLURE: {tmp_path / 'nowhere'}: not an "
                      "Allure 3 install (give its cli.js, the `allure` command npm installed, "
                      "or a folder holding node_modules/allure)\n")


def test_report_without_allure_anywhere_says_how_to_get_it(tmp_path, node, monkeypatch,
                                                           capsys):
    monkeypatch.setattr(home_module, "clone_root", lambda: None)  # as an installed wheel
    monkeypatch.delenv("MAIP_DR_ALLURE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _drill(tmp_path / "reports")
    code, output = run_cli(["report", "--reports", str(tmp_path / "reports")], capsys)
    assert code == 4, output
    line = missing_message(tmp_path / "xdg" / "maip-dr" / "allure", None)
    assert output == f"maip-dr: {line}\n"


# -- the scenarios ----------------------------------------------------------------------------

def _scenarios(root: Path) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "steps").mkdir()
    (root / "steps" / "__init__.py").write_text("")
    (root / "conftest.py").write_text("")
    return root


def test_a_clone_runs_its_own_scenarios():
    assert home_module.scenarios_home() == ROOT == home_module.clone_root()


def test_the_clone_wins_over_the_packaged_copy(tmp_path):
    clone, packaged = _scenarios(tmp_path / "clone"), _scenarios(tmp_path / "pkg")
    assert home_module.scenarios_home(clone, packaged) == clone


def test_an_installed_wheel_runs_the_packaged_copy(tmp_path):
    site = tmp_path / "site-packages"
    (site / "features").mkdir(parents=True)  # a stray folder is not a clone
    packaged = _scenarios(tmp_path / "site-packages" / "maip_drlib" / "_scenarios")
    assert home_module.clone_root(site) is None
    assert home_module.scenarios_home(site, packaged) == packaged


def test_neither_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as raised:
        home_module.scenarios_home(tmp_path / "a", tmp_path / "b")
    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)
    assert str(raised.value).startswith("the Gherkin scenarios (features/, steps/, conftest.py)"
                                        f" are neither next to the library ({tmp_path / 'a'})")


# -- what setup.py ships ----------------------------------------------------------------------

def _setup_constant(name: str) -> object:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py has no {name}")


def test_the_packaged_pytest_ini_keeps_the_clones_options():
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["addopts"]
    assert _setup_constant("PYTEST_INI") == f"[pytest]\naddopts = {addopts}\n"


def test_setup_ships_every_scenario_file_and_the_sdist_carries_them():
    patterns = [pattern for pattern, _ in _setup_constant("SCENARIO_FILES")]  # type: ignore[misc]
    manifest = (ROOT / "MANIFEST.in").read_text()
    for pattern in patterns:
        assert list(ROOT.glob(pattern)), pattern
        folder, _, glob = pattern.rpartition("/")
        line = f"recursive-include {folder} {glob}" if folder else pattern
        assert line in manifest, line
