"""Help texts every ``maip-dr`` command must carry: what it does, its safety, its exit codes.

``complete_help(command, path)`` adds an epilog to the commands whose own help does not state
their safety and exit codes (the ``sim`` group and ``report``), so ``--help`` of every command
answers "is this safe to run now, and what does the exit code mean". ``missing_help(command)``
names what a help text lacks (used by the tests that audit every command).

Not supported: translations; the epilogs are static text.
"""

from __future__ import annotations

import click

SIM_SAFETY = ("Safety: acts only on a simulation on 127.0.0.1 (loopback URLs are enforced); it "
              "never reaches AWS or a real cluster.")
SIM_FAULT_EXIT = ("Exit codes: 0 done; 2 bad input or no running simulation named "
                  "(--control-url, the env file or a sim target); 4 the simulation did not "
                  "answer; 130 interrupted.")

EPILOGS: dict[str, str] = {
    "maip-dr sim up": (f"{SIM_SAFETY} Exit codes: 0 stopped cleanly (Ctrl-C or SIGTERM); 2 bad "
                       "input (a folder that does not exist, a bad --after); 1 a stage failed "
                       "on the way to the --after state; 4 the simulation could not start."),
    "maip-dr sim fault": f"{SIM_SAFETY} {SIM_FAULT_EXIT}",
    "maip-dr report": ("Safety: reads the drill's evidence and writes only <reports>/<drill "
                       "id>/html/ (outside the sealed manifests); with --s3-bucket it also "
                       "uploads the drill folder. It never touches the platform."),
}


def _epilog_for(path: str) -> str | None:
    if path in EPILOGS:
        return EPILOGS[path]
    if path.startswith("maip-dr sim fault "):
        return EPILOGS["maip-dr sim fault"]
    if path == "maip-dr sim":
        return f"{SIM_SAFETY} See each command's --help for its exit codes."
    return None


def missing_help(command: click.Command) -> list[str]:
    """What the command's help and epilog do not state: 'safety' and/or 'exit codes'."""
    text = " ".join(f"{command.help or ''} {command.epilog or ''}".lower().split())
    missing = []
    if not any(word in text for word in ("safety", "read-only", "mutat")):
        missing.append("safety")
    if "exit code" not in text and not isinstance(command, click.Group):
        missing.append("exit codes")
    return missing


def complete_help(command: click.Command, path: str) -> None:
    """Add the safety and exit-code epilog where the command's own help lacks them."""
    epilog = _epilog_for(path)
    if epilog and missing_help(command):
        command.epilog = f"{command.epilog}\n\n{epilog}" if command.epilog else epilog
