"""Every ``maip-dr`` command that the deploy files run exists in the CLI, with its options."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_commands import (
    check,
    command_path,
    dockerfile_commands,
    kubernetes_commands,
    split_shell,
    workflow_commands,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENTRYPOINT = ["maip-dr"]  # the image's ENTRYPOINT (checked in test_dockerfile.py)


def all_commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        found += [(path.name, argv) for argv in kubernetes_commands(path, ENTRYPOINT)]
    workflow = DEPLOY / "ci" / "github-workflow.yml"
    found += [(workflow.name, argv) for argv in workflow_commands(workflow)]
    dockerfile = DEPLOY / "docker" / "Dockerfile"
    found += [(dockerfile.name, argv) for argv in dockerfile_commands(dockerfile)]
    return found


COMMANDS = all_commands()


def test_the_files_run_the_expected_commands():
    run = {(name, command_path(argv)) for name, argv in COMMANDS}
    assert run == {
        ("readiness-cronjob.yaml", "maip-dr readiness"),
        ("gameday-job.yaml", "maip-dr gameday"), ("verify-job.yaml", "maip-dr verify"),
        ("github-workflow.yml", "maip-dr readiness"), ("github-workflow.yml", "maip-dr gameday"),
        ("github-workflow.yml", "maip-dr verify"), ("github-workflow.yml", "maip-dr report"),
        ("Dockerfile", "maip-dr")}
    assert len(COMMANDS) == 10  # two game-day lines in the workflow, --help twice in the image


@pytest.mark.parametrize(("source", "argv"), COMMANDS,
                         ids=[f"{s}:{' '.join(a[1:])[:60]}" for s, a in COMMANDS])
def test_command_exists_in_the_cli(source, argv):
    assert check(argv) == []


def test_the_checker_finds_what_does_not_exist():
    assert check(["maip-dr", "readines"]) == ["maip-dr: no command 'readines'"]
    assert check(["maip-dr", "gameday", "--dr-exec"]) == ["maip-dr gameday: no option --dr-exec"]
    assert check(["maip-dr", "plan", "--phase", "sideways"])[0].startswith(
        "maip-dr plan: --phase 'sideways'")
    assert check(["maip-dr", "sim"]) == ["maip-dr sim: a group, no command given"]
    assert check(["maip-dr", "--config", "$X", "gameday", "--dr-confirm", "$C"]) == []
    assert list(split_shell('a | maip-dr --config "$C" readiness --json | tee x')) == [
        ["maip-dr", "--config", "$C", "readiness", "--json"]]
