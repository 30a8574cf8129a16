"""The live path, proven against ``maip-dr sim up --data-plane`` (issue 13's "Done when";
DESIGN.md 4a "Prove the live path"; docs/live-rehearsal.md).

One ``maip-dr sim up --data-plane --live-config-out live.toml`` process (with ``--config-out
c.toml --env-file e.sh``) for the whole module. Every ``maip-dr`` run under test uses the
live-kind target (``--config live.toml --target live``: no control URL, no AWS endpoint URL;
the simulation's kubeconfig, CA and DNS server) with the AWS variables the env file exports
(``AWS_ENDPOINT_URL``, the dummy keys, the region) and nothing else of the simulation's.
Faults are injected from outside, as an operator's outage would be: ``maip-dr --config c.toml
sim fault ...``. What the suite wrote is read from the simulation's side: moto's own request
recording (``moto_requests``), the Kubernetes deployments' resourceVersions, Route 53's
record sets and the RDS instances, through clients of the test itself. Everything is on
127.0.0.1 (the API name's DNS answers are 127.100.0.x loopback addresses).

The order is the state machine (one simulation): readiness; the runs that must change nothing
(a game day without consent, a no-go game day, failback 3 from the steady state); last the
planned game day, which must end in the steady state. The planned game day on a live target
soaks each weighted failback step for the feature's real 2 minutes (a live target has no time
scale), so that test alone takes about 10 minutes.

Needs PostgreSQL binaries (the simulation's data plane); skips naming where it looked without.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from maip_cli_helpers import BIN_DIR, SimUpProcess, sim_up_in
from moto_requests import MotoRecorder, Recorded, writes

from maip_drlib.sim.postgres import find_binaries, search_places

pytestmark = pytest.mark.cli

TIME_SCALE = 0.1  # the simulation's own delays (promotion, Route 53 INSYNC); not the suite's
LIVE = "live"
PRIMARY, DR = "us-east-1", "us-west-2"
ZONE = "maip.example.com."
DR_REPLICA = "maip-prod-postgres-replica"
# Writes a game day with consent may make before its first stage: the drill lease and the
# RPO canaries (DynamoDB). Anything else before promotion is a stage's mutation.
PRE_STAGE_TABLES = frozenset({"maip-dr-drill-lease", "maip-dr-canaries"})
DECLARATION = "rehearsal: the primary region is declared down by the live-path test"


@dataclass
class Rehearsal:
    """The running simulation, the live target's environment and the simulation's views."""

    sim: SimUpProcess
    live_env: dict[str, str]
    aws_endpoint_url: str
    kubeconfig: Path
    recorder: MotoRecorder

    def live(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``maip-dr --config live.toml --target live ARGS`` with the env file's AWS."""
        return subprocess.run(
            [str(BIN_DIR / "maip-dr"), "--config", "live.toml", "--target", LIVE, *args],
            capture_output=True, text=True, env=self.live_env, timeout=timeout,
            cwd=self.sim.workdir, check=False)

    def fault(self, *args: str) -> None:
        """``maip-dr --config c.toml sim fault ARGS`` (the sim-kind config), from outside."""
        result = self.sim.maip_dr(["sim", "fault", *args], timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr

    def client(self, service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.aws_endpoint_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=BotoConfig(retries={"total_max_attempts": 2},
                                              connect_timeout=2, read_timeout=10))

    def record_sets(self) -> list[dict[str, Any]]:
        route53 = self.client("route53", PRIMARY)
        zones = [zone["Id"] for zone in route53.list_hosted_zones()["HostedZones"]
                 if zone["Name"] == ZONE]
        assert len(zones) == 1, zones
        found: list[dict[str, Any]] = []
        for page in route53.get_paginator("list_resource_record_sets").paginate(
                HostedZoneId=zones[0]):
            found += page["ResourceRecordSets"]
        return found

    def dr_replica(self) -> dict[str, Any]:
        rds = self.client("rds", DR)
        return rds.describe_db_instances(DBInstanceIdentifier=DR_REPLICA)["DBInstances"][0]

    def deployments(self) -> dict[str, dict[str, tuple[int, str]]]:
        """Per kube context: deployment -> (spec.replicas, resourceVersion)."""
        from kubernetes import client, config

        found: dict[str, dict[str, tuple[int, str]]] = {}
        for context in ("maip-prod", "maip-prod-dr"):
            api = config.new_client_from_config(config_file=str(self.kubeconfig),
                                                context=context)
            try:
                listed = client.AppsV1Api(api).list_namespaced_deployment(
                    "maip-services", _request_timeout=(2, 10))
            finally:
                api.close()
            found[context] = {item.metadata.name: (item.spec.replicas,
                                                   item.metadata.resource_version)
                              for item in listed.items}
        return found


def _aws_environment(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """The AWS variables the env file exports, as sourcing it in bash gives them."""
    shown = subprocess.run(["bash", "-c", "source ./e.sh >/dev/null 2>&1; env -0"],
                           capture_output=True, env=env, cwd=workdir, timeout=30, check=True)
    pairs = (item.split("=", 1) for item in shown.stdout.decode().split("\0") if "=" in item)
    return {key: value for key, value in pairs if key.startswith("AWS_")}


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL binaries (the simulation's data plane); looked in: "
                    + "; ".join(search_places()))
    workdir = tmp_path_factory.mktemp("live-rehearsal")
    with sim_up_in(workdir, TIME_SCALE,
                   ["--data-plane", "--live-config-out", "live.toml"]) as sim:
        aws = _aws_environment(workdir, sim.env)
        assert {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_DEFAULT_REGION"} <= set(aws), aws
        live_env = {**sim.env, **aws}
        kubeconfig = Path(tomllib.loads((workdir / "live.toml").read_text())
                          ["targets"][LIVE]["regions"][PRIMARY]["kubeconfig"])
        recorder = MotoRecorder(aws["AWS_ENDPOINT_URL"])
        recorder.start()
        yield Rehearsal(sim, live_env, aws["AWS_ENDPOINT_URL"], kubeconfig, recorder)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def _stage_writes(recorded: list[Recorded]) -> list[str]:
    """Writes other than the drill lease and the RPO canaries (DynamoDB)."""
    return [str(entry) for entry in writes(recorded)
            if not (entry.service == "dynamodb"
                    and entry.body.get("TableName") in PRE_STAGE_TABLES)]


def test_the_live_config_names_nothing_simulated(rehearsal: Rehearsal) -> None:
    text = (rehearsal.sim.workdir / "live.toml").read_text()
    target = tomllib.loads(text)["targets"][LIVE]
    assert target["kind"] == "live"
    assert "control_url" not in target and "database" not in target
    assert all(set(region) == {"kube_context", "kubeconfig"}
               for region in target["regions"].values())
    assert target["dns_nameservers"][0].startswith("127.0.0.1:")
    for variable in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_DEFAULT_REGION"):
        assert f"#   export {variable}=" in text or f" {variable}=" in text, variable
    assert "serves no TLS yet" in text


def test_readiness_through_the_live_target_passes(rehearsal: Rehearsal) -> None:
    result = rehearsal.live(["readiness"])
    out = _output(result)
    assert result.returncode == 0, out
    assert "readiness of 'live' [live]: PASS" in result.stdout, out
    # The public endpoint through the simulation's DNS answer and CA, as clients reach it.
    assert re.search(r"actuator/health via 127\.100\.0\.\d+:\d+ \(DNS 127\.100\.0\.\d+ via "
                     r"127\.0\.0\.1:\d+\): HTTP 200 UP", result.stdout), out
    # The two checks that cannot run here, each with its reason; nothing else skipped.
    assert re.search(r"\d+ passed, 2 skipped", result.stdout), out
    assert "not configured: target 'live' has no database access" in result.stdout, out
    assert "not checked: quota ec2/L-1216C47A in us-west-2 not available" in result.stdout, out


def test_a_game_day_without_consent_makes_no_write(rehearsal: Rehearsal) -> None:
    before = rehearsal.deployments()
    rehearsal.recorder.reset()
    result = rehearsal.live(["gameday", "--dr-planned"])
    rehearsal.dr_replica()  # a read of the test's own: proves the recording was on
    recorded = rehearsal.recorder.requests()
    out = _output(result)
    assert any(entry.operation == "DescribeDBInstances" for entry in recorded), recorded
    assert [str(entry) for entry in writes(recorded)] == [], out
    assert rehearsal.deployments() == before
    assert result.returncode == 3, out
    assert "--dr-execute" in out and "--dr-confirm" in out, out


def test_a_failing_dr_readiness_check_stops_the_game_day_before_promotion(
        rehearsal: Rehearsal) -> None:
    before = rehearsal.deployments()
    records_before = rehearsal.record_sets()
    rehearsal.fault("replicator", "--state", "FAILED")  # DR's replication state
    try:
        rehearsal.recorder.reset()
        result = rehearsal.live(["gameday", "--dr-execute", "--dr-confirm", LIVE,
                                 "--dr-declare-outage", DECLARATION])
        recorded = rehearsal.recorder.requests()
    finally:
        rehearsal.fault("replicator", "--state", "RUNNING")
    out = _output(result)
    replica = rehearsal.dr_replica()
    assert replica.get("ReadReplicaSourceDBInstanceIdentifier"), replica
    assert _stage_writes(recorded) == [], out
    assert rehearsal.record_sets() == records_before
    assert rehearsal.deployments() == before
    assert result.returncode == 1, out
    assert "no-go" in out.lower(), out
    assert "replicator" in out.lower(), out


def test_failback_3_from_the_steady_state_refuses_and_changes_nothing(
        rehearsal: Rehearsal) -> None:
    records_before = rehearsal.record_sets()
    before = rehearsal.deployments()
    rehearsal.recorder.reset()
    result = rehearsal.live(["stage", "failback", "3", "--dr-execute", "--dr-confirm", LIVE,
                             "--dr-declare-outage", DECLARATION])
    recorded = rehearsal.recorder.requests()
    out = _output(result)
    assert rehearsal.record_sets() == records_before, out
    assert _stage_writes(recorded) == [], out
    assert rehearsal.deployments() == before
    assert result.returncode == 3, out


@pytest.mark.timeout(1800)
def test_a_planned_game_day_passes_and_ends_in_the_steady_state(rehearsal: Rehearsal) -> None:
    result = rehearsal.live(["gameday", "--dr-planned", "--dr-execute", "--dr-confirm", LIVE],
                            timeout=1500)
    assert result.returncode == 0, _output(result)
    after = rehearsal.live(["readiness"])
    assert after.returncode == 0, _output(after)
