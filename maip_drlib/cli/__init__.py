"""The ``maip-dr`` command line: the edge where the environment and arguments are read.

Global options: ``--config``, ``--target``, ``--json``, ``--quiet`` and ``--color`` (output
modes: ``maip_drlib.cli.output``). Commands that print no document refuse ``--json`` and
``--quiet`` (exit 2) rather than ignore them.

Exit codes (DESIGN.md section 8): 0 every check passed; 1 a DR check failed; 2 bad input or
usage, nothing called, also AWS credentials missing, expired or rejected, or an IAM permission
missing (the denied call was not made); 3 refused by a safety guard; 4 suite or environment
error; 130 interrupted (SIGINT); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from botocore.exceptions import NoCredentialsError, ProfileNotFound

from maip_drlib.errors import ConfigError, DRError

if TYPE_CHECKING:
    from maip_drlib.evidence.redact import Redactor

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_GUARD, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

EXIT_CODES_BLOCK = """Exit codes:
  0    every check passed
  1    a DR check or stage failed (a verdict about the platform)
  2    bad input or usage (nothing was called), AWS credentials missing or
       expired, an IAM permission missing
  3    refused by a safety guard (nothing was mutated)
  4    suite or environment error (target unreachable, internal error)
  130  interrupted (SIGINT)
  143  terminated (SIGTERM): the drill ended its pytest session, journalled
       where it stopped and released the lease"""

MAIN_HELP = f"""Disaster-recovery verification and game days for MAIP (us-east-1 with a DR copy in
us-west-2). Without --config every command runs against an embedded simulation on 127.0.0.1
and says so.

\b
Start:
  maip-dr init                 write a commented starter config (maip-dr.toml)
  maip-dr config check FILE    validate it; print the resolved targets and topology
  maip-dr readiness            the read-only preflight of both regions
  maip-dr gameday              the full drill with evidence in reports/
  maip-dr iam policies         the IAM policies and RBAC for your topology
  eval "$(maip-dr completion bash)"   shell completion (or zsh, fish)

\b
Safety:
  read-only, safe at any time: readiness, plan, config check, lease show, verify, history
  mutating stages run only with --dr-execute, plus --dr-confirm TARGET on sim
    and live targets (a game day on the embedded simulation implies both)
  a live game day also needs --dr-declare-outage REASON or --dr-planned
  one drill at a time: the drill lease (--dr-break-lease REASON takes it over)

\b
Output:
  --json     one JSON document on stdout, progress on stderr
  --quiet    only errors and the final verdict
  colour only on a terminal, never with NO_COLOR set (--color to force)
  waits show what is awaited and the time elapsed against the deadline

\b
{EXIT_CODES_BLOCK}"""


@click.group(help=MAIN_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              envvar="MAIP_DR_CONFIG", show_envvar=True,
              help="TOML config with the topology and named targets. Without it the embedded "
                   "simulation is used.")
@click.option("--target", "target_name", default=None, envvar="MAIP_DR_TARGET",
              show_envvar=True, help="Name of the target in the config.")
@click.option("--json", "as_json", is_flag=True, default=False,
              help="One JSON document on stdout, progress on stderr (readiness, gameday, "
                   "stage, plan, config check, lease show, verify, history).")
@click.option("--quiet", is_flag=True, default=False,
              help="Only errors and the final verdict.")
@click.option("--color", "color", type=click.Choice(["auto", "always", "never"]),
              default="auto", show_default=True,
              help="Colour: auto means only on a terminal and not with NO_COLOR set.")
@click.version_option(package_name="maip-dr", prog_name="maip-dr")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, target_name: str | None, as_json: bool,
        quiet: bool, color: str) -> None:
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["target_name"] = target_name
    ctx.obj.update(json=as_json, quiet=quiet, color=color)
    if color != "auto" or os.environ.get("NO_COLOR"):
        ctx.color = color == "always"
    from maip_drlib.cli.output import configure_children, current_output, environment_kept

    ctx.with_resource(environment_kept())
    configure_children(current_output(ctx))


def _register_commands() -> None:
    from maip_drlib.cli.approve import approve_command
    from maip_drlib.cli.completion import completion_command
    from maip_drlib.cli.config import config_group
    from maip_drlib.cli.drill import gameday_command, stage_command
    from maip_drlib.cli.evidence import verify_command
    from maip_drlib.cli.help import complete_help
    from maip_drlib.cli.history import history_command
    from maip_drlib.cli.iam import iam_group
    from maip_drlib.cli.init import init_command
    from maip_drlib.cli.lease import lease_group
    from maip_drlib.cli.output import refuse_unsupported
    from maip_drlib.cli.plan import plan_command
    from maip_drlib.cli.readiness import readiness_command
    from maip_drlib.cli.remediation import remediation_group
    from maip_drlib.cli.report import report_command
    from maip_drlib.cli.sim import sim_group
    from maip_drlib.cli.steps import steps_command

    cli.add_command(gameday_command)
    cli.add_command(stage_command)
    cli.add_command(plan_command)
    cli.add_command(readiness_command)
    cli.add_command(sim_group)
    cli.add_command(steps_command)
    cli.add_command(config_group)
    cli.add_command(report_command)
    cli.add_command(verify_command)
    cli.add_command(history_command)
    cli.add_command(remediation_group)
    cli.add_command(lease_group)
    cli.add_command(approve_command)
    cli.add_command(init_command)
    cli.add_command(completion_command)
    cli.add_command(iam_group)
    for command, path in walk_commands(cli, "maip-dr"):
        complete_help(command, path)
        if not isinstance(command, click.Group):
            accept_global_options(command)
            refuse_unsupported(command, path)


def _set_root(name: str) -> Callable[[click.Context, click.Parameter, object], None]:
    """Store an option given after the command where the group's own option goes; the same
    option given twice with two values is refused (exit 2)."""
    def store(ctx: click.Context, param: click.Parameter, value: object) -> None:
        if value is None or value is False:
            return
        root = ctx.find_root().obj
        before = root.get(name)
        if before not in (None, False) and before != value:
            raise ConfigError(f"given twice with different values ({before} and {value})",
                              key=param.opts[0])
        root[name] = value
    return store


# The group's options a user may also give after the command: (option, root key, is flag).
GLOBAL_AFTER_COMMAND = (("--config", "config_path", False), ("--target", "target_name", False),
                        ("--json", "json", True), ("--quiet", "quiet", True))


def accept_global_options(command: click.Command) -> None:
    """``maip-dr gameday --target live`` means ``maip-dr --target live gameday``: add the
    group's options a command does not define itself, so they are never passed to pytest."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    for option, key, flag in GLOBAL_AFTER_COMMAND:
        if option in taken:
            continue
        extra: dict = {"is_flag": True, "default": False} if flag else {"default": None}
        if option == "--config":
            extra["type"] = click.Path(path_type=Path)
        command.params.append(click.Option(
            [option], expose_value=False, callback=_set_root(key), is_eager=True,
            help=f"Same as 'maip-dr {option}' before the command.", **extra))


