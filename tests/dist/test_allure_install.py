"""``maip-dr report --install-allure`` (``npm ci`` into the per-user cache) with a fake ``npm``
on PATH (no network), and a report built with an Allure that does not sit beside the
configuration (a fake Allure package run by the real Node.js: the staged ``allurerc.mjs`` must
resolve its ``import ... from "allure"``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from maip_drlib.evidence.allure_install import AllureTool, ReportFailed, install_allure
from maip_drlib.evidence.html_report import build_report

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent

# Records its arguments and what it found in its folder, then installs a fake Allure 3.
FAKE_NPM = """#!{python}
import json, os, pathlib, sys
here = pathlib.Path.cwd()
pathlib.Path(os.environ["FAKE_NPM_LOG"]).write_text(json.dumps(
    {{"argv": sys.argv[1:], "cwd": str(here), "files": sorted(p.name for p in here.iterdir())}}))
if os.environ.get("FAKE_NPM_FAIL"):
    print("npm ERR! network request failed", file=sys.stderr)
    sys.exit(1)
package = here / "node_modules" / "allure"
package.mkdir(parents=True, exist_ok=True)
(package / "package.json").write_text(json.dumps({{"name": "allure", "version": "3.18.0"}}))
(package / "cli.js").write_text("// fake")
"""


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable))
    npm.chmod(0o755)
    log = tmp_path / "npm.json"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    return log


def test_install_runs_npm_ci_in_the_cache_from_the_shipped_lock_file(tmp_path, fake_npm):
    cache = tmp_path / "cache" / "maip-dr" / "allure"
    cli_js = install_allure(cache, ROOT)
    assert cli_js == (cache / "node_modules" / "allure" / "cli.js").resolve()
    ran = json.loads(fake_npm.read_text())
    assert ran["argv"] == ["ci", "--no-audit", "--no-fund", "--loglevel=error"]
    assert ran["cwd"] == str(cache) and ran["files"] == ["package-lock.json", "package.json"]
    assert (cache / "package-lock.json").read_bytes() == (ROOT / "package-lock.json").read_bytes()


def test_a_failed_npm_ci_is_one_line_with_its_last_words(tmp_path, fake_npm, monkeypatch):
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(ReportFailed) as raised:
        install_allure(tmp_path / "cache", ROOT)
    assert raised.value.exit_code == 4
    assert str(raised.value) == (f"`npm ci` in {tmp_path / 'cache'} failed (exit 1): "
                                 "npm ERR! network request failed")


def test_the_command_installs_into_xdg_cache_home_from_an_empty_folder(tmp_path, fake_npm):
    work = tmp_path / "empty"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAIP_")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path))
    done = subprocess.run([str(BIN_DIR / "maip-dr"), "report", "--install-allure"], cwd=work,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    cache = tmp_path / "xdg" / "maip-dr" / "allure"
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"maip-dr: Allure 3 installed: {cache / 'node_modules' / 'allure' / 'cli.js'}",
        "maip-dr: no drill in reports to report yet"]
    assert list(work.iterdir()) == []


FAKE_ALLURE_CLI = """
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
const args = process.argv.slice(2);
const config = (await import(pathToFileURL(args[args.indexOf("--config") + 1]).href)).default;
const out = args[args.indexOf("--output") + 1];
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "index.html"), `<html>${config.name} by a fake allure</html>`);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (node) is not installed")
def test_a_report_with_allure_elsewhere_stages_the_config_beside_it(tmp_path):
    package = tmp_path / "elsewhere" / "node_modules" / "allure"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps(
        {"name": "allure", "version": "3.18.0", "type": "module",
         "exports": {".": "./index.js"}}))
    (package / "index.js").write_text("export const defineConfig = (config) => config;\n")
    (package / "cli.js").write_text(FAKE_ALLURE_CLI)
    drill = tmp_path / "reports" / "gameday-1"
    (drill / "attempt-1" / "allure-results").mkdir(parents=True)
    (drill / "attempt-1" / "allure-results" / "x-result.json").write_text("{}")
    # the project's own configuration (it imports defineConfig from "allure") where a wheel
    # puts it: in a folder without node_modules
    config = tmp_path / "site-packages" / "maip_drlib" / "_scenarios" / "allurerc.mjs"
    config.parent.mkdir(parents=True)
    shutil.copyfile(ROOT / "allurerc.mjs", config)
    tool = AllureTool(str(shutil.which("node")), package / "cli.js", config, "--allure")
    index = build_report(drill, tool=tool)
    assert index.read_text() == "<html>MAIP DR drill by a fake allure</html>"
    assert sorted(p.name for p in config.parent.iterdir()) == ["allurerc.mjs"]
    leftovers = [p for p in Path(tempfile.gettempdir()).glob("maip-dr-allure-*")
                 if (p / "node_modules" / "allure").resolve() == package.resolve()]
    assert leftovers == []
