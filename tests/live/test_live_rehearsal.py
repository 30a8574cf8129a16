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

The live target reaches the simulated PostgreSQL as production reaches RDS: credentials from
Secrets Manager, ``sslmode = "verify-full"`` against the CA (the simulation's); the tests check
that the data-plane checks ran (the evidence names the writer and standby, the WAL decisions,
never "not configured") and, with their own client, that the servers serve TLS verified in full.

The order is the state machine (one simulation): readiness; the runs that must change nothing
(a game day without consent, a no-go game day, failback 3 from the steady state); last the
planned game day, which must end in the steady state. A live target has no time scale:
failback 3 would soak each weighted step the feature's real 2 minutes; the game day passes
``--soak-step 10`` (journalled as an override, asserted below). The unplanned failover and
failback, stage by stage, are in ``test_live_unplanned.py`` (a simulation of their own).

Needs PostgreSQL binaries built with OpenSSL (Debian's ``postgresql``, which ``.ci/run``
installs): skips naming where it looked without.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator

import pytest
from moto_requests import writes
from rehearsal_env import (
    DECLARATION,
    DR,
    DR_REPLICA,
    LIVE,
    PRIMARY,
    PRIMARY_WRITER,
    SOAK_STEP,
    Rehearsal,
    assert_soak_override,
    decided,
    output,
    stage_writes,
    start_rehearsal,
)

pytestmark = [pytest.mark.gameday, pytest.mark.cli]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    with start_rehearsal(tmp_path_factory) as started:
        yield started


def test_the_live_config_names_nothing_simulated(rehearsal: Rehearsal) -> None:
    text = (rehearsal.sim.workdir / "live.toml").read_text()
    target = tomllib.loads(text)["targets"][LIVE]
    assert target["kind"] == "live"
    assert "control_url" not in target
    assert all(set(region) == {"kube_context", "kubeconfig"}
               for region in target["regions"].values())
    assert target["dns_nameservers"][0].startswith("127.0.0.1:")
    for variable in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_DEFAULT_REGION"):
        assert f"#   export {variable}=" in text or f" {variable}=" in text, variable
    # Database access as production has it: TLS verified in full against the CA (the
    # simulation's), credentials from Secrets Manager; no password in the file.
    database = target["database"]
    assert database["sslmode"] == "verify-full"
    assert database["sslrootcert"] == target["ca_bundle"]
    assert set(database["secret_ids"]) == {PRIMARY, DR}
    assert "serves no TLS" not in text and "password" not in text.lower()


def test_readiness_through_the_live_target_passes(rehearsal: Rehearsal) -> None:
    result = rehearsal.live(["readiness", "--", "-rA"])
    out = output(result)
    assert result.returncode == 0, out
    assert "readiness of 'live' [live]: PASS" in result.stdout, out
    # The public endpoint through the simulation's DNS answer and CA, as clients reach it.
    assert re.search(r"actuator/health via 127\.100\.0\.\d+:\d+ \(DNS 127\.100\.0\.\d+ via "
                     r"127\.0\.0\.1:\d+\): HTTP 200 UP", result.stdout), out
    # The two checks that cannot run here, with their reasons; nothing else skipped: the
    # quota (moto has no Service Quotas for EC2) and the MSK canary topic (no game day yet).
    assert re.search(r"\d+ passed, 2 skipped", result.stdout), out
    assert "not checked: quota ec2/L-1216C47A in us-west-2 not available" in result.stdout, out
    assert "not checked: not measured: no canary topic maip-dr-canaries on maip-prod-kafka " \
        "yet" in result.stdout, out
    assert "not configured" not in result.stdout, out
    # The data-plane checks ran through the live target's verify-full access (libpq refuses
    # verify-full without TLS): the databases named their roles and the WAL distance.
    assert re.search(r"PostgreSQL maip-prod-postgres \(us-east-1\): writer "
                     r"\(pg_is_in_recovery=false\).*PostgreSQL standby "
                     r"maip-prod-postgres-replica \(us-west-2\) behind maip-prod-postgres: "
                     r"WAL distance \d+ bytes", result.stdout), out
    # And the servers serve TLS, verified in full, to a client of the test's own.
    for region, instance in ((PRIMARY, PRIMARY_WRITER), (DR, DR_REPLICA)):
        ssl, version = rehearsal.tls_session(region, instance)
        assert ssl and version.startswith("TLS"), (instance, version)


def test_a_game_day_without_consent_makes_no_write(rehearsal: Rehearsal) -> None:
    before = rehearsal.deployments()
    rehearsal.recorder.reset()
    result = rehearsal.live(["gameday", "--dr-planned"])
    rehearsal.dr_replica()  # a read of the test's own: proves the recording was on
    recorded = rehearsal.recorder.requests()
    out = output(result)
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
    out = output(result)
    replica = rehearsal.dr_replica()
    assert replica.get("ReadReplicaSourceDBInstanceIdentifier"), replica
    assert stage_writes(recorded) == [], out
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
    out = output(result)
    assert rehearsal.record_sets() == records_before, out
    assert stage_writes(recorded) == [], out
    assert rehearsal.deployments() == before
    assert result.returncode == 3, out


@pytest.mark.timeout(900)
def test_a_planned_game_day_passes_and_ends_in_the_steady_state(rehearsal: Rehearsal) -> None:
    result = rehearsal.live(["gameday", "--dr-planned", "--dr-execute", "--dr-confirm", LIVE,
                             "--drill-id", "planned-1", *SOAK_STEP], timeout=800)
    out = output(result)
    assert result.returncode == 0, out
    decisions = rehearsal.decisions("planned-1")
    assert not [d for d in decisions if "no database access" in d[1] + d[2]], decisions
    # The data-plane decisions were made on the databases (over verify-full TLS).
    decided(decisions, "failover 1", "primary fenced", r"decided by wal")
    decided(decisions, "failover 2", "promoted database accepts writes", r"accepts writes")
    decided(decisions, "failback 2", "resynced", r"decided by wal")
    decided(decisions, "failback 2", "data continuity", r"0 missing")
    decided(decisions, "failback 4", "lag zero", r"decided by wal")
    assert_soak_override(decisions)
    # The drill's fenced old writer awaits the operator's reconcile-and-delete: until then
    # readiness fails on that one check (the next game day's go/no-go), naming it
    after = rehearsal.live(["readiness"])
    assert after.returncode == 1 and "maip-prod-postgres first" in output(after), output(after)
    after = rehearsal.live(["readiness", "--", "-k", "not can_fail_back_after_a_failover"])
    assert after.returncode == 0, output(after)
