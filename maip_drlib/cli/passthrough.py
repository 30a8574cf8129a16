"""The pytest arguments ``gameday`` and ``stage`` pass through (after ``--``), checked before
anything starts.

Only options that change what pytest prints or where it stops are accepted; everything the
suite decides itself is refused, because pytest keeps the last of a repeated option and would
act on another target, phase or plugin set than the one the CLI checked, confirmed and
leased: ``--dr-*`` (target, consent, declaration), ``-m`` (the phase), ``-p`` (plugins),
``-c``/``--rootdir``/``-o`` (configuration), ``--alluredir`` (the evidence), and file or
folder arguments (what is collected). A ``-k`` expression is compiled with pytest's own
expression parser, so a typo is a usage error (exit 2) before any simulation, lease, canary
or evidence folder.

Not supported: options of third-party pytest plugins other than ``--timeout``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

from maip_drlib.errors import ConfigError

KEY = "pass-through arguments"


def _expression(value: str) -> None:
    # pytest's own parser of -k and -m (internal; ParseError before pytest 8.4, SyntaxError
    # since): the same verdict pytest would give, without starting it.
    from _pytest.mark import expression

    errors = tuple(e for e in (getattr(expression, "ParseError", None), SyntaxError) if e)
    try:
        expression.Expression.compile(value)
    except errors as error:
        detail = getattr(error, "message", None) or getattr(error, "msg", None) or error
        raise ValueError(f"not a valid -k expression ({detail})") from error


def _count(value: str) -> None:
    if not value.isdigit():
        raise ValueError("expected a whole number")


def _seconds(value: str) -> None:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (number > 0 and math.isfinite(number)):
        raise ValueError("expected a finite number of seconds > 0")


def _log_level(value: str) -> None:
    if not isinstance(logging.getLevelName(value.upper()), int):
        raise ValueError("expected a logging level (DEBUG, INFO, WARNING, ERROR)")


def _one_of(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
    return check


def _report_chars(value: str) -> None:
    if not value or set(value) - set("fEsxXpPaAwN"):
        raise ValueError("expected characters of fEsxXpPaAwN")


# Flags without a value.
FLAGS = frozenset({"-x", "--exitfirst", "-v", "-vv", "-vvv", "--verbose", "-q", "--quiet",
                   "-s", "-l", "--showlocals", "--no-header", "--no-summary", "-rA"})
# Options with one value, and the check of that value.
VALUED: dict[str, Callable[[str], None]] = {
    "-k": _expression, "--maxfail": _count, "--tb": _one_of("auto", "long", "short", "line",
                                                           "native", "no"),
    "-r": _report_chars, "--capture": _one_of("fd", "sys", "no", "tee-sys"),
    "--log-level": _log_level, "--log-cli-level": _log_level, "--durations": _count,
    "--timeout": _seconds,
}
OWNED = ("--dr-", "--alluredir", "--allure", "-p", "-c", "--config-file", "--rootdir",
         "-o", "--override-ini", "-m", "--confcutdir", "--noconftest", "--pyargs",
         "--basetemp", "--co", "--collect-only", "--lf", "--ff", "--sw", "--stepwise")


def check_passthrough(args: Sequence[str]) -> list[str]:
    """``args`` if every one is accepted; else one ``ConfigError`` line naming the argument."""
    index = 0
    while index < len(args):
        arg = args[index]
        name, has_value, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg == "--":
            index += 1
            continue
        if name.startswith(OWNED) and not name.startswith(("--capture", "--tb")) \
                and name not in FLAGS and name not in VALUED:
            raise ConfigError(f"{arg!r} is the suite's own to set; it cannot be passed through "
                              "to pytest (use maip-dr's own options before '--')", key=KEY)
        if name in FLAGS and not has_value:
            index += 1
            continue
        if name in VALUED or (len(arg) > 2 and arg[:2] in VALUED and not arg.startswith("--")):
            if name not in VALUED:  # -kEXPR, -rfE: the value glued to a short option
                name, value, has_value = arg[:2], arg[2:], "="
            if not has_value:
                if index + 1 >= len(args):
                    raise ConfigError(f"{name} needs a value", key=KEY)
                value = args[index + 1]
                index += 1
            try:
                VALUED[name](value)
            except ValueError as error:
                raise ConfigError(f"{name} {value!r}: {error}", key=KEY) from error
            index += 1
            continue
        accepted = ", ".join(sorted(FLAGS | set(VALUED)))
        what = "file or folder arguments" if not arg.startswith("-") else repr(arg)
        raise ConfigError(f"{what} cannot be passed through to pytest (accepted: {accepted})",
                          key=KEY)
    return list(args)
