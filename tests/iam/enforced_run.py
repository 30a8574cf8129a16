"""The suite against a simulation with moto's IAM enforcement on; run as its own process.

moto's enforcement is process-wide (``INITIAL_NO_AUTH_ACTION_COUNT``), so this script hosts its
own ``Simulation`` and prints one JSON document on stdout for ``test_iam_enforced.py``:

1. start the simulation (seeded with enforcement off), create the IAM users
   ``maip-dr-readonly``, ``maip-dr-readiness-metrics`` (read-only plus the metrics add-on)
   and ``maip-dr-operator`` with the repository's policies, rendered for the simulation's
   topology and account (``simulated_policy``: moto checks S3 resources only), one
   ``maip-sim-internal`` user (``*``) whose key is the simulation's fixed dummy key, so the
   simulation's own metric publisher keeps working, and the evidence bucket;
2. switch enforcement on (``POST /moto-api/reset-auth`` with 0: every later request is
   authenticated and authorized);
3. with the read-only user's profile: readiness, then the dry-run plan; publishing metrics and
   uploading evidence, both refused; then failover stage 2 (a destructive stage), which must
   be refused with ``PermissionDenied``; with the add-on, publishing metrics works;
4. with the drill operator's profile: failover stages 1-5 and failback stages 1-4, then the
   game day's operations: metrics published and the evidence uploaded under the prefix its
   policy names, and refused under another prefix.

The credentials reach the region handles as named profiles in a temporary credentials file,
the code path of a live target. Not supported: running inside a process that already hosts a
simulation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import boto3
import requests

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from maip_drlib.config import (  # noqa: E402
    SIM_ACCESS_KEY_ID,
    SIM_SECRET_ACCESS_KEY,
    Target,
    Topology,
)
from maip_drlib.drill import failback, failover, registry  # noqa: E402
from maip_drlib.drill.context import (  # noqa: E402
    DrillContext,
    DrillOptions,
    OutageDeclaration,
    PollPolicy,
    SyntheticRequest,
)
from maip_drlib.drill.planner import plan_drill  # noqa: E402
from maip_drlib.errors import CredentialsError, PermissionDenied  # noqa: E402
from maip_drlib.iam_policies import load_operations, render_policies  # noqa: E402
from maip_drlib.iam_scope import PolicyScope  # noqa: E402
from maip_drlib.metrics_publish import publish, readiness_data  # noqa: E402
from maip_drlib.permissions import (  # noqa: E402
    METRICS_POLICY,
    OPERATOR_POLICY,
    READONLY_POLICY,
)
from maip_drlib.readiness import ReadinessInputs, Thresholds, run_readiness  # noqa: E402
from maip_drlib.regions import RegionHandles, build_region_handles  # noqa: E402
from maip_drlib.report_upload import upload_evidence  # noqa: E402
from maip_drlib.resolvers import SimulationResolver  # noqa: E402
from maip_drlib.sim.simulation import SimSettings, Simulation  # noqa: E402
from maip_drlib.write_gate import WriteGate  # noqa: E402

ACCOUNT = "123456789012"  # moto's default account, where the seed and the users live
INTERNAL_USER = "maip-sim-internal"
BUCKET = "maip-dr-enforced-evidence"
BUCKET_REGION = "us-west-2"
OPERATOR_PREFIX = "operator"  # the operator's policy allows uploads under this prefix only
# Stages run with other than their defaults here (registry.STAGES names the rest): failover 5
# with a synthetic request, failback 2 with a one-minute deadline, failback 3 with a short soak.
STAGE_ARGUMENTS: dict[str, Any] = {
    "failover:5": lambda ctx: failover.stage_5_dr_serves(ctx, SyntheticRequest()),
    "failback:2": lambda ctx: failback.stage_2_resync(ctx, deadline_s=60),
    "failback:3": lambda ctx: failback.stage_3_weighted_shift(
        ctx, soak_s=0.2, max_5xx_per_min=10.0, max_latency_s=1.0),
}


def simulated_policy(document: dict[str, Any]) -> str:
    """The policy document as moto checks it. moto authorizes every action except S3's on the
    resource ``*`` and evaluates a global condition key (``aws:RequestedRegion``) as missing,
    which makes the statement a Deny: so every statement but S3's gets ``Resource: "*"`` and
    no condition (the scoping of those is checked structurally, ``test_policy_scoping``),
    while the S3 statement keeps its bucket and prefix, which moto does check. moto builds
    the action from the SigV4 signing name, ``monitoring`` for CloudWatch, so each
    ``cloudwatch:`` action is also granted as ``monitoring:``."""
    document = json.loads(json.dumps(document))
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else list(actions)
        statement["Action"] = actions + [
            "monitoring:" + action.split(":", 1)[1] for action in actions
            if action.startswith("cloudwatch:")]
        if not all(action.startswith("s3:") for action in actions):
            statement["Resource"] = "*"
            statement.pop("Condition", None)
    return json.dumps(document)


def policies(topology: Topology) -> dict[str, dict[str, Any]]:
    """The repository's policies rendered for the simulation's topology and account, the
    evidence bucket and the operator's upload prefix (``maip-dr iam policies`` does the
    same for a user's topology)."""
    scope = PolicyScope(topology=topology, account=ACCOUNT, s3_bucket=BUCKET,
                        s3_prefix=OPERATOR_PREFIX)
    files = render_policies(load_operations(), scope)
    return {name: json.loads(files[name])
            for name in (READONLY_POLICY, METRICS_POLICY, OPERATOR_POLICY)}


