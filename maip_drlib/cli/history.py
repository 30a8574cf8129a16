"""``maip-dr history [REPORTS_DIR]``: every drill of a reports folder, one line each, and the
trend plot.

Oldest first: date (UTC), drill id, target (name, kind, "(simulated)"), verdict, RTO end to
end per phase against its budget, RPO per store (dynamodb, rds, msk: seconds or "not
measured"), open remediation items of the DR test record ("-" without a record) and the
evidence verdict of ``maip-dr verify`` (intact, unverified, tampered), with the key read as
``verify`` reads it (``--hmac-key-file F``, else ``MAIP_DR_HMAC_KEY``). Reading is
``maip_drlib.evidence.history``; the plot (``--plot PATH``, default
``<reports>/history.png``; ``--no-plot`` for none) is ``maip_drlib.evidence.history_plot``.

``--json`` prints one document (reports, drills, plot); ``--quiet`` only the table. Exit codes:
0 listed (also a folder with no drill: one line); 2 a reports folder that does not exist, an
unreadable key file, or two different folders given. A drill that cannot be read is a line
saying "unreadable: <why>", never a failure of the command; nor is a tampered drill (run
``maip-dr verify DRILL`` for its problems).

Not supported: filtering or limiting the drills listed, several reports folders at once, and
drills in S3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from maip_drlib.cli.output import Output, output_options, start_output, supports_output
from maip_drlib.errors import ConfigError
from maip_drlib.evidence.history import PHASES, STORES, DrillRow

HEADER = ("date (UTC)", "drill", "target", "verdict", "RTO end to end (min / budget)",
          "RPO dynamodb / rds / msk", "open items", "evidence")


def _minutes(value: object) -> str:
    return "-" if value is None else f"{float(value):.1f}"  # type: ignore[arg-type]


def _budget(value: object) -> str:
    return "-" if value is None else f"{float(value):g}"  # type: ignore[arg-type]


def rto_cell(row: DrillRow) -> str:
    parts = []
    for phase in PHASES:
        figure = row.rto.get(phase)
        if not figure:
            continue
        state = ("incomplete" if not figure.get("complete", True)
                 else {True: "ok", False: "OVER"}.get(figure.get("ok"), "n/a"))
        parts.append(f"{phase} {_minutes(figure.get('minutes'))} / "
                     f"{_budget(figure.get('budget_minutes'))} {state}")
    return ", ".join(parts) or "-"


def rpo_cell(row: DrillRow) -> str:
    if row.verdict in ("incomplete", "unreadable"):
        return "-"
    return " / ".join("not measured" if row.rpo.get(s) is None else f"{row.rpo[s]:.3f} s"
                      for s in STORES)


def target_cell(row: DrillRow) -> str:
    if row.target is None:
        return "-"
    kind = f" [{row.target_kind}]" if row.target_kind else ""
    return f"{row.target}{kind}" + (" (simulated)" if row.simulated else "")


def cells(row: DrillRow) -> tuple[str, ...]:
    date = f"{row.date[:19].replace('T', ' ')}Z" if row.date else "-"
    items = "-" if row.open_items is None else (", ".join(row.open_items) or "none")
    return (date, row.drill_id, target_cell(row), row.verdict, rto_cell(row), rpo_cell(row),
            items, row.evidence)


def table(rows: list[DrillRow]) -> list[str]:
    """The header and one line per drill, columns aligned; a drill's reading problem is
    appended to its line ("unreadable: <why>")."""
    lines = [HEADER, *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for index, line in enumerate(lines):
        text = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        row = rows[index - 1] if index else None
        if row is not None and row.unreadable:
            text += f"  unreadable: {row.unreadable}"
        out.append(text.rstrip())
    return out


def _reports_folder(positional: Path | None, option: Path | None) -> Path:
    if positional is not None and option is not None and positional != option:
        raise ConfigError(f"two reports folders given ({positional} and {option}); give one",
                          key="--reports")
    return positional or option or Path("reports")


def _plot(output: Output, rows: list[DrillRow], path: Path, reports: Path) -> str | None:
    from maip_drlib.evidence.history_plot import write_history_plot

    try:
        written, undated = write_history_plot(rows, path, title=f"DR drill history of {reports}")
    except OSError as error:
        raise ConfigError(f"cannot write the plot: {error.strerror}", source=str(path),
                          key="--plot") from error
    note = f" ({undated} drill(s) without a date left out)" if undated else ""
    output.result(f"trend plot (RTO end to end, RPO per store): {written}{note}")
    return str(written)


@supports_output
@click.command("history")
@click.argument("reports_arg", required=False, metavar="[REPORTS_DIR]",
                type=click.Path(path_type=Path))
@click.option("--reports", "reports_opt", type=click.Path(path_type=Path), default=None,
              help="Folder holding the drills (same as REPORTS_DIR). Default: reports.")
@click.option("--hmac-key-file", type=click.Path(path_type=Path), default=None,
              help="File holding the HMAC key the evidence is verified with (else the "
                   "MAIP_DR_HMAC_KEY variable; without a key evidence reads 'unverified').")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Where to draw the trend plot (PNG). Default: <reports>/history.png.")
@click.option("--no-plot", is_flag=True, default=False, help="Draw no trend plot.")
@output_options
@click.pass_context
def history_command(ctx: click.Context, reports_arg: Path | None, reports_opt: Path | None,
                    hmac_key_file: Path | None, plot_path: Path | None, no_plot: bool,
                    as_json: bool, quiet: bool) -> None:
    """List every drill of REPORTS_DIR (default reports/), oldest first, one line each:
    date (UTC, when the drill started), drill id, target (simulated or not), verdict, RTO
    end to end per phase against its budget (minutes; simulated minutes on a simulation),
    RPO per store (dynamodb / rds / msk), open remediation items of the DR test record
    (dr-test-record.json; '-' without one) and whether the evidence verifies (intact,
    unverified, tampered: as 'maip-dr verify', with MAIP_DR_HMAC_KEY or --hmac-key-file).
    Then draw the trend plot (--plot PATH, default <reports>/history.png), simulated drills
    marked as such.

    Read-only: it changes no evidence; the plot is the only file written. A drill
    that cannot be read is listed as 'unreadable: <why>'. --json prints one document,
    --quiet only the table.

    Exit codes: 0 listed (also when the folder holds no drill); 2 no such folder, an
    unreadable key file, or two different folders given.
    """
    from maip_drlib.evidence.history import read_history
    from maip_drlib.evidence.manifest import load_key

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    reports = _reports_folder(reports_arg, reports_opt)
    key = load_key(os.environ.get("MAIP_DR_HMAC_KEY"), hmac_key_file)
    rows = read_history(reports, key=key)
    document: dict[str, Any] = {"reports": str(reports), "drills": [r.as_dict() for r in rows],
                                "plot": None, "key_given": key is not None}
    if not rows:
        output.verdict(f"no drill in {reports}")
        output.document(document)
        return
    output.result(f"{len(rows)} drill(s) in {reports}, oldest first"
                  + ("" if key else " (no HMAC key given: evidence at best 'unverified')"))
    show = output.verdict if output.quiet else output.result
    for line in table(rows):
        show(line)
    if not no_plot:
        document["plot"] = _plot(output, rows, plot_path or reports / "history.png", reports)
    output.document(document)
