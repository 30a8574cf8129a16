"""Consent for writes at the command line (DESIGN.md 4a): on ``sim`` and ``live`` targets
nothing writes (lease, canaries, metrics, uploads, tables, stages) without ``--dr-execute``
and ``--dr-confirm`` repeating the target's name, checked before the first call (exit 3).

Commands whose main work is read-only (``readiness``, ``report``) take the two flags only for
their optional write (``--metrics-namespace``, ``--s3-bucket``). The embedded simulation needs
no consent: it is created for the run and gone after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from maip_drlib.config import Target
from maip_drlib.errors import GuardRefused


def consent_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--dr-execute`` and ``--dr-confirm TARGET`` for a command's optional ``what``."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.option("--dr-confirm", default=None, metavar="TARGET",
                            help=f"Repeat the target's name: with --dr-execute, allows {what} "
                                 "on sim and live targets.")(func)
        return click.option("--dr-execute", is_flag=True, default=False,
                            help=f"Allow {what} (a write) on sim and live targets.")(func)
    return decorate


def require_write_consent(target: Target, *, execute: bool, confirm: str | None,
                          what: str) -> None:
    """Refuse (exit 3, nothing called) ``what`` on a sim or live target without consent."""
    if target.kind not in ("sim", "live") or (execute and confirm == target.name):
        return
    missing = [flag for flag, ok in (("--dr-execute", execute),
                                     (f"--dr-confirm {target.name}", confirm == target.name))
               if not ok]
    wrong = (f" (--dr-confirm {confirm!r} does not name it)"
             if confirm and confirm != target.name else "")
    raise GuardRefused(f"{what} writes to the {target.kind} target {target.name!r}: pass "
                       f"{' and '.join(missing)}{wrong}; nothing was called")
