"""A pytest phase of a drill signs as ``maip-dr-<drill id>`` when a live region names a
``role_arn`` (issue 14 item 7: CloudTrail shows which drill made each call), against moto's
STS on 127.0.0.1 (SIMULATED: moto accepts any AssumeRole)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.sim

pytest_plugins = ["pytester"]

CONFTEST = """
pytest_plugins = ["maip_drlib.pytest_dr.plugin", "maip_drlib.pytest_dr.fixtures",
                  "maip_drlib.pytest_dr.allure_evidence"]
"""

PROBE = """
from pathlib import Path

def test_caller(dr_handles):
    arns = [h.client("sts").get_caller_identity()["Arn"] for h in dr_handles]
    Path("callers.txt").write_text("\\n".join(arns))
"""


@pytest.fixture
def project(pytester: pytest.Pytester, moto_endpoint: str,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5).raise_for_status()
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the default chain of this test
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("MAIP_DR_DRILL_ID", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_probe=PROBE)
    config = pytester.path / "c.toml"
    config.write_text(textwrap.dedent(f"""
        [targets.prod]
        kind = "live"
        [targets.prod.regions.us-east-1]
        endpoint_url = "{moto_endpoint}"
        role_arn = "arn:aws:iam::111122223333:role/maip-dr"
        [targets.prod.regions.us-west-2]
        endpoint_url = "{moto_endpoint}"
        role_arn = "arn:aws:iam::444455556666:role/maip-dr"
    """))
    return config


def test_the_drill_id_names_the_assumed_role_session_in_each_region(
        pytester: pytest.Pytester, project: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dr-config", str(project),
                                           "--dr-target", "prod",
                                           "--dr-drill-id", "gameday-20261206T0500Z")
    result.assert_outcomes(passed=1)
    callers = (pytester.path / "callers.txt").read_text().splitlines()
    assert callers == [
        "arn:aws:sts::111122223333:assumed-role/maip-dr/maip-dr-gameday-20261206T0500Z",
        "arn:aws:sts::444455556666:assumed-role/maip-dr/maip-dr-gameday-20261206T0500Z",
    ]
