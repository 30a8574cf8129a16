"""Whether an embedded simulation runs its data plane (real PostgreSQL behind RDS, DNS).

One rule for every place that hosts the embedded simulation (``maip-dr gameday``,
``maip-dr readiness``, ``pytest``): as asked, or, when nothing was asked, whenever PostgreSQL
binaries are found. Without them the caller is told, in one line, where they were looked for.
Not supported: a data plane for ``sim`` or ``live`` targets (a ``sim up --data-plane`` process
has the one it was started with; a live target has its own databases).
"""

from __future__ import annotations

from collections.abc import Callable

from maip_drlib.config import Target
from maip_drlib.errors import ConfigError


def refuse_unless_embedded(target: Target, asked: bool | None, flag: str | None = None) -> None:
    """A data-plane choice (``asked`` not None) for a sim or live target: a ConfigError
    naming ``flag`` (default ``--data-plane`` or ``--no-data-plane``, as asked)."""
    if asked is None or target.kind == "embedded":
        return
    flag = flag or ("--data-plane" if asked else "--no-data-plane")
    raise ConfigError(f"only for the embedded target; target {target.name!r} is "
                      f"{target.kind} (a sim target has the data plane it was started "
                      "with: 'maip-dr sim up --data-plane')", key=flag)


def embedded_data_plane(asked: bool | None, warn: Callable[[str], None],
                        off_flag: str = "--no-data-plane") -> bool:
    """``asked`` when given; else True when PostgreSQL binaries are found, else warn, False."""
    if asked is not None:
        return asked
    from maip_drlib.sim.postgres import find_binaries, search_places

    if find_binaries() is not None:
        return True
    warn("maip-dr: no PostgreSQL binaries (looked in: " + "; ".join(search_places())
         + "): the simulation runs without its data plane; the database checks and RDS RPO "
         f"report 'not configured' (install the 'sim' extra, or pass {off_flag} to say so)")
    return False
