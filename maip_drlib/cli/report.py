"""``maip-dr report [DRILL_ID] [--reports DIR] [--allure PATH] [--install-allure]
[--s3-bucket B]``: one self-contained HTML report of a drill, optionally copied with the
drill's evidence to S3.

Builds ``<reports>/<drill id>/html/index.html`` with Allure 3 from every attempt's
``allure-results``; without DRILL_ID the most recently changed drill folder is used. Allure 3
is looked up (``maip_drlib.evidence.allure_install``) at ``--allure PATH`` /
``MAIP_DR_ALLURE``, then in the clone's ``node_modules`` (run from a clone), then in the
per-user cache (``$XDG_CACHE_HOME/maip-dr/allure``, default ``~/.cache/maip-dr/allure``);
``--install-allure`` first fills that cache with ``npm ci`` from the lock file that ships with
maip-dr (then builds the report if there is a drill, else stops there, exit 0).

With ``--s3-bucket`` (or ``MAIP_DR_S3_BUCKET``) it then uploads the whole drill folder (every
attempt and the report) through ``maip_drlib.drill.operations.upload_drill``: the same keys,
content types and client as the game day's own upload, ``s3://<bucket>/<prefix>/<drill
id>/...``, with the credentials of the target that ``--config``/``--target`` name.

Exit codes: 0 written (and uploaded); 2 no such drill or no results, a bad bucket name, a
bucket without a sim or live target, or an ``--allure`` path that is not Allure 3; 4 Node.js
or Allure 3 missing (one line naming ``--install-allure``, ``--allure`` and
``MAIP_DR_ALLURE``), ``npm ci`` or Allure failed, or the upload incomplete (the report
stays on disk).

Not supported: reports spanning several drills, opening a browser, uploading to the embedded
target (no simulation runs while the report is built), uploading without the report (a
failed build uploads nothing: the game day's own upload already sent the attempt).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from maip_drlib.cli.consent import consent_options, require_write_consent
from maip_drlib.config import Config, Target
from maip_drlib.drill.evidence_dirs import DRILL_ID
from maip_drlib.errors import ConfigError, DRError


class UploadIncomplete(DRError):
    """The report was built but not every file reached the bucket (exit 4)."""

    exit_code = 4


def _drills(reports: Path) -> list[Path]:
    return [p for p in reports.iterdir() if p.is_dir() and DRILL_ID.match(p.name)
            and any(p.glob("attempt-*"))] if reports.is_dir() else []


def _has_drills(reports: Path) -> bool:
    return bool(_drills(reports))


def _latest_drill(reports: Path) -> Path:
    drills = _drills(reports)
    if not drills:
        raise ConfigError(f"{reports}: no drill folder with attempts", key="DRILL_ID")
    return max(drills, key=lambda p: p.stat().st_mtime)


def _drill_dir(drill_id: str | None, reports_dir: Path) -> Path:
    if drill_id is None:
        return _latest_drill(reports_dir)
    if not DRILL_ID.match(drill_id):
        raise ConfigError(f"drill id {drill_id!r} must be letters, digits, '.', '_' or '-'",
                          key="DRILL_ID")
    drill_dir = reports_dir / drill_id
    if not drill_dir.is_dir():
        raise ConfigError(f"{drill_dir}: no such drill", key="DRILL_ID")
    return drill_dir


def _upload_target(ctx: click.Context, bucket: str) -> tuple[Config, Target]:
    """The checked bucket name and the target whose credentials write it (exit 2 if none)."""
    from maip_drlib.cli.targets import check_live_credentials, load_cli_config, load_target
    from maip_drlib.report_upload import check_settings

    try:
        check_settings(bucket)
    except ValueError as error:
        raise ConfigError(str(error), key="--s3-bucket") from error
    config = load_cli_config(ctx)
    target = load_target(ctx)
    if target.kind == "embedded":
        raise ConfigError("uploading needs --config with a sim or live target (its S3 and "
                          "credentials); the embedded simulation does not outlive its run",
                          key="--s3-bucket")
    check_live_credentials(target, config)
    return config, target


@click.command("report")
@click.argument("drill_id", required=False)
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path), default=Path("reports"),
              show_default=True, help="Evidence folder: <reports>/<drill id>/attempt-<n>/.")
@click.option("--allure", "allure_path", envvar="MAIP_DR_ALLURE", show_envvar=True,
              type=click.Path(path_type=Path), default=None,
              help="Allure 3 to use: its cli.js, the `allure` command npm installed, or a "
                   "folder holding node_modules/allure. Default: the clone's node_modules, "
                   "then the per-user cache.")
@click.option("--install-allure", is_flag=True, default=False,
              help="First install the pinned Allure 3 into the per-user cache "
                   "($XDG_CACHE_HOME/maip-dr/allure, default ~/.cache/maip-dr/allure) with "
                   "`npm ci` (needs Node.js 20+, npm and the npm registry).")
@click.option("--s3-bucket", envvar="MAIP_DR_S3_BUCKET", show_envvar=True, default=None,
              help="Then copy the drill's evidence and the report to this S3 bucket, with the "
                   "credentials of the --config target.")
@click.option("--s3-prefix", envvar="MAIP_DR_S3_PREFIX", show_envvar=True, default="maip-dr",
              show_default=True, help="Key prefix in the bucket.")
@consent_options("the upload (--s3-bucket)")
@click.pass_context
def report_command(ctx: click.Context, drill_id: str | None, reports_dir: Path,
                   allure_path: Path | None, install_allure: bool, s3_bucket: str | None,
                   s3_prefix: str, dr_execute: bool, dr_confirm: str | None) -> None:
    """Build the drill's single-file HTML report (Allure 3) into <reports>/<drill id>/html/,
    and with --s3-bucket copy the drill folder (every attempt and the report) to
    s3://BUCKET/PREFIX/<drill id>/.

    The upload is a write: on sim and live targets it needs --dr-execute --dr-confirm NAME.
    Allure 3 is taken from --allure / MAIP_DR_ALLURE, else the clone's node_modules, else
    the per-user cache that --install-allure fills (`npm ci` from the lock file shipped with
    maip-dr; without a drill to report it installs and stops).

    Exit codes: 0 written (and uploaded), or installed with no drill yet; 3 upload without
    consent; 2 no such drill or no results, a bad bucket, a bucket without a sim or live
    target, or an --allure path that is not Allure 3; 4 Node.js/Allure 3 missing (run
    `maip-dr report --install-allure`), npm ci or Allure failed, or the upload incomplete.
    """
    from maip_drlib.evidence import allure_install
    from maip_drlib.evidence.html_report import build_report, find_allure, results_dirs
    from maip_drlib.scenarios_home import clone_root, scenarios_home

    home = scenarios_home()
    cache = allure_install.user_cache_dir(os.environ)
    if install_allure:
        installed = allure_install.install_allure(cache, home)
        click.echo(f"maip-dr: Allure 3 installed: {installed}")
        if drill_id is None and not _has_drills(reports_dir):
            click.echo(f"maip-dr: no drill in {reports_dir} to report yet")
            return
    drill_dir = _drill_dir(drill_id, reports_dir)
    if not results_dirs(drill_dir):
        raise ConfigError(f"{drill_dir}: no attempt has allure-results to report",
                          key="DRILL_ID")
    upload_to = _upload_target(ctx, s3_bucket) if s3_bucket else None
    if upload_to is not None:
        require_write_consent(upload_to[1], execute=dr_execute, confirm=dr_confirm,
                              what="uploading the evidence")
    tool = find_allure(allure_path, config=home / "allurerc.mjs", cache=cache,
                       clone=clone_root())
    index = build_report(drill_dir, tool=tool)
    click.echo(f"maip-dr: report of drill {drill_dir.name}: {index}")
    if upload_to is None or not s3_bucket:
        return
    from maip_drlib.drill.operations import Operations, upload_drill

    config, target = upload_to
    upload = upload_drill(Operations(s3_bucket=s3_bucket, s3_prefix=s3_prefix), drill_dir,
                          target=target, topology=config.topology,
                          echo=lambda line: click.echo(line, err=True))
    if upload is not None and not upload.complete:
        raise UploadIncomplete(f"the upload to {upload.location} is incomplete; the report "
                               f"and the evidence stay in {drill_dir}")
    if upload is not None:
        click.echo(f"maip-dr: report of drill {drill_dir.name}: "
                   f"{upload.location}html/index.html")