def create_users(endpoint_url: str, topology: Topology) -> dict[str, tuple[str, str]]:
    """The three IAM users and their keys (made while enforcement is still off)."""
    documents = policies(topology)
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint_url,
                       aws_access_key_id=SIM_ACCESS_KEY_ID,
                       aws_secret_access_key=SIM_SECRET_ACCESS_KEY)
    users = {
        "maip-dr-readonly": [simulated_policy(documents[READONLY_POLICY])],
        "maip-dr-readiness-metrics": [simulated_policy(documents[READONLY_POLICY]),
                                      simulated_policy(documents[METRICS_POLICY])],
        "maip-dr-operator": [simulated_policy(documents[OPERATOR_POLICY])],
        INTERNAL_USER: [json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]})],
    }
    keys: dict[str, tuple[str, str]] = {}
    for name, documents in users.items():
        iam.create_user(UserName=name)
        for number, document in enumerate(documents):
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy-{number}",
                                PolicyDocument=document)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = (key["AccessKeyId"], key["SecretAccessKey"])
    # The simulation's own clients sign with the fixed dummy key: give that key to the
    # internal user (moto looks keys up in its IAM users).
    from moto.iam.models import iam_backends

    user = iam_backends[ACCOUNT]["aws"].get_user(INTERNAL_USER)
    user.access_keys[0].access_key_id = SIM_ACCESS_KEY_ID
    user.access_keys[0].secret_access_key = SIM_SECRET_ACCESS_KEY
    return keys


def sign_bodiless_requests_as_sent() -> None:
    """Work around moto 5.2.5 (server mode): to check a SigV4 signature it hashes the request's
    parsed parameters when the body is empty (``data=self._body or self._data``), so every
    bodiless REST request (EKS, MSK and Route 53 GETs) fails with ``SignatureDoesNotMatch``.
    Hash an empty body for GET, HEAD and DELETE, as AWS does (form posts keep moto's way:
    their parsed form is their body). Pinned: the test asserts the bug is still there."""
    from botocore.awsrequest import AWSRequest
    from moto.iam.access_control import IAMRequestBase

    def create_aws_request(self: Any) -> AWSRequest:
        signed = self._get_string_between(
            "SignedHeaders=", ",", self._headers["Authorization"]).split(";")
        headers = self._create_headers_for_aws_request(signed, self._headers)
        bodiless = self._method in ("GET", "HEAD", "DELETE")
        data = self._body or (b"" if bodiless else self._data)
        request = AWSRequest(method=self._method, url=self._path, data=data, headers=headers)
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def enable_enforcement(endpoint_url: str) -> None:
    response = requests.post(f"{endpoint_url}/moto-api/reset-auth", data=b"0", timeout=5)
    response.raise_for_status()


def write_profiles(folder: Path, keys: dict[str, tuple[str, str]]) -> None:
    credentials = folder / "credentials"
    credentials.write_text("".join(
        f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        for name, (key, secret) in {**keys, "maip-dr-bogus": ("AKIABOGUS0000000000", "x")}
        .items()), encoding="utf-8")
    (folder / "config").write_text("", encoding="utf-8")
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
    os.environ["AWS_CONFIG_FILE"] = str(folder / "config")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def handles_of(target: Target, topology: Topology) -> RegionHandles:
    """Region handles that consent to writes: what allows or refuses them here is IAM."""
    return build_region_handles(target, topology,
                                writes=WriteGate.consented(target=target.name))


def with_profile(target: Target, profile: str) -> Target:
    return dataclasses.replace(
        target, primary=dataclasses.replace(target.primary, profile=profile),
        secondary=dataclasses.replace(target.secondary, profile=profile))


def context(simulation: Simulation, handles: RegionHandles, target: Target,
            **options: Any) -> DrillContext:
    return DrillContext(handles=handles, topology=simulation.topology, target=target,
                        resolver=SimulationResolver(target.control_url),
                        options=DrillOptions(**options), poll=PollPolicy(0.1, 0.3))


def error_text(error: BaseException) -> dict[str, Any]:
    return {"type": type(error).__name__, "message": str(error),
            "exit_code": getattr(error, "exit_code", None),
            "action": getattr(error, "action", None), "region": getattr(error, "region", None)}


def create_bucket(endpoint_url: str) -> None:
    boto3.client("s3", region_name=BUCKET_REGION, endpoint_url=endpoint_url,
                 aws_access_key_id=SIM_ACCESS_KEY_ID,
                 aws_secret_access_key=SIM_SECRET_ACCESS_KEY).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": BUCKET_REGION})


