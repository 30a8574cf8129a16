"""The runner image's Dockerfile (it cannot be built here: its instructions are checked)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_commands import dockerfile_instructions

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
IGNORE = ROOT / "deploy" / "docker" / "Dockerfile.dockerignore"
INSTRUCTIONS = dockerfile_instructions(DOCKERFILE)


def values(word: str) -> list[str]:
    return [rest for w, rest in INSTRUCTIONS if w == word]


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, in order (a FROM starts one)."""
    found: list[list[tuple[str, str]]] = []
    for word, rest in INSTRUCTIONS:
        if word == "FROM":
            found.append([])
        found[-1].append((word, rest))
    return found


BUILD, RUNNER = stages()


def test_slim_python_base_that_the_project_supports():
    bases = values("FROM")
    assert bases[0].endswith(" AS build") and len(bases) == 2
    for base in (bases[0].removesuffix(" AS build"), bases[1]):
        match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", base)
        assert match, base
        assert int(match.group(1)) >= 11  # pyproject: requires-python >= 3.11


def test_runs_as_a_non_root_user_created_in_the_image():
    users = values("USER")
    assert users, "no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    last_user = max(i for i, (w, _) in enumerate(INSTRUCTIONS) if w == "USER")
    last_run = max(i for i, (w, _) in enumerate(INSTRUCTIONS) if w == "RUN")
    assert last_user > last_run  # the container's process is not root
    assert any(f"--uid {user}" in run for run in values("RUN"))


def test_builds_the_wheel_then_installs_it_without_the_simulation_or_test_extras():
    build_runs = " ".join(rest for w, rest in BUILD if w == "RUN")
    assert re.search(r"pip wheel --no-deps --wheel-dir /dist \.(\s|$)", build_runs), build_runs
    runner_runs = " ".join(rest for w, rest in RUNNER if w == "RUN")
    assert re.search(r"pip install /tmp/dist/maip_dr-\*\.whl(\s|$)", runner_runs), runner_runs
    assert "pip install -e" not in runner_runs and "--editable" not in runner_runs
    assert [rest for w, rest in RUNNER if w == "COPY"] == ["--from=build /dist/ /tmp/dist/"]
    assert "[sim" not in DOCKERFILE.read_text() and "[test" not in DOCKERFILE.read_text()
    assert "moto" not in runner_runs and "PIP_NO_CACHE_DIR=1" in " ".join(values("ENV"))


def test_the_reports_folder_is_writable_by_the_runner():
    (workdir,) = [rest for w, rest in RUNNER if w == "WORKDIR"]
    runner_runs = " ".join(rest for w, rest in RUNNER if w == "RUN")
    user = values("USER")[-1]
    assert f"chown {user} {workdir}" in runner_runs  # maip-dr writes ./reports there


def test_the_build_stage_copies_what_the_wheel_is_built_from_and_nothing_else():
    copied = {part.rstrip("/") for w, rest in BUILD if w == "COPY"
              for part in rest.split()[:-1]}
    shipped = {"pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "conftest.py",
               "package.json", "package-lock.json", "allurerc.mjs", "maip_drlib", "features",
               "steps"}
    assert copied == shipped
    for name in copied:
        assert (ROOT / name).exists(), name
    ignore = IGNORE.read_text().splitlines()
    assert ignore[ignore.index("*") if "*" in ignore else 0] == "*"
    for name in copied:
        assert f"!{name}" in ignore or f"!{name}/" in ignore, name


def test_entrypoint_is_the_cli():
    (entry,) = values("ENTRYPOINT")
    assert json.loads(entry) == ["maip-dr"]


def test_the_cli_runs_without_the_simulation_extra(tmp_path):
    """What the image does at build time (maip-dr --help), with moto made unimportable."""
    code = ("import sys; sys.modules['moto'] = None; sys.modules['trustme'] = None\n"
            "from maip_drlib.cli import main\n"
            "main(['--help'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "readiness" in done.stdout and "gameday" in done.stdout
