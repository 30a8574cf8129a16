"""How ``maip-dr`` prints: human text, ``--json``, ``--quiet``, colour and live progress.

Decided once, in the CLI process, from the global options (``maip-dr --json``, ``--quiet``,
``--color auto|always|never``), the command's own ``--json``/``--quiet`` and the environment
(``NO_COLOR``), then handed to the command's pytest session (it runs in this process, its
output through the redaction layer) and to any process started from it through environment
variables: ``PY_COLORS`` (and ``NO_COLOR`` when colour is off) for pytest's own output, and
``MAIP_DR_PROGRESS`` (``tty:COLUMNS``, ``plain`` or ``off``) for the wait display of
``maip_drlib.waits``.

- ``--json``: stdout carries one JSON document, written at the end; everything else (pytest,
  progress, the human summary) goes to stderr. File descriptor 1 is pointed at stderr for the
  run, so subprocesses follow.
- ``--quiet``: only errors (stderr) and the final verdict line (stdout); subprocess output
  and progress are discarded (file descriptors 1 and 2 point at the null device for the run).
- Everything printed passes the redaction layer (``redact``: the environment's secrets and
  secret-looking patterns), the JSON document included: its data is redacted string by
  string before it is serialised (``Output.redact_value``), never the serialised text.
- Colour: on only where the stream is a terminal, never with ``NO_COLOR`` set (any value but
  empty), never in a JSON document.

Not supported: ``--quiet`` with ``--dr-pause-between-stages`` (the question would be hidden),
``--json`` on commands without a document (``sim``, ``report``, ``init``, ``completion``: they
refuse it, exit 2), and Windows consoles (the file-descriptor redirection is POSIX).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import click

from maip_drlib import waits
from maip_drlib.errors import ConfigError
from maip_drlib.waits import PROGRESS_ENV

OUTPUT_MODES = "maip_output_modes"  # attribute on commands that support --json/--quiet


def colour_wanted(choice: str, environ: Mapping[str, str], stream: TextIO) -> bool:
    """``always``/``never``, or (``auto``) a terminal and no ``NO_COLOR``."""
    if choice == "always":
        return True
    if choice == "never" or environ.get("NO_COLOR", ""):
        return False
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Output:
    """The output settings of one command run and its real stdout/stderr."""

    json: bool = False
    quiet: bool = False
    color_choice: str = "auto"
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    redact: Callable[[str], str] = field(default=lambda text: text)

    def redact_value(self, data: Any) -> Any:
        """``data`` as JSON types with every string passed through ``redact`` and values under
        secret-looking keys masked: redacted before serialising, so escaped and non-ASCII
        secrets are caught as they are, not as ``json.dumps`` spells them."""
        from maip_drlib.evidence.redact import MARK, is_secret_key

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                return self.redact(value)
            if isinstance(value, dict):
                return {self.redact(k) if isinstance(k, str) else k:
                        MARK if is_secret_key(k) and v is not None else walk(v)
                        for k, v in value.items()}
            if isinstance(value, list):
                return [walk(item) for item in value]
            return value

        return walk(json.loads(json.dumps(data, default=str)))

    def _echo(self, text: str, stream: TextIO) -> None:
        click.echo(self.redact(text), file=stream, color=self.color(stream))

    def color(self, stream: TextIO) -> bool:
        return colour_wanted(self.color_choice, os.environ, stream)

    def info(self, text: str) -> None:
        """Progress and notes: stderr, not with --quiet."""
        if not self.quiet:
            self._echo(text, self.stderr)

    def error(self, text: str) -> None:
        """Always shown, on stderr."""
        self._echo(text, self.stderr)

    def result(self, text: str) -> None:
        """Human results: stdout; stderr under --json; nothing under --quiet."""
        if self.quiet:
            return
        self._echo(text, self.stderr if self.json else self.stdout)

    def verdict(self, text: str) -> None:
        """The final verdict line: stdout (also under --quiet); stderr under --json."""
        if self.json and self.quiet:
            return
        self._echo(text, self.stderr if self.json else self.stdout)

    def document(self, data: Any) -> None:
        """The JSON document of --json, on the real stdout (never coloured)."""
        if self.json:
            self.stdout.write(json.dumps(self.redact_value(data), indent=2) + "\n")
            self.stdout.flush()

    def style(self, text: str, *, ok: bool | None) -> str:
        """``text`` in green (ok), red (not ok) or yellow (None); stripped where no colour."""
        if ok is None:
            return click.style(text, fg="yellow", bold=True)
        return click.style(text, fg="green" if ok else "red", bold=True)


def root_settings(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    root.ensure_object(dict)
    return root.obj  # type: ignore[no-any-return]


def supports_output(command: click.Command) -> click.Command:
    """Mark a command as honouring --json/--quiet (the others refuse the global flags)."""
    setattr(command, OUTPUT_MODES, True)
    return command


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The per-command ``--json`` and ``--quiet`` (the same as the global ones)."""
    func = click.option("--quiet", "quiet", is_flag=True, default=False,
                        help="Print only errors and the final verdict (also 'maip-dr "
                             "--quiet CMD').")(func)
    return click.option("--json", "as_json", is_flag=True, default=False,
                        help="Print one JSON document on stdout (progress on stderr; also "
                             "'maip-dr --json CMD').")(func)


