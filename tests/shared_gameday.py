"""One embedded game day per test session, shared by every test that only inspects what a game
day prints and writes (docs/testing.md).

It is the README's main job (``maip-dr gameday`` on the embedded simulation, its data plane on
when PostgreSQL binaries are found) with these additions that do not change the drill:

- the simulated clock runs at 1 real second per simulated minute (the default is 0.5), through
  a config file naming an embedded target: the drill's own work (real CPU seconds) then fits
  the RTO budgets on a 2-core machine loaded by parallel test workers;

- the secrets a game day can be given are in its environment (AWS keys and session token, the
  HMAC key, a webhook URL on an unroutable test domain) and pytest logs at DEBUG, so the
  secrets test can look for them in everything written;
- a team's feature folder (a copy of ``examples/own-checks`` outside the clone) runs beside
  ours, so the own-checks test can find its scenarios in the evidence;
- ``--hold-in-dr 2m``: the platform is held in DR for 2 simulated minutes between the RPO
  phase and failback (a phase of its own; the stages are unchanged).

Under pytest-xdist every worker asks for the same run: the first one runs it while holding a
lock in the session's shared temporary folder and writes the outcome there; the others wait on
the lock and read it. ``start_in_background`` lets the first worker whose selection needs the
run start it in a thread as soon as collection ends, so that the tests reading it (collected
last) find it done while the other tests ran. Not supported: a worker on another machine (the
folder must be shared).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from maip_cli_helpers import BIN_DIR, maip_dr_env

from maip_drlib.aws_operations import ENV_VAR as RECORDING_ENV
from maip_drlib.iam_policies import DRILL_RECORDING, RECORDED_OPERATIONS_ARGS

REPOSITORY = Path(__file__).resolve().parent.parent
DRILL_ID = "shared-gameday"
TEAM_FOLDER = "own-checks"
HOLD = "2m"
# The scenarios of examples/own-checks (the team folder): they must show in the evidence.
TEAM_SCENARIOS = ("The ledger database has a replica in DR",
                  "The ledger service runs in both regions")
# A game day on a loaded 2-core machine takes 60-180 s; a hung one is stopped here.
GAMEDAY_TIMEOUT_S = 900

CONFIG = """\
default_target = "embedded"

[targets.embedded]
kind = "embedded"
time_scale = 1.0

