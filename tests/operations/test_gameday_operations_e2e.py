"""One game day with every operation configured, as an operator runs it, end to end.

A ``maip-dr sim up`` process is the target; the test starts a loopback webhook receiver
(127.0.0.1) and creates the evidence bucket in the simulation's S3 (us-west-2), then runs
``maip-dr gameday --dr-execute --dr-confirm sim --metrics-namespace NS --s3-bucket B`` with
``MAIP_DR_WEBHOOK_URL`` pointing at the receiver. Then:

- the receiver got one Slack-compatible completion message (no stage failed, so no
  stage-failed notice): verdict, stage table, RTO end to end, RPO per store, the evidence
  digest the CLI printed, and the S3 location of the evidence;
- the webhook URL appears in no output and no evidence file;
- the metrics are read back (ListMetrics, GetMetricData) from the simulation's CloudWatch in
  the region that took them, and the other region has none;
- the bucket holds exactly the sealed attempt's files, byte for byte;
- ``maip-dr report DRILL --s3-bucket B --dr-execute --dr-confirm sim`` (an upload is a write:
  consent) builds the single-file report and uploads it with the drill's evidence (skipped,
  naming what is missing, without Node.js and Allure 3).

Before it, on the same fresh ``sim up``: without ``--dr-execute`` (or with a wrong
``--dr-confirm``) the game day is refused and nothing changes, as the stock AWS CLI sees it.
After it, the AWS CLI sees the steady state of failback stage 4, and readiness fails only on
the fenced old writer that awaits the operator.

One game day for the module (about 80 s on an idle machine, two to three times that on a
loaded one).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from maip_cli_helpers import (
    BIN_DIR,
    NEEDS_AWS_CLI,
    SimUpProcess,
    rds_instances_seen_by_aws_cli,
    sim_up_in,
)
from notify.webhook_receiver import Receiver, serve

from maip_drlib.config import Config, Target
from maip_drlib.config_loader import load_config
from maip_drlib.notify import WEBHOOK_URL_ENV
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.write_gate import WriteGate

pytestmark = [pytest.mark.gameday, pytest.mark.cli]

NAMESPACE = "MAIP/DR-e2e"
PREFIX = "dr/e2e"
BUCKET_REGION = "us-west-2"
SECRET = "e2e-secret-hook-7c3d91"
HOOK_PATH = f"/services/T0SIM/B0SIM/{SECRET}"
PROJECT = Path(__file__).resolve().parents[2]
METRICS_LINE = re.compile(r"metrics: (\d+)/(\d+) published to (\S+) \((\d+) in ([a-z0-9-]+)\)")


@dataclass
class Operations:
    """The running ``sim up``, the webhook receiver and the evidence bucket, before any drill."""

    sim: SimUpProcess
    config: Config
    target: Target
    handles: RegionHandles
    receiver: Receiver
    bucket: str


@dataclass
class GameDay(Operations):
    """The operations above, and the game day run with them."""

    result: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def attempt(self) -> Path:
        attempts = list((self.sim.workdir / "reports").glob("*/attempt-1"))
        assert len(attempts) == 1, attempts
        return attempts[0]

    @property
    def drill_id(self) -> str:
        return self.attempt.parent.name

    def s3(self) -> Any:
        return self.handles.by_name(BUCKET_REGION).client("s3")

    def objects(self) -> list[str]:
        listed = self.s3().list_objects_v2(Bucket=self.bucket, Prefix=f"{PREFIX}/")
        return sorted(o["Key"] for o in listed.get("Contents", []))


def run(sim: SimUpProcess, args: list[str], env: dict[str, str],
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN_DIR / "maip-dr"), "--config", str(sim.config), *args],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=sim.workdir, check=False)


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operations]:
    workdir = tmp_path_factory.mktemp("operations-e2e")
    with serve() as receiver, sim_up_in(workdir, time_scale=1.0) as sim:
        config = load_config(sim.config)
        target = config.target(None)
        # Consent: the test creates the evidence bucket, as the operator would beforehand.
        handles = build_region_handles(target, config.topology,
                                       writes=WriteGate.consented(target=target.name))
        try:
            bucket = f"maip-dr-evidence-{uuid.uuid4().hex[:8]}"
            handles.by_name(BUCKET_REGION).client("s3").create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": BUCKET_REGION})
            yield Operations(sim, config, target, handles, receiver, bucket)
        finally:
            handles.close()


@pytest.fixture(scope="module")
def gameday(operations: Operations) -> GameDay:
    ops = operations
    env = {**ops.sim.env, WEBHOOK_URL_ENV: ops.receiver.url(HOOK_PATH)}
    started = time.monotonic()
    result = run(ops.sim, ["gameday", "--dr-execute", "--dr-confirm", ops.target.name,
                           "--metrics-namespace", NAMESPACE, "--s3-bucket", ops.bucket,
                           "--s3-prefix", PREFIX], env)
    return GameDay(**vars(ops), result=result, seconds=time.monotonic() - started)


def _results_files(sim: SimUpProcess) -> set[Path]:
    return set((sim.workdir / "reports").rglob("results-*.json"))


@NEEDS_AWS_CLI
def test_without_consent_a_game_day_on_a_sim_target_changes_nothing(
        operations: Operations) -> None:
    """Without --dr-execute the flag is named, a wrong --dr-confirm is refused (exit 3), and
    neither run changes what the stock AWS CLI sees nor writes a result (in any test order)."""
    sim = operations.sim
    before, results_before = rds_instances_seen_by_aws_cli(sim, "us-west-2"), _results_files(sim)
    refused = sim.maip_dr(["gameday"])
    assert refused.returncode == 3 and "--dr-execute" in refused.stderr
    mismatch = sim.maip_dr(["gameday", "--dr-execute", "--dr-confirm", "prod"])
    assert mismatch.returncode == 3 and "--dr-confirm" in mismatch.stderr
    assert rds_instances_seen_by_aws_cli(sim, "us-west-2") == before
    assert _results_files(sim) == results_before


@NEEDS_AWS_CLI
def test_after_the_game_day_the_aws_cli_sees_the_steady_state(gameday: GameDay) -> None:
    assert gameday.result.returncode == 0, gameday.output[-4000:]
    east = rds_instances_seen_by_aws_cli(gameday.sim, "us-east-1")
    west = rds_instances_seen_by_aws_cli(gameday.sim, "us-west-2")
    # Steady state: the writer back in us-east-1, a fresh DR replica of it, the old writer
    # fenced (stopped), all seen with the stock AWS CLI.
    assert "maip-prod-postgres-new\tavailable\tNone" in east
    assert "maip-prod-postgres\tstopped" in east
    assert "maip-prod-postgres-replica\tavailable\tarn:aws:rds:us-east-1" in west
    # The fenced old writer awaits the operator's reconcile-and-delete: until then readiness
    # fails on that one check (the next game day's go/no-go), naming it; the rest passes.
    readiness = gameday.sim.maip_dr(["readiness"])
    said = readiness.stdout + readiness.stderr
    assert readiness.returncode == 1 and "maip-prod-postgres first" in said, said[-2000:]
    readiness = gameday.sim.maip_dr(["readiness", "--", "-k",
                                     "not can_fail_back_after_a_failover"])
    assert readiness.returncode == 0, readiness.stdout[-2000:]


def test_the_game_day_passes_and_reports_each_operation(gameday: GameDay) -> None:
    assert gameday.result.returncode == 0, gameday.output[-4000:]
    assert "verdict: PASS (exit 0)" in gameday.result.stdout
    err = gameday.result.stderr
    assert "notification (completion) delivered to the webhook: HTTP 200" in err
    assert re.search(r"evidence: \d+ file\(s\), \d+ bytes uploaded to "
                     rf"s3://{gameday.bucket}/{PREFIX}/{gameday.drill_id}/", err), err[-2000:]
    assert METRICS_LINE.search(err), err[-2000:]
    operations = [line for line in err.splitlines() if line.startswith(
        ("maip-dr: evidence:", "maip-dr: metrics:", "maip-dr: notification"))]
    assert len(operations) == 3, operations
    print("\n".join([*operations, f"game day: {gameday.seconds:.1f}s"]))  # shown with -s
    assert not [line for line in operations
                if "NOT delivered" in line or "failed" in line or "errors" in line]


def test_the_receiver_got_the_completion_message(gameday: GameDay) -> None:
    requests = gameday.receiver.requests
    assert [r["path"] for r in requests] == [HOOK_PATH]  # one message: no stage failed
    assert requests[0]["headers"]["Content-Type"] == "application/json"
    message = requests[0]["json"]
    summary = json.loads((gameday.attempt / "summary.json").read_text())
    assert message["text"].startswith(f"DR drill {gameday.drill_id}: PASS (SIMULATED)")
    assert message["blocks"][0]["type"] == "header"
    sections = {block["text"]["text"].split("\n", 1)[0]: block["text"]["text"]
                for block in message["blocks"] if block["type"] == "section"}
    stages = sections["*Stages*"]
    for stage in [f"failover {n}:" for n in range(1, 6)] + [f"failback {n}:"
                                                            for n in range(1, 5)]:
        assert re.search(rf"{stage}.*passed", stages), stage
    rto = sections["*RTO end to end*"]
    assert re.search(r"- failover: [\d.]+ min against [\d.]+ min budget: ok", rto), rto
    assert re.search(r"- failback: [\d.]+ min against [\d.]+ min budget: ok", rto), rto
    rpo = sections["*RPO per store*"]
    dynamodb = next(row for row in summary["rpo"] if row["store"] == "dynamodb")
    assert (f"- dynamodb: {dynamodb['rpo_s']:.3f} s against {dynamodb['target_s']:g} s "
            f"target, {dynamodb['lost']} canaries lost: ok") in rpo, rpo
    digest = re.search(r"final digest: sha256:([0-9a-f]{64})", gameday.result.stdout)
    assert digest, gameday.result.stdout[-1000:]
    where = next(text for head, text in sections.items() if head.startswith("*Evidence digest"))
    assert f"*Evidence digest:* `sha256:{digest.group(1)}`" in where
    assert f"*Report:* s3://{gameday.bucket}/{PREFIX}/{gameday.drill_id}/" in where


def test_the_webhook_url_is_in_no_output_and_no_evidence(gameday: GameDay) -> None:
    assert SECRET not in gameday.output
    for path in (gameday.sim.workdir / "reports").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def _cloudwatch(gameday: GameDay, region: str) -> Any:
    return gameday.handles.by_name(region).client("cloudwatch")


def test_the_metrics_are_read_back_from_the_region_that_took_them(gameday: GameDay) -> None:
    found = METRICS_LINE.search(gameday.result.stderr)
    assert found, gameday.result.stderr[-2000:]
    published, total, namespace, in_region, region = found.groups()
    assert published == total == in_region and namespace == NAMESPACE
    # After failback both regions are up: the primary takes them.
    assert region == gameday.config.topology.primary.region
    cloudwatch = _cloudwatch(gameday, region)
    metrics = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert len(metrics) == int(published)
    names = {m["MetricName"] for m in metrics}
    assert {"DrillPassed", "ReadinessCheck", "ReadinessPassed", "StagePassed",
            "StageDurationSeconds", "StageRTOMinutes", "StageWithinRTO", "RTOMinutes",
            "RTOWithinBudget", "RPOSeconds", "RPOWithinTarget"} <= names
    summary = json.loads((gameday.attempt / "summary.json").read_text())
    stages = {dict((d["Name"], d["Value"]) for d in m["Dimensions"])["Stage"]
              for m in metrics if m["MetricName"] == "StagePassed"}
    assert stages >= {f"failover {n}" for n in range(1, 6)} | {f"failback {n}"
                                                               for n in range(1, 5)}
    assert stages == {f"{r['phase']} {r['stage']}" if r.get("stage") else r["phase"]
                      for r in summary["stages"]
                      if not r["phase"].startswith("readiness") and r["outcome"] != "skipped"}
    dynamodb = next(row for row in summary["rpo"] if row["store"] == "dynamodb")
    name = summary["target"]["name"]
    readiness = [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in metrics
                 if m["MetricName"] == "ReadinessPassed"]
    assert sorted(dims["Phase"] for dims in readiness) == ["readiness", "readiness-after"]
    assert all(dims["Target"] == name for dims in readiness)
    values = _values(cloudwatch, [
        ("drill", "DrillPassed", {"Target": name}),
        ("rpo", "RPOSeconds", {"Target": name, "Store": "dynamodb"}),
        ("stage", "StagePassed", {"Target": name, "Phase": "failover",
                                  "Stage": "failover 2"}),
        *((f"ready{n}", "ReadinessPassed", dims) for n, dims in enumerate(readiness))])
    assert values == {"drill": [1.0], "rpo": [pytest.approx(dynamodb["rpo_s"])],
                      "stage": [1.0], **{f"ready{n}": [1.0] for n in range(len(readiness))}}
    other = next(r for r in (gameday.config.topology.primary.region,
                             gameday.config.topology.secondary.region) if r != region)
    assert _cloudwatch(gameday, other).list_metrics(Namespace=NAMESPACE)["Metrics"] == []


def _values(cloudwatch: Any, queries: list[tuple[str, str, dict[str, str]]]
            ) -> dict[str, list[float]]:
    now = datetime.now(UTC)
    answer = cloudwatch.get_metric_data(
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5),
        MetricDataQueries=[{"Id": key, "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": metric,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
            "Period": 60, "Stat": "Maximum"}} for key, metric, dims in queries])
    return {r["Id"]: list(r["Values"]) for r in answer["MetricDataResults"]}


def _keys(gameday: GameDay, folder: Path) -> list[str]:
    """The keys of every file under ``folder`` (inside the drill folder)."""
    drill = gameday.attempt.parent
    return sorted(f"{PREFIX}/{gameday.drill_id}/{p.relative_to(drill).as_posix()}"
                  for p in folder.rglob("*") if p.is_file())


def test_the_bucket_holds_the_sealed_attempt(gameday: GameDay) -> None:
    drill = gameday.attempt.parent
    # The attempt, and beside it the drill's sealed DR test record (and signed index, if any).
    beside = [f"{PREFIX}/{gameday.drill_id}/{p.name}" for p in sorted(drill.iterdir())
              if p.is_file() and p.name.startswith(("dr-test-record.", "index."))]
    assert any(k.endswith("/dr-test-record.md") for k in beside), beside
    expected = sorted(_keys(gameday, gameday.attempt) + beside)
    assert any(k.endswith("/attempt-1/manifest.json") for k in expected)
    assert any(k.endswith("/attempt-1/journal.jsonl") for k in expected)
    keys = [k for k in gameday.objects() if "/html/" not in k]  # the report test may add html/
    assert keys == expected
    s3 = gameday.s3()
    for name in ("manifest.json", "summary.json", "journal.jsonl"):
        body = s3.get_object(Bucket=gameday.bucket,
                             Key=f"{PREFIX}/{gameday.drill_id}/attempt-1/{name}")["Body"].read()
        assert body == (gameday.attempt / name).read_bytes(), name


ALLURE_MISSING = (shutil.which("node") is None
                  or not (PROJECT / "node_modules" / "allure" / "cli.js").is_file())


@pytest.mark.skipif(ALLURE_MISSING, reason="Node.js or Allure 3 is not installed: run `npm ci` "
                    "in the project root")
def test_report_builds_and_uploads_the_report_and_the_evidence(gameday: GameDay) -> None:
    assert gameday.result.returncode == 0, gameday.output[-2000:]
    # The upload is a write: consent for the sim target.
    done = run(gameday.sim, ["report", gameday.drill_id, "--s3-bucket", gameday.bucket,
                             "--s3-prefix", PREFIX, "--dr-execute", "--dr-confirm",
                             gameday.target.name], gameday.sim.env, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    report_key = f"{PREFIX}/{gameday.drill_id}/html/index.html"
    location = f"s3://{gameday.bucket}/{report_key}"
    assert location in done.stdout
    html = gameday.attempt.parent / "html" / "index.html"
    assert report_key in gameday.objects()
    assert gameday.objects() == _keys(gameday, gameday.attempt.parent)  # attempt and html/
    head = gameday.s3().head_object(Bucket=gameday.bucket, Key=report_key)
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["ContentLength"] == html.stat().st_size