def walk_commands(group: click.Group, path: str) -> list[tuple[click.Command, str]]:
    """Every command and group under ``group`` with its full path ('maip-dr sim up')."""
    found: list[tuple[click.Command, str]] = []
    for name, command in sorted(group.commands.items()):
        found.append((command, f"{path} {name}"))
        if isinstance(command, click.Group):
            found += walk_commands(command, f"{path} {name}")
    return found


_register_commands()


def _redacted_error(redactor: Redactor, error: DRError) -> str:
    """The error's line through the redactor; a config error's file and key (names, never
    values) stay outside it, so that "MAIP_DR_HMAC_KEY: the key..." is not read as a secret
    key's value."""
    where = getattr(error, "where", "")
    if isinstance(error, ConfigError) and where:
        return f"{where}: {redactor.text(error.message)}"
    return redactor.text(str(error))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, mapping the library's errors to one line and an exit code."""
    from maip_drlib.evidence.edge_secrets import redactor_from_environment
    from maip_drlib.evidence.log_redaction import install

    redactor = redactor_from_environment(os.environ)
    install(redactor)  # every log record, at any level; and every one-line error below
    from maip_drlib.drill.where_it_stands import Terminated, install_sigterm_handler

    install_sigterm_handler()
    try:
        code = cli.main(args=argv, prog_name="maip-dr", standalone_mode=False)
    except (Terminated, click.exceptions.Abort) as stop:  # click wraps Ctrl-C in Abort
        if isinstance(stop, Terminated) or isinstance(stop.__cause__, Terminated):
            click.echo("maip-dr: terminated (SIGTERM)", err=True)
            sys.exit(EXIT_TERMINATED)
        click.echo("maip-dr: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as error:  # one line, as every other bad input
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        click.echo(redactor.text(f"maip-dr: {error.format_message().rstrip('.')}{hint}"),
                   err=True)
        sys.exit(EXIT_USAGE if error.exit_code in (1, 2) else error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except DRError as error:
        click.echo(f"maip-dr: {_redacted_error(redactor, error)}", err=True)
        sys.exit(error.exit_code)
    except (NoCredentialsError, ProfileNotFound) as error:  # a client not built by a handle
        click.echo(redactor.text(f"maip-dr: AWS credentials: {error}"), err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("maip-dr: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def console_main() -> None:
    """The ``maip-dr`` program (``main`` in a process of its own).

    When ``main`` has ended, every file it wrote is closed (evidence is sealed only after
    that), so the interpreter's last garbage collection at exit has nothing to finish: it
    only walks every object a drill left behind, about a second after a game day. They are
    frozen (``gc.freeze``) so that the process ends without that walk; the exit still runs
    its handlers and flushes its streams. ``main`` itself, called in-process (tests, an
    embedding program), freezes nothing.
    """
    try:
        main()
    finally:
        gc.freeze()
