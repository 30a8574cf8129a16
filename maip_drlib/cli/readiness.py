"""``maip-dr readiness``: the read-only Gherkin preflight of both regions (pytest -m readiness).

Without a config the pytest run hosts the embedded simulation itself, with its data plane
when PostgreSQL binaries are found (``--data-plane``/``--no-data-plane``). Extra arguments go to
pytest. ``--json`` prints one document (target, elapsed, exit code, every scenario result)
on stdout; ``--quiet`` only the failed checks and the verdict. ``--metrics-namespace``
publishes the result as CloudWatch metrics (``ReadinessCheck``, ``ReadinessPassed``) and
``MAIP_DR_WEBHOOK_URL`` notifies a run that did not pass, both through
``drill.operations.after_readiness`` as a game day does.

Not supported: publishing metrics of a run on the embedded simulation (its CloudWatch ends
with the run; it is said so), uploading evidence (readiness keeps none). Exit codes: 0 every
check passed; 1 a check failed; 2 bad input; 4 nothing reachable.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from maip_drlib.cli.consent import consent_options, require_write_consent
from maip_drlib.cli.features import feature_folders, features_args, features_option
from maip_drlib.cli.output import Output, output_options, start_output, supports_output
from maip_drlib.cli.passthrough import check_passthrough
from maip_drlib.config import Target
from maip_drlib.drill import results_table
from maip_drlib.drill.pytest_runner import run_scenarios
from maip_drlib.drill.stage_result import StageResult, rows

PASSTHROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


@supports_output
@click.command("readiness", context_settings=PASSTHROUGH)
@output_options
@click.option("--metrics-namespace", envvar="MAIP_DR_METRICS_NAMESPACE", show_envvar=True,
              default=None, help="Publish the result as CloudWatch metrics in this namespace "
                                 "(e.g. MAIP/DR), from the region that is up.")
@click.option("--data-plane/--no-data-plane", default=None,
              help="Embedded target only: run the simulation with (default, when PostgreSQL "
                   "binaries are found) or without its data plane (real PostgreSQL behind "
                   "RDS, a DNS server); with it the database role check runs. Refused (exit "
                   "2) for sim and live targets.")
@consent_options("publishing the readiness metrics (--metrics-namespace)")
@features_option
@click.pass_context
def readiness_command(ctx: click.Context, as_json: bool, quiet: bool,
                      metrics_namespace: str | None, data_plane: bool | None,
                      dr_execute: bool, dr_confirm: str | None,
                      features: tuple[Path, ...]) -> None:
    """Read-only preflight of both regions; safe at any time, also against production.

    Checks EKS, node groups, capacity and quotas, deployments, images, secrets, RDS, DynamoDB,
    MSK, Route 53, the DR load balancer and the public endpoint (features/readiness.feature),
    and the @readiness scenarios of a team's own folders (--features DIR, [features] paths).
    Safety: the checks never write and need no safety flag; on sim and live targets
    --metrics-namespace (a write) needs --dr-execute --dr-confirm NAME (exit 3 before any call
    otherwise). Extra arguments go to pytest (-k, -x, -v; the suite's own options are
    refused). Exit codes: 0 every check passed; 1 a check failed; 2 bad input; 4 nothing
    reachable; 130 interrupted.
    """
    from maip_drlib.cli.drill_attempt import redactor_for
    from maip_drlib.cli.drill_options import operations_from_cli
    from maip_drlib.cli.targets import load_cli_config, load_target
    from maip_drlib.drill.operations import after_readiness

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    root = ctx.find_root().obj
    target = load_target(ctx)  # validated at the edge: a bad config exits 2 before pytest
    from maip_drlib.sim.data_plane_choice import refuse_unless_embedded

    refuse_unless_embedded(target, data_plane)
    extra = check_passthrough(ctx.args)
    operations = operations_from_cli(ctx, metrics_namespace, None, "maip-dr")
    if metrics_namespace:
        require_write_consent(target, execute=dr_execute, confirm=dr_confirm,
                              what="publishing the readiness metrics")
    dr_args: list[str] = []
    if root.get("config_path") is not None:
        dr_args += ["--dr-config", str(Path(root["config_path"]).resolve())]
    if root.get("target_name"):
        dr_args += ["--dr-target", root["target_name"]]
    if data_plane is not None:
        dr_args += ["--dr-data-plane", "on" if data_plane else "off"]
    dr_args += features_args(feature_folders(load_cli_config(ctx), features))
    banner = " (SIMULATED platform)" if target.simulated else ""
    output.info(f"Readiness of target {target.name!r} [{target.kind}]{banner}")
    started = time.monotonic()
    redactor = redactor_for(None)
    with tempfile.TemporaryDirectory(prefix="maip-readiness-") as folder:
        results_path = Path(folder) / "results.json"
        run = run_scenarios("readiness", "readiness", results_path=results_path,
                            dr_args=dr_args, extra_args=extra, redactor=redactor)
    code = results_table.exit_code(run.results, [run.exit_code])
    elapsed = time.monotonic() - started
    after_readiness(operations, rows(run.results), target=target,
                    topology=load_cli_config(ctx).topology, exit_code=code,
                    redactor=redactor, echo=output.info)
    output.document({"target": {"name": target.name, "kind": target.kind,
                                "simulated": target.simulated},
                     "elapsed_s": round(elapsed, 3), "exit_code": code,
                     "verdict": "PASS" if code == 0 else "FAIL", "results": rows(run.results)})
    _print_verdict(output, target, run.results, code, elapsed, banner)
    ctx.exit(code)


def _print_verdict(output: Output, target: Target, results: tuple[StageResult, ...],
                   code: int, elapsed: float, banner: str) -> None:
    if output.quiet:
        for failed in (r for r in results if r.failed):
            output.error(f"maip-dr: FAILED {failed.scenario}: "
                         f"{' '.join(str(failed.message or '').split())[:300]}")
    passed = sum(r.passed for r in results)
    word = output.style("PASS" if code == 0 else "FAIL", ok=code == 0)
    output.verdict(f"readiness of {target.name!r} [{target.kind}]{banner}: {word}, {passed}/"
                   f"{len(results)} scenarios passed in {elapsed:.1f}s (exit {code})")
