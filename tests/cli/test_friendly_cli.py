"""The friendly CLI as a user meets it, through the real ``maip-dr`` in subprocesses: help that
states safety and exit codes, ``init`` and ``config check``, shell completion, colour only on a
terminal (and never with NO_COLOR), ``--json`` documents that parse, ``--quiet``, the wait
progress, and readiness metrics published to a running simulation and read back."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from maip_cli_helpers import BIN_DIR, SimUpProcess, maip_dr_env, sim_up_in

from maip_drlib.cli import cli, walk_commands
from maip_drlib.cli.help import missing_help
from maip_drlib.config_loader import load_config
from maip_drlib.regions import build_region_handles

pytestmark = [pytest.mark.sim, pytest.mark.cli]

ANSI = re.compile(r"\x1b\[")
EKS_ONLY = ["-k", "eks_clusters"]  # one readiness scenario: the output modes, not the checks


def no_ansi(*texts: str) -> None:
    for text in texts:
        assert not ANSI.search(text), text[:2000]


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("maip-dr: ") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- help -----------------------------------------------------------------------------------


def test_every_command_help_states_what_it_does_its_safety_and_exit_codes() -> None:
    lacking = {path: missing_help(command) for command, path in walk_commands(cli, "maip-dr")
               if missing_help(command)}
    assert lacking == {}
    assert len(walk_commands(cli, "maip-dr")) > 30  # every sim fault command included


def test_main_help_and_subcommand_help_as_printed(maip_dr) -> None:
    main = maip_dr(["--help"])
    assert main.returncode == 0
    for needle in ("Safety:", "--dr-execute", "--dr-confirm", "Exit codes:", "130",
                   "maip-dr init", "completion", "--json", "--quiet", "NO_COLOR"):
        assert needle in main.stdout, needle
    for command in (["gameday"], ["sim", "fault", "outage"], ["report"], ["init"]):
        shown = maip_dr([*command, "--help"])
        text = " ".join(shown.stdout.split())
        assert shown.returncode == 0 and "Exit codes:" in text, (command, shown.stdout)
        assert re.search(r"Safety|Read-only|MUTATES|read-only", text), (command, text)
    no_ansi(main.stdout, main.stderr)


# -- init and config check ------------------------------------------------------------------


def test_init_template_database_and_dns_lines_are_valid_once_uncommented(
        tmp_path: Path) -> None:
    from maip_drlib.cli.init import starter_config

    keys = ("dns_nameservers", "[targets.prod.database", "dbname", "sslmode", "us-east-1 =",
            "us-west-2 =")
    lines = [line[2:] if line.startswith("# ") and line[2:].startswith(keys) else line
             for line in starter_config().splitlines()]
    path = tmp_path / "maip-dr.toml"
    path.write_text("\n".join(lines) + "\n")
    prod = load_config(path).targets["prod"]
    assert prod.dns_nameservers == ("10.0.0.2:53",)
    assert prod.database is not None and prod.database.secret_id("us-west-2") == (
        "maip/prod/db-credentials")


def test_init_then_config_check_round_trip_and_overwrite_refusal(maip_dr,
                                                                 tmp_path: Path) -> None:
    written = maip_dr(["init"], cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    path = tmp_path / "maip-dr.toml"
    text = path.read_text()
    assert text.count("\n# ") > 20  # commented
    config = load_config(path)  # the project's own loader
    assert config.default_target == "rehearsal"
    assert {t.kind for t in config.targets.values()} == {"embedded", "live"}

    checked = maip_dr(["config", "check", str(path)])
    assert checked.returncode == 0, checked.stderr
    assert "rehearsal: kind=embedded" in checked.stdout and "prod: kind=live" in checked.stdout
    assert "us-west-2: kube_context=maip-prod-dr" in checked.stdout
    assert checked.stdout.strip().splitlines()[-1].startswith("config OK")

    as_json = maip_dr(["config", "check", "--json", str(path)])
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)  # the whole of stdout is the document
    assert document["valid"] and document["selected_target"] == "rehearsal"
    assert document["targets"]["prod"]["primary"]["profile"] == "maip-prod"
    assert document["topology"]["secondary"]["rds_instance"] == "maip-prod-postgres-replica"
    via_global = maip_dr(["--config", str(path), "--json", "config", "check"])
    assert json.loads(via_global.stdout) == document

    path.write_text(text + "\n# edited by hand\n")
    refused = maip_dr(["init"], cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    one_line_error(refused, "maip-dr.toml", "--force")
    assert path.read_text().endswith("# edited by hand\n")  # untouched
    forced = maip_dr(["init", "--force"], cwd=tmp_path)
    assert forced.returncode == 0 and path.read_text() == text

    other = tmp_path / "nested.toml"
    assert maip_dr(["init", str(other)]).returncode == 0
    assert maip_dr(["--quiet", "config", "check", str(other)]).stdout.startswith("config OK")


def test_the_commented_topology_is_the_loaders_defaults(tmp_path: Path, maip_dr) -> None:
    assert maip_dr(["init", str(tmp_path / "c.toml")]).returncode == 0
    head, targets = (tmp_path / "c.toml").read_text().split("# --- targets")
    uncommented = re.sub(r"^# (\[topology[^\]]*\].*|[a-z_]+ = .*)$", r"\1", head, flags=re.M)
    assert uncommented.count("\n[topology") == 3
    (tmp_path / "u.toml").write_text(uncommented + "# --- targets" + targets)
    assert load_config(tmp_path / "u.toml").topology == load_config(tmp_path / "c.toml").topology


def test_config_check_of_a_bad_file_is_one_line_exit_2(maip_dr, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[targets.x]\nkind = "embedded"\ntime_scale = "fast"\n')
    for args in (["config", "check", str(bad)], ["--json", "config", "check", str(bad)]):
        result = maip_dr(args)
        assert result.returncode == 2 and result.stdout == ""
        one_line_error(result, "targets.x.time_scale")
    missing = maip_dr(["config", "check"])
    assert missing.returncode == 2
    one_line_error(missing, "FILE")


# -- completion -----------------------------------------------------------------------------


def test_completion_scripts_and_completions(maip_dr, home: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        printed = maip_dr(["completion", shell])
        assert printed.returncode == 0 and "_MAIP_DR_COMPLETE" in printed.stdout, shell
        env = {**maip_dr_env(home), "_MAIP_DR_COMPLETE": f"{shell}_source"}
        native = subprocess.run([str(BIN_DIR / "maip-dr")], capture_output=True, text=True,
                                env=env, timeout=60, check=False)
        assert native.stdout == printed.stdout, shell
    env = {**maip_dr_env(home), "_MAIP_DR_COMPLETE": "bash_complete",
           "COMP_WORDS": "maip-dr stage fa", "COMP_CWORD": "2"}
    completed = subprocess.run([str(BIN_DIR / "maip-dr")], capture_output=True, text=True,
                               env=env, timeout=60, check=False)
    assert completed.stdout.split() == ["plain,failover", "plain,failback"]
    unknown = maip_dr(["completion", "powershell"])
    assert unknown.returncode == 2
    one_line_error(unknown, "powershell")


# -- colour ---------------------------------------------------------------------------------


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run maip-dr with stdout and stderr on a pseudo-terminal; what the terminal shows."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(BIN_DIR / "maip-dr"), *args], stdout=follower,
                               stderr=follower, env=env, cwd=cwd)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_with_no_color(maip_dr, home: Path,
                                                           tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    assert maip_dr(["init", str(config)]).returncode == 0
    args = ["config", "check", str(config)]
    piped = maip_dr(args)
    no_ansi(piped.stdout, piped.stderr)
    assert "\x1b[32m" in _on_a_terminal(args, maip_dr_env(home), tmp_path)
    no_ansi(_on_a_terminal(args, {**maip_dr_env(home), "NO_COLOR": "1"}, tmp_path))
    no_ansi(_on_a_terminal(["--color", "never", *args], maip_dr_env(home), tmp_path))
    assert "\x1b[" in maip_dr(["--color", "always", *args]).stdout


# -- --json and --quiet ---------------------------------------------------------------------


def test_unsupported_commands_refuse_json_and_quiet(maip_dr, tmp_path: Path) -> None:
    for flag in ("--json", "--quiet"):
        result = maip_dr([flag, "init", str(tmp_path / "x.toml")])
        assert result.returncode == 2 and not (tmp_path / "x.toml").exists()
        one_line_error(result, flag, "init")


def test_readiness_json_is_a_document_and_quiet_is_the_verdict(maip_dr) -> None:
    as_json = maip_dr(["--json", "readiness", *EKS_ONLY], timeout=240)
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    document = json.loads(as_json.stdout)  # stdout holds nothing else
    assert document["verdict"] == "PASS" and document["target"]["simulated"] is True
    assert [r["outcome"] for r in document["results"]] == ["passed"]
    assert "[readiness]" in as_json.stderr  # progress went to stderr
    no_ansi(as_json.stdout, as_json.stderr)

    quiet = maip_dr(["readiness", "--quiet", *EKS_ONLY], timeout=240)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    lines = quiet.stdout.splitlines()
    assert len(lines) == 1 and "PASS" in lines[0] and lines[0].endswith("(exit 0)")


# -- against a running simulation: metrics, stage, plan, lease, verify ----------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimUpProcess]:
    with sim_up_in(tmp_path_factory.mktemp("friendly-sim"), 1.0) as running:
        yield running


def test_readiness_metrics_are_published_and_read_back(sim: SimUpProcess) -> None:
    namespace = "MAIP/DR-friendly"
    # Publishing is a write: it needs consent on a sim target.
    result = sim.maip_dr(["readiness", "--json", "--metrics-namespace", namespace,
                          "--dr-execute", "--dr-confirm", "sim", *EKS_ONLY])
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["verdict"] == "PASS"
    assert f"published to {namespace}" in result.stderr
    config = load_config(sim.config)
    handles = build_region_handles(config.target("sim"), config.topology)
    try:
        metrics = handles.primary.client("cloudwatch").list_metrics(
            Namespace=namespace)["Metrics"]
    finally:
        handles.close()
    names = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"])
                                            for d in m["Dimensions"]))) for m in metrics}
    assert ("ReadinessPassed", (("Phase", "readiness"), ("Target", "sim"))) in names
    assert any(name == "ReadinessCheck" for name, _ in names)
    bad = sim.maip_dr(["readiness", "--metrics-namespace", "AWS/EC2"])
    assert bad.returncode == 2
    one_line_error(bad, "--metrics-namespace")


def test_stage_plan_lease_and_verify_documents(sim: SimUpProcess) -> None:
    # Without --dr-execute the stage's mutating step is skipped: a FAIL verdict, evidence kept.
    stage = sim.maip_dr(["stage", "failover", "2", "--json", "--drill-id", "friendly"])
    assert stage.returncode == 1, stage.stderr[-3000:]
    document = json.loads(stage.stdout)
    assert document["verdict"] == "FAIL" and document["drill_id"] == "friendly"
    assert any("SKIPPED (mutating) failover 2" in line for line in document["failures"])
    assert document["digest"] and Path(document["evidence"]).is_dir()
    no_ansi(stage.stdout, stage.stderr)

    quiet = sim.maip_dr(["--quiet", "stage", "failover", "2", "--drill-id", "friendly"])
    assert quiet.returncode == 1
    assert quiet.stdout.splitlines() == ["verdict: FAIL (exit 1)"]
    assert quiet.stderr.startswith("maip-dr: SKIPPED (mutating) failover 2")
    assert len(quiet.stderr.splitlines()) == 1

    verified = sim.maip_dr(["verify", "--json", "friendly"])
    assert verified.returncode == 1, verified.stderr  # no key, no digest: unverified
    report = json.loads(verified.stdout)
    assert report["verdict"] == "unverified" and not report["problems"]
    assert [a["number"] for a in report["attempts"]] == [1, 2]

    plan = sim.maip_dr(["plan", "--json", "--phase", "failover"])
    assert plan.returncode == 0, plan.stderr[-2000:]
    calls = json.loads(plan.stdout)["calls"]
    assert any(c["operation"] == "promote_read_replica" for c in calls)

    lease = sim.maip_dr(["lease", "show", "--json"])
    assert lease.returncode == 0, lease.stderr
    assert json.loads(lease.stdout)["held"] is False
    no_ansi(plan.stdout, plan.stderr, lease.stdout, verified.stdout)
