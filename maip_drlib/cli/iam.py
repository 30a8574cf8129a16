"""``maip-dr iam policies``: the IAM policies and Kubernetes RBAC for the user's own topology.

The documents are rendered by ``maip_drlib.iam_policies.render_policies`` (the function that
writes ``policies/`` for the default topology) from the recorded actions of
``policies/operations.json``, scoped by ``maip_drlib.iam_scope.PolicyScope`` to the config's
topology, the chosen target's database secrets, and the options below. Offline by default:
the account id comes from ``--account-id`` (or the config, once it has one), else the
placeholder ``ACCOUNT_ID`` stays in the ARNs and is named on stderr; ``--account-from-aws``
is the one call this command can make (``sts:GetCallerIdentity`` through the target's
credentials, no permission needed).

Not supported: printing ``operations.json`` (it is the recording, not a policy); policies for
several accounts (one account for both regions); validating the documents against AWS.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from maip_drlib.cli.output import output_options, start_output, supports_output
from maip_drlib.cli.targets import load_cli_config
from maip_drlib.config import Config, Target
from maip_drlib.errors import ConfigError

if TYPE_CHECKING:
    from maip_drlib.iam_scope import PolicyScope

MANAGED_POLICY_LIMIT = 6144  # IAM's size limit of a managed policy, whitespace not counted
_ACCOUNT = re.compile(r"^\d{12}\Z")
_ZONE = re.compile(r"^[A-Z0-9]{1,32}\Z")
_NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:-]{1,255}\Z")  # CloudWatch's namespace characters


@click.group("iam", help="Least-privilege IAM policies and Kubernetes RBAC for your topology "
                         "(docs/iam.md). Read-only: prints or writes files, offline unless "
                         "--account-from-aws.")
def iam_group() -> None:
    pass


@supports_output
@iam_group.command("policies")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write the files into this folder (created) instead of printing them.")
@click.option("--account-id", default=None, metavar="ID",
              help="The 12-digit AWS account of both regions, put into every ARN. Without "
                   "it (and without --account-from-aws) the placeholder ACCOUNT_ID stays.")
@click.option("--account-from-aws", is_flag=True, default=False,
              help="Ask the account with sts:GetCallerIdentity through the target's "
                   "credentials (a sim or live target; the only AWS call this command makes).")
@click.option("--hosted-zone-id", default=None, metavar="ZONE",
              help="The hosted zone's id (e.g. Z0123456789ABC). Without it the Route 53 "
                   "statements name hostedzone/* and changes are limited to the record name.")
@click.option("--s3-bucket", envvar="MAIP_DR_S3_BUCKET", show_envvar=True, default=None,
              help="The evidence bucket of gameday/report --s3-bucket (the placeholder "
                   "EVIDENCE_BUCKET without it).")
@click.option("--s3-prefix", envvar="MAIP_DR_S3_PREFIX", show_envvar=True, default=None,
              help="The key prefix of the uploads (default: gameday's, maip-dr).")
@click.option("--metrics-namespace", envvar="MAIP_DR_METRICS_NAMESPACE", show_envvar=True,
              default=None, help="The CloudWatch namespace cloudwatch:PutMetricData is "
                                 "limited to (default: MAIP/DR).")
@output_options
@click.pass_context
def iam_policies_command(ctx: click.Context, out: Path | None, account_id: str | None,
                         account_from_aws: bool, hosted_zone_id: str | None,
                         s3_bucket: str | None, s3_prefix: str | None,
                         metrics_namespace: str | None, as_json: bool, quiet: bool) -> None:
    """Print (or write with --out) the IAM policies and the Kubernetes RBAC of this config's
    topology: the policies/ files, scoped to your instance, table, cluster, node group,
    secret, bucket and record names and to your namespace. Read-only and offline unless
    --account-from-aws.

    \b
    Examples:
      maip-dr --config maip-dr.toml iam policies --account-id 123456789012
      maip-dr --config maip-dr.toml --target prod iam policies --account-from-aws --out iam/

    Exit codes: 0 written or printed; 2 bad input (config, option, missing
    policies/operations.json) or AWS credentials; 4 AWS unreachable (--account-from-aws).
    """
    from maip_drlib.iam_policies import load_operations, render_policies

    output = start_output(ctx, as_json=as_json, quiet=quiet)
    config = load_cli_config(ctx)
    target = _chosen_target(ctx, config, required=account_from_aws)
    if account_id is not None and account_from_aws:
        raise ConfigError("give --account-id or --account-from-aws, not both",
                          key="--account-from-aws")
    if account_from_aws and target is not None:
        account_id = _account_from_aws(target, config)
    account_id = account_id or _config_account(config)
    scope = _scope(config, target, account_id=account_id, hosted_zone_id=hosted_zone_id,
                   s3_bucket=s3_bucket, s3_prefix=s3_prefix,
                   metrics_namespace=metrics_namespace)
    try:
        files = render_policies(load_operations(), scope)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot render the policies: {error}",
                          key="policies/operations.json") from error
    for name, text in files.items():
        size = len(re.sub(r"\s", "", text))
        if name.endswith(".json") and size > MANAGED_POLICY_LIMIT:
            output.error(f"maip-dr: {name} has {size} characters without whitespace, over "
                         f"the {MANAGED_POLICY_LIMIT} of a managed policy: attach it inline "
                         "to a role (10,240) or split its statements")
    placeholders = scope.placeholders()
    if placeholders:
        output.error("maip-dr: placeholders left in the ARNs: " + ", ".join(placeholders)
                     + " (replace them, or give --account-id / --s3-bucket)")
    output.document({"topology": config.source or "defaults",
                     "target": target.name if target else None, "account": scope.account,
                     "placeholders": placeholders,
                     "files": {name: json.loads(text) if name.endswith(".json") else text
                               for name, text in files.items()}})
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        output.verdict(f"wrote {len(files)} files to {out}: {', '.join(files)}")
        return
    if not output.json:
        for name, text in files.items():
            click.echo(f"==> {name} <==\n{text}", nl=False)
            click.echo("")


def _chosen_target(ctx: click.Context, config: Config, *, required: bool) -> Target | None:
    """The target named by --target (or the config's only or default one), if any."""
    name = ctx.find_root().obj.get("target_name")
    if name or config.default_target or len(config.targets) == 1:
        return config.target(name)
    if required:
        raise ConfigError("--account-from-aws needs a sim or live target (--target NAME)",
                          key="--account-from-aws")
    return None


def _config_account(config: Config) -> str | None:
    """The config's account id; the config has no such key today (a later ``account_id``
    of the topology is used when it appears)."""
    value = getattr(config.topology, "account_id", None)
    return str(value) if value else None


def _account_from_aws(target: Target, config: Config) -> str:
    if target.kind == "embedded":
        raise ConfigError("the embedded target has no AWS account; give --account-id",
                          key="--account-from-aws")
    from maip_drlib.permissions import check_credentials
    from maip_drlib.regions import build_region_handles

    handles = build_region_handles(target, config.topology)
    try:
        callers = check_credentials(handles)
    finally:
        handles.close()
    accounts = {arn.split(":")[4] for arn in callers.values() if arn.count(":") >= 5}
    if len(accounts) != 1:
        raise ConfigError(f"expected one account behind the target's credentials, got "
                          f"{sorted(accounts) or 'none (no region answered)'}: give "
                          "--account-id", key="--account-from-aws")
    return accounts.pop()


def _scope(config: Config, target: Target | None, *, account_id: str | None,
           hosted_zone_id: str | None, s3_bucket: str | None, s3_prefix: str | None,
           metrics_namespace: str | None) -> PolicyScope:
    from maip_drlib.iam_scope import (
        DEFAULT_S3_PREFIX,
        PLACEHOLDER_BUCKET,
        PolicyScope,
        check_names,
    )
    from maip_drlib.metrics_publish import DEFAULT_NAMESPACE
    from maip_drlib.report_upload import check_settings

    s3_prefix = DEFAULT_S3_PREFIX if s3_prefix is None else s3_prefix
    metrics_namespace = metrics_namespace or DEFAULT_NAMESPACE

    if account_id is not None and not _ACCOUNT.match(account_id):
        raise ConfigError(f"expected 12 digits, got {account_id!r}", key="--account-id")
    zone = (hosted_zone_id or "").removeprefix("/hostedzone/") or None
    if zone is not None and not _ZONE.match(zone):
        raise ConfigError(f"expected a hosted zone id such as Z0123456789ABC, got "
                          f"{hosted_zone_id!r}", key="--hosted-zone-id")
    if s3_bucket:
        try:
            check_settings(s3_bucket, None, None)
        except ValueError as error:
            raise ConfigError(str(error), key="--s3-bucket") from error
    if any(char in s3_prefix for char in "*?") or not _NAMESPACE.match(metrics_namespace):
        key = "--s3-prefix" if any(char in s3_prefix for char in "*?") else \
            "--metrics-namespace"
        raise ConfigError("wildcards or unexpected characters would widen the grant",
                          key=key)
    secrets = target.database.secret_ids if target and target.database else ()
    kwargs = {"account": account_id} if account_id else {}
    scope = PolicyScope(topology=config.topology, hosted_zone_id=zone,
                        s3_bucket=s3_bucket or PLACEHOLDER_BUCKET, s3_prefix=s3_prefix,
                        metrics_namespace=metrics_namespace, database_secrets=secrets,
                        **kwargs)
    problem = check_names(scope)
    if problem is not None:
        key, message = problem
        raise ConfigError(message, source=config.source, key=key)
    return scope
