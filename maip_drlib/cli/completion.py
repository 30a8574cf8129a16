"""``maip-dr completion bash|zsh|fish``: print click's own shell-completion script.

The script is the one click generates for ``_MAIP_DR_COMPLETE=<shell>_source maip-dr``; it
calls ``maip-dr`` back at every TAB, so completions follow the installed version (commands,
options, choices such as ``stage failover|failback``). Not supported: PowerShell, completing
target names from a config file, completion when the suite is run as ``python -m``.
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

PROG_NAME = "maip-dr"
COMPLETE_VAR = "_MAIP_DR_COMPLETE"

INSTALL = {
    "bash": 'eval "$(maip-dr completion bash)"            # in ~/.bashrc',
    "zsh": 'eval "$(maip-dr completion zsh)"             # in ~/.zshrc, after compinit',
    "fish": "maip-dr completion fish | source             # in ~/.config/fish/config.fish",
}


@click.command("completion")
@click.argument("shell", type=click.Choice(sorted(INSTALL)))
def completion_command(shell: str) -> None:
    """Print the shell-completion script for SHELL (bash, zsh or fish) on stdout.

    \b
    bash: eval "$(maip-dr completion bash)"     (add it to ~/.bashrc)
    zsh:  eval "$(maip-dr completion zsh)"      (~/.zshrc, after compinit)
    fish: maip-dr completion fish | source      (~/.config/fish/config.fish)

    The same script comes from click directly: _MAIP_DR_COMPLETE=bash_source maip-dr.
    Read-only: it prints text and touches nothing. Exit codes: 0 printed; 2 unknown shell.
    """
    from maip_drlib.cli import cli

    completion_class = get_completion_class(shell)
    if completion_class is None:  # the Choice above only lists shells click knows
        raise click.BadParameter(f"no completion for {shell!r}", param_hint="SHELL")
    script = completion_class(cli, {}, PROG_NAME, COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))  # byte for byte what click prints