def operations(handles: RegionHandles, folder: Path, name: str,
               prefix: str | None = None) -> dict[str, Any]:
    """What the game day's operations do with these credentials: publish one readiness run's
    metrics and upload a small attempt folder (drill/operations.py calls the same two)."""
    data = readiness_data([{"scenario": "enforced", "outcome": "passed"}], target=name)
    published = publish(handles, data, namespace=f"MAIP/DR-enforced-{name}")
    attempt = folder / f"evidence-{name}" / "attempt-1"
    attempt.mkdir(parents=True)
    (attempt / "summary.json").write_text('{"verdict": "PASS"}\n', encoding="utf-8")
    upload = upload_evidence(handles.by_name(BUCKET_REGION).client("s3"), attempt,
                             bucket=BUCKET, prefix=name if prefix is None else prefix)
    return {"published": sum(published.published.values()), "total": published.total,
            "metric_errors": published.errors, "uploaded": upload.keys,
            "upload_errors": upload.errors}


def run(simulation: Simulation, folder: Path) -> dict[str, Any]:
    report: dict[str, Any] = {}
    endpoint = simulation.aws_endpoint_url
    keys = create_users(endpoint, simulation.topology)
    create_bucket(endpoint)
    write_profiles(folder, keys)
    enable_enforcement(endpoint)
    started = time.monotonic()
    base = simulation.target()
    topology = simulation.topology

    operator_probe = handles_of(with_profile(base, "maip-dr-operator"), topology)
    try:
        operator_probe.primary.client("eks").list_clusters()
        report["moto_bodiless_signature_bug"] = False
    except CredentialsError as error:
        report["moto_bodiless_signature_bug"] = error.code == "SignatureDoesNotMatch"
    operator_probe.close()
    sign_bodiless_requests_as_sent()

    bogus = handles_of(with_profile(base, "maip-dr-bogus"), topology)
    try:
        bogus.primary.client("sts").get_caller_identity()
        report["bogus_key"] = {"type": "accepted"}
    except CredentialsError as error:
        report["bogus_key"] = error_text(error)

    readonly_target = with_profile(base, "maip-dr-readonly")
    readonly = handles_of(readonly_target, topology)
    inputs = ReadinessInputs(handles=readonly, topology=topology, target=readonly_target,
                             resolver=SimulationResolver(base.control_url),
                             thresholds=Thresholds.from_gherkin())
    report["readiness"] = [
        {"name": r.name, "region": r.region, "passed": r.passed, "checked": r.checked,
         "detail": r.detail[:300]} for r in run_readiness(inputs)]
    calls = plan_drill(context(simulation, readonly, readonly_target))
    report["plan_calls"] = len(calls)
    report["readonly_operations"] = operations(readonly, folder, "readonly")
    with_metrics = handles_of(with_profile(base, "maip-dr-readiness-metrics"), topology)
    report["readiness_metrics_operations"] = operations(with_metrics, folder, "add-on")
    with_metrics.close()

    simulation.faults.region_outage(topology.primary.region)
    declared = OutageDeclaration.now("IAM-enforced simulation")
    readonly_ctx = context(simulation, readonly, readonly_target, execute=True,
                           declared_outage=declared)
    try:
        registry.stage("failover", 1).runner()(readonly_ctx)
        registry.stage("failover", 2).runner()(readonly_ctx)
        report["readonly_destructive"] = {"type": "allowed"}
    except PermissionDenied as error:
        report["readonly_destructive"] = error_text(error)
    replica = simulation_replica_source(readonly, topology.secondary.rds_instance)
    report["replica_still_linked"] = replica
    report["readonly_s"] = round(time.monotonic() - started, 2)

    operator_target = with_profile(base, "maip-dr-operator")
    operator = handles_of(operator_target, topology)
    ctx = context(simulation, operator, operator_target, execute=True,
                  declared_outage=declared)
    stages: list[str] = []
    report["operator_stages"] = stages
    try:
        for stage in registry.STAGES:  # the drill's stages, in the drill's order
            if stage.key == "failback:1":
                simulation.faults.restore_region(topology.primary.region)
            run = STAGE_ARGUMENTS.get(stage.key, stage.runner())
            stages.append(run(ctx).stage)
        report["operator_operations"] = operations(operator, folder, OPERATOR_PREFIX)
        report["operator_outside_prefix"] = operations(operator, folder, "outside",
                                                       prefix="elsewhere")
    except Exception as error:  # reported, so the test names the stage and the error
        report["operator_error"] = error_text(error)
        report["operator_traceback"] = traceback.format_exc()[-3000:]
    report["elapsed_s"] = round(time.monotonic() - started, 2)
    for built in (bogus, readonly, operator):
        built.close()
    return report


def simulation_replica_source(handles: RegionHandles, identifier: str) -> bool:
    from maip_drlib.probes import rds

    return rds.db_instance(handles.secondary, identifier).source is not None


def main() -> int:
    settings = SimSettings(time_scale=0.05, metric_period_s=0.5)
    with tempfile.TemporaryDirectory(prefix="maip-iam-") as folder, \
            Simulation(settings=settings) as simulation:
        report = run(simulation, Path(folder))
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
