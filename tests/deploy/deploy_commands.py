"""Find the ``maip-dr`` command lines that the deploy files run, and check them against the
click command tree of ``maip_drlib.cli`` (commands, options, choices; values that are shell
variables are not checked)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import yaml

from maip_drlib.cli import cli

SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>&1", "2>", "(", ")"}


def split_shell(script: str) -> Iterator[list[str]]:
    """Every ``maip-dr`` invocation in a shell script, as argv (up to a shell operator)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if "maip-dr" not in line or line.startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for start, token in enumerate(tokens):
            if token != "maip-dr":
                continue
            argv = []
            for item in tokens[start:]:
                if item in SHELL_OPERATORS or set(item) <= set("|&;<>()"):
                    break
                argv.append(item)
            yield argv


def _containers(document: Any) -> Iterator[dict]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from _containers(value)
    elif isinstance(document, list):
        for item in document:
            yield from _containers(item)


def kubernetes_commands(path: Path, entrypoint: list[str]) -> Iterator[list[str]]:
    for document in yaml.safe_load_all(path.read_text()):
        for container in _containers(document):
            command = container.get("command") or entrypoint
            argv = [*command, *container.get("args", [])]
            if argv[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
                yield from split_shell(" ".join(argv[2:]))
            elif argv and argv[0] == "maip-dr":
                yield argv


def workflow_commands(path: Path) -> Iterator[list[str]]:
    workflow = yaml.safe_load(path.read_text())
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                yield from split_shell(step["run"])


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) per instruction, continuation lines joined, comments dropped."""
    lines = [line for line in path.read_text().splitlines()
             if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_commands(path: Path) -> Iterator[list[str]]:
    import json

    instructions = dockerfile_instructions(path)
    entry = [json.loads(rest) for word, rest in instructions if word == "ENTRYPOINT"]
    cmd = [json.loads(rest) for word, rest in instructions if word == "CMD"]
    if entry:
        yield [*entry[-1], *(cmd[-1] if cmd else [])]
    for word, rest in instructions:
        if word == "RUN":
            yield from split_shell(rest.replace(" && ", "\n"))


def _is_variable(value: str) -> bool:
    return "$" in value


def check(argv: list[str]) -> list[str]:
    """Problems of one ``maip-dr`` argv against the CLI ([] when every part exists)."""
    return walk(argv)[1]


def command_path(argv: list[str]) -> str:
    """The command an argv runs, e.g. ``maip-dr sim up``."""
    return " ".join(walk(argv)[0])


def walk(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the command path, the problems) of one ``maip-dr`` argv against the click tree."""
    assert argv[0] == "maip-dr", argv
    command: click.Command = cli
    path = ["maip-dr"]
    problems: list[str] = []
    args = argv[1:]
    index = 0
    positional = 0
    while index < len(args):
        token = args[index]
        where = " ".join(path)
        if token.startswith("-") and token != "-":
            name, _, inline = token.partition("=")
            option = next((p for p in command.params if isinstance(p, click.Option)
                           and (name in p.opts or name in p.secondary_opts)), None)
            if option is None:
                if name == "--help":
                    index += 1
                    continue
                problems.append(f"{where}: no option {name}")
                index += 1
                continue
            if not option.is_flag and not option.count:
                value = inline if inline else (args[index + 1] if index + 1 < len(args) else None)
                if value is None:
                    problems.append(f"{where}: option {name} needs a value")
                elif not _is_variable(value):
                    try:
                        option.type.convert(value, option, None)
                    except click.BadParameter as error:
                        problems.append(f"{where}: {name} {value!r}: {error.message}")
                index += 1 if inline else 2
            else:
                index += 1
            continue
        if isinstance(command, click.Group):
            sub = command.commands.get(token)
            if sub is None:
                problems.append(f"{where}: no command {token!r}")
                return path, problems
            command, path = sub, [*path, token]
            positional = 0
        else:
            arguments = [p for p in command.params if isinstance(p, click.Argument)]
            if positional >= len(arguments) and not command.allow_extra_args:
                problems.append(f"{where}: unexpected argument {token!r}")
            elif positional < len(arguments) and not _is_variable(token):
                try:
                    arguments[positional].type.convert(token, arguments[positional], None)
                except click.BadParameter as error:
                    problems.append(f"{where}: argument {token!r}: {error.message}")
            positional += 1
        index += 1
    if isinstance(command, click.Group) and "--help" not in args:
        problems.append(f"{' '.join(path)}: a group, no command given")
    return path, problems