[record]
participants = ["Ana <incident commander>", "Bo <DBA>"]
"""

_RUNNING: list[subprocess.Popen[str]] = []

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAMAIPDUMMY0000001",
    "AWS_SECRET_ACCESS_KEY": "dummySecretKeyForTheEvidenceTest0000000X",
    "AWS_SESSION_TOKEN": "DummySessionTokenForTheEvidenceTestAAAAAAAAAAAAAAAA==",
    "MAIP_DR_HMAC_KEY": "dummy-hmac-key-for-the-evidence-test",
    "MAIP_DR_WEBHOOK_URL": "https://hooks.example.test/services/T0DUMMY/B0DUMMY/dummyWebhook01",
    # What else a CI runner hands every process (the edge learns each variable whose name ends
    # in a secret word, maip_drlib/evidence/edge_secrets.py): database passwords with "@", ":"
    # and non-ASCII letters (libpq reads PGPASSWORD; the suite passes its own password), EKS
    # and kubeconfig bearer tokens, a kubeconfig client key, Teams and generic webhook URLs.
    "PGPASSWORD": "p@ss:wörd-Ünïcode-dummy-0001",
    "DB_PASSWORD": "Db:p@ss-ßeta-dummy-0002",
    "EKS_TOKEN": "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXhhbXBsZS50ZXN0Lz9BY3Rpb249R2V0Q2FsbGVySWRlbnRpdHk",
    "KUBE_TOKEN": "dummyKubeconfigBearerToken0003",
    "KUBE_CLIENT_KEY_DATA": "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpkdW1teUNsaWVudEtleTAwMDQK",
    "TEAMS_WEBHOOK_URL": "https://dummy.webhook.office.com/webhookb2/dummy@x/IncomingWebhook/d0005",
    "CI_WEBHOOK_URL": "https://ci.example.test/hooks/dummyGenericHook0006?token=dummyTok0006",
}


@dataclass(frozen=True)
class SharedGameDay:
    """What the shared game day printed and where its evidence is."""

    workdir: Path
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float

    @property
    def attempt(self) -> Path:
        return self.workdir / "reports" / DRILL_ID / "attempt-1"

    @property
    def drill_recording(self) -> Path:
        """Every AWS and Kubernetes call the game day made (``MAIP_DR_RECORD_AWS_OPERATIONS``)."""
        return self.workdir / DRILL_RECORDING

    @property
    def output(self) -> str:
        """The end of both streams, for an assertion message."""
        return self.stdout[-3000:] + self.stderr[-3000:]


def shared_folder(factory: pytest.TempPathFactory) -> Path:
    """The folder every xdist worker of this session sees (the parent of the workers' own)."""
    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-gameday"


def _run(workdir: Path) -> SharedGameDay:
    shutil.copytree(REPOSITORY / "examples" / "own-checks", workdir / TEAM_FOLDER)
    home = workdir / "home"
    home.mkdir()
    env = maip_dr_env(home)
    env.update(SECRETS)
    # Every AWS and Kubernetes call recorded, with metrics and evidence upload on: the drill
    # half of the IAM policy check (tests/iam/test_policy_coverage.py).
    env[RECORDING_ENV] = str(workdir / DRILL_RECORDING)
    # DEBUG: botocore logs every signed request; pytest captures it for the Allure "log".
    (workdir / "maip-dr.toml").write_text(CONFIG)
    args = ["--config", "maip-dr.toml", "gameday", "--drill-id", DRILL_ID, "--log-level=DEBUG",
            "--features", TEAM_FOLDER, "--participant", "Ana <incident commander>",
            "--note", "shared record", *RECORDED_OPERATIONS_ARGS, "--hold-in-dr", HOLD]
    started = time.monotonic()
    process = subprocess.Popen([str(BIN_DIR / "maip-dr"), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=workdir)
    _RUNNING.append(process)
    try:
        stdout, stderr = process.communicate(timeout=GAMEDAY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    finally:
        _RUNNING.remove(process)
    return SharedGameDay(workdir=workdir, args=args, returncode=process.returncode,
                         stdout=stdout, stderr=stderr, wall_s=time.monotonic() - started)


def stop_background(grace_s: float = 60.0) -> None:
    """Stop a game day this process still runs (the session ended before a test read it):
    SIGTERM, as an operator's Ctrl-C, then SIGKILL after ``grace_s``."""
    for process in list(_RUNNING):
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()


def _run_once(folder: Path, lock: Path, *, wait: bool) -> None:
    """Run the game day unless its outcome is there; with ``wait`` false, return at once when
    another worker holds the lock (it is running it)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        outcome = folder / "outcome.json"  # the lock is released when the file closes
        if not outcome.exists():
            workdir = folder / "run"
            workdir.mkdir(parents=True)
            run = _run(workdir)
            outcome.write_text(json.dumps({**run.__dict__, "workdir": str(run.workdir)}))


def start_in_background(factory: pytest.TempPathFactory) -> threading.Thread:
    """Start the session's game day in a thread of this worker, unless another runs it."""
    folder = shared_folder(factory)
    thread = threading.Thread(target=_run_once, name="shared-gameday", daemon=True,
                              args=(folder, folder.parent / "shared-gameday.lock"),
                              kwargs={"wait": False})
    thread.start()
    return thread


def shared_gameday(factory: pytest.TempPathFactory) -> SharedGameDay:
    """The session's game day: run once (by whichever worker asks first), then read back."""
    folder = shared_folder(factory)
    _run_once(folder, folder.parent / "shared-gameday.lock", wait=True)
    data = json.loads((folder / "outcome.json").read_text())
    return SharedGameDay(**{**data, "workdir": Path(data["workdir"])})
