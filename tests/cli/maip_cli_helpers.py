"""Running ``maip-dr`` as a user does: a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN_DIR = Path(sys.executable).parent


def maip_dr_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "MAIP_", "KUBECONFIG"))}
    env["HOME"] = str(home)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_maip_dr(args: list[str], home: Path, timeout: float = 120,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN_DIR / "maip-dr"), *args], capture_output=True, text=True,
                          env=maip_dr_env(home), timeout=timeout, cwd=cwd, check=False)
