"""The ``maip-dr`` command line: the edge where the environment and arguments are read.

Exit codes (DESIGN.md section 8): 0 every check passed; 1 a DR check failed; 2 bad input or
usage, nothing called, also AWS credentials missing, expired or rejected, or an IAM permission
missing (the denied call was not made); 3 refused by a safety guard; 4 suite or environment
error; 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from botocore.exceptions import NoCredentialsError, ProfileNotFound

from maip_drlib.errors import DRError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_GUARD, EXIT_ENVIRONMENT = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 all passed; 1 a DR check failed; 2 bad input or usage, AWS credentials "
    "missing or expired, or an IAM permission missing; "
    "3 refused by a safety guard; 4 suite or environment error; 130 interrupted."
)


@click.group(help="Disaster-recovery verification and game days for MAIP.\n\n" + EXIT_CODES_HELP)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              envvar="MAIP_DR_CONFIG", show_envvar=True,
              help="TOML config with the topology and named targets. Without it the embedded "
                   "simulation is used.")
@click.option("--target", "target_name", default=None, envvar="MAIP_DR_TARGET",
              show_envvar=True, help="Name of the target in the config.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, target_name: str | None) -> None:
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["target_name"] = target_name


def _register_commands() -> None:
    from maip_drlib.cli_config import config_group
    from maip_drlib.cli_drill import gameday_command, lease_group, plan_command, stage_command
    from maip_drlib.cli_evidence import verify_command
    from maip_drlib.cli_readiness import readiness_command
    from maip_drlib.cli_report import report_command
    from maip_drlib.cli_sim import sim_group

    cli.add_command(gameday_command)
    cli.add_command(stage_command)
    cli.add_command(plan_command)
    cli.add_command(readiness_command)
    cli.add_command(sim_group)
    cli.add_command(config_group)
    cli.add_command(report_command)
    cli.add_command(verify_command)
    cli.add_command(lease_group)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, mapping the library's errors to one line and an exit code."""
    from maip_drlib.evidence.edge_secrets import redactor_from_environment
    from maip_drlib.evidence.log_redaction import install

    install(redactor_from_environment(os.environ))  # every log record, at any level
    try:
        code = cli.main(args=argv, prog_name="maip-dr", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("maip-dr: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as error:  # one line, as every other bad input
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        click.echo(f"maip-dr: {error.format_message().rstrip('.')}{hint}", err=True)
        sys.exit(EXIT_USAGE if error.exit_code in (1, 2) else error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except DRError as error:
        click.echo(f"maip-dr: {error}", err=True)
        sys.exit(error.exit_code)
    except (NoCredentialsError, ProfileNotFound) as error:  # a client not built by a handle
        click.echo(f"maip-dr: AWS credentials: {error}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("maip-dr: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
