"""Find the stock AWS CLI (its own venv: it pins its own botocore), or make one.

Order: ``MAIP_TEST_AWS_CLI`` (CI builds .ci/venv-awscli), then ``benchmarks/.venv-awscli``
(created here with ``python -m venv`` and ``pip install awscli`` when absent). Not supported:
AWS CLI v2 installers (any ``aws`` works when pointed to by ``MAIP_TEST_AWS_CLI``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv-awscli"


def find_or_make_aws_cli(progress: object = print) -> tuple[Path | None, str]:
    """The ``aws`` executable and how it was found; None and why when it cannot be had."""
    given = os.environ.get("MAIP_TEST_AWS_CLI")
    if given:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return path, "MAIP_TEST_AWS_CLI"
        return None, f"MAIP_TEST_AWS_CLI={given} is not an executable file"
    aws = VENV / "bin" / "aws"
    if aws.is_file():
        return aws, "benchmarks/.venv-awscli"
    progress("  creating benchmarks/.venv-awscli (python -m venv, pip install awscli) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True,
                       capture_output=True, timeout=300)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "awscli"], check=True,
                       capture_output=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"could not install the AWS CLI into benchmarks/.venv-awscli: {error}"
    return (aws, "benchmarks/.venv-awscli (created)") if aws.is_file() else (
        None, "pip install awscli made no bin/aws")