def start_output(ctx: click.Context, *, as_json: bool = False, quiet: bool = False,
                 capture: bool = True) -> Output:
    """The output of this command run; with ``capture``, stdout (and under --quiet stderr)
    of this process and its subprocesses is redirected until the command ends."""
    settings = root_settings(ctx)
    as_json = as_json or bool(settings.get("json"))
    quiet = quiet or bool(settings.get("quiet"))
    choice = str(settings.get("color") or "auto")
    sys.stdout.flush()
    sys.stderr.flush()
    if capture and (as_json or quiet) and _on_descriptors():
        real_out, real_err = ctx.with_resource(_redirected(quiet=quiet))
    else:
        real_out, real_err = sys.stdout, sys.stderr
    from maip_drlib.evidence.edge_secrets import redactor_from_environment

    output = Output(json=as_json, quiet=quiet, color_choice=choice, stdout=real_out,
                    stderr=real_err, redact=redactor_from_environment(os.environ).text)
    configure_children(output)
    settings["output"] = output
    return output


def current_output(ctx: click.Context) -> Output:
    """The command's ``Output`` (a plain one when the command did not start one)."""
    settings = root_settings(ctx)
    found = settings.get("output")
    if isinstance(found, Output):
        return found
    return Output(json=bool(settings.get("json")), quiet=bool(settings.get("quiet")),
                  color_choice=str(settings.get("color") or "auto"))


def _on_descriptors() -> bool:
    """Whether sys.stdout and sys.stderr are file descriptors 1 and 2 (not so in a test's
    in-process runner, which captures at the Python level: there nothing is redirected)."""
    try:
        return sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _redirected(*, quiet: bool) -> Iterator[tuple[TextIO, TextIO]]:
    """Point fd 1 at stderr (JSON) or the null device (quiet; fd 2 too) for the block;
    yield text streams on the original stdout and stderr."""
    saved_out, saved_err = os.dup(1), os.dup(2)
    real_out = os.fdopen(saved_out, "w", buffering=1, encoding="utf-8")
    real_err = os.fdopen(saved_err, "w", buffering=1, encoding="utf-8")
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null if quiet else 2, 1)
        if quiet:
            os.dup2(null, 2)
        yield real_out, real_err
    finally:
        for stream in (sys.stdout, sys.stderr, real_out, real_err):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        real_out.close()  # closes the saved descriptors: a late write fails, never lands
        real_err.close()  # on a reused descriptor
        os.close(null)


@contextlib.contextmanager
def environment_kept() -> Iterator[None]:
    """Restore the variables ``configure_children`` sets, and the wait display, at the end
    (the CLI run inside a test process leaves nothing behind)."""
    saved = {name: os.environ.get(name) for name in ("PY_COLORS", "NO_COLOR", PROGRESS_ENV)}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        waits.reset_progress()


def configure_children(output: Output) -> None:
    """Colour and progress for the command's pytest session (pytest reads ``PY_COLORS``) and
    any process it starts, via the environment, and the wait display of this process."""
    out_colour = not output.json and not output.quiet and output.color(output.stdout)
    os.environ["PY_COLORS"] = "1" if out_colour else "0"
    if not out_colour:
        os.environ["NO_COLOR"] = "1"
    elif output.color_choice == "always":
        os.environ.pop("NO_COLOR", None)
    if output.quiet:
        mode = "off"
    elif _isatty(output.stderr):
        mode = f"tty:{shutil.get_terminal_size((100, 24)).columns}"
    else:
        mode = "plain"
    os.environ[PROGRESS_ENV] = mode
    waits.set_progress(waits.progress_from_setting(mode, stream=output.stderr))


def refuse_unsupported(command: click.Command, path: str) -> None:
    """Wrap a command that prints no document so the global --json/--quiet refuse (exit 2)."""
    if getattr(command, OUTPUT_MODES, False) or command.callback is None:
        return
    original = command.callback

    def guarded(*args: Any, **kwargs: Any) -> Any:
        settings = root_settings(click.get_current_context())
        for flag in ("json", "quiet"):
            if settings.get(flag):
                raise ConfigError(f"'{path}' does not support --{flag}", key=f"--{flag}")
        return original(*args, **kwargs)

    command.callback = guarded


def check_quiet_with_pause(output: Output, paused: bool) -> None:
    if output.quiet and paused:
        raise ConfigError("it would hide the approval question of --dr-pause-between-stages",
                          key="--quiet")
