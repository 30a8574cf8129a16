"""Fixtures of the fault matrix: one simulation for the in-process rows, and the recorder.

Every row records (outcome, seconds to verdict); at the end of the session the figures are
written to ``fault-matrix.json`` in pytest's base temporary folder and, with
``--write-fault-matrix FILE``, the table of FILE (between its ``<!-- matrix -->`` markers) is
replaced by the run's table. The option is registered when this folder is named on the command
line (``pytest tests/faults --write-fault-matrix docs/fault-matrix.md``). Generated tables live
in ``docs/`` only: a ``README.md`` target is refused before the run (a usage error).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_rows import MEASURED, Recorder, render

from maip_drlib.sim.simulation import SimSettings, Simulation

_MARKERS = re.compile(r"(<!-- matrix -->\n).*?(<!-- /matrix -->)", re.DOTALL)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--write-fault-matrix", default=None, metavar="FILE",
                     help="Write the measured fault matrix table into FILE (between its "
                          "<!-- matrix --> markers): docs/fault-matrix.md. A README.md is "
                          "refused (generated tables live in docs/ only).")


def matrix_target(value: str | None) -> Path | None:
    """The file ``--write-fault-matrix`` writes, or None; a README.md is refused (the README
    links docs/fault-matrix.md and holds no generated table)."""
    if value is None:
        return None
    path = Path(value)
    if path.name.lower() == "readme.md":
        raise pytest.UsageError(f"--write-fault-matrix {value}: the fault matrix lives in "
                                "docs/fault-matrix.md only, never in a README")
    return path


def pytest_configure(config: pytest.Config) -> None:
    matrix_target(config.getoption("--write-fault-matrix", default=None))  # refuse early


@pytest.fixture()
def record() -> Recorder:
    return Recorder()


@pytest.fixture(scope="session", autouse=True)
def _write_matrix(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    target = matrix_target(request.config.getoption("--write-fault-matrix", default=None))
    yield
    if not MEASURED:
        return
    out = tmp_path_factory.getbasetemp() / "fault-matrix.json"
    out.write_text(json.dumps(MEASURED, indent=2, sort_keys=True))
    table = render(MEASURED)
    if target is None:
        return
    text = target.read_text() if target.exists() else "<!-- matrix -->\n<!-- /matrix -->\n"
    if not _MARKERS.search(text):
        raise pytest.UsageError(f"{target}: no <!-- matrix --> ... <!-- /matrix --> markers")
    target.write_text(_MARKERS.sub(lambda m: m.group(1) + table + m.group(2), text))


@pytest.fixture(scope="module")
def simulation() -> Iterator[Simulation]:
    with Simulation(settings=SimSettings(time_scale=0.05, metric_period_s=0.5)) as running:
        yield running
