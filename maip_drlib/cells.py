"""How figures and verdicts read in a table cell (summary.md, the DR test record, webhooks)."""

from __future__ import annotations

from typing import Any


def number(value: Any, spec: str = "g", missing: str = "-") -> str:
    """``value`` formatted as a number with ``spec``; ``missing`` for None; as text when it
    is not a number."""
    if value is None:
        return missing
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def verdict(flag: Any, missing: str = "n/a", yes: str = "ok", no: str = "OVER") -> str:
    """``yes``/``no`` for a truthy/falsy flag, ``missing`` for None (not judged)."""
    return missing if flag is None else (yes if flag else no)
