"""Small statistics and machine facts for the benchmark results (stdlib only)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, spread (min, max, and the interquartile range when there are 4+ values)."""
    if not values:
        return {"n": 0, "median": None, "min": None, "max": None, "iqr": None, "values": []}
    ordered = sorted(values)
    iqr = None
    if len(ordered) >= 4:
        quartiles = statistics.quantiles(ordered, n=4)
        iqr = round(quartiles[2] - quartiles[0], 6)
    return {"n": len(ordered), "median": round(statistics.median(ordered), 6),
            "min": round(ordered[0], 6), "max": round(ordered[-1], 6), "iqr": iqr,
            "values": [round(v, 6) for v in values]}


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> dict[str, Any]:
    """Pairwise ratios of runs measured side by side (same repeat), summarised."""
    return summary([a / b for a, b in zip(numerators, denominators, strict=False) if b > 0])


def fmt_s(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def fmt_spread(stats: dict[str, Any], unit: str = "s") -> str:
    """``median (min-max, n=N)`` in seconds or as a ratio."""
    if not stats.get("n"):
        return "n/a"
    if unit == "x":
        return f"{stats['median']:.1f}x ({stats['min']:.1f}-{stats['max']:.1f}, n={stats['n']})"
    return (f"{fmt_s(stats['median'])} ({fmt_s(stats['min'])}-{fmt_s(stats['max'])}, "
            f"n={stats['n']})")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _command_version(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else None


def machine(aws_cli: str | None = None) -> dict[str, Any]:
    """What the figures were measured on: host, CPUs, load, Python and package versions."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    cpu_model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {name: _version(name) for name in
                ("maip-dr", "moto", "boto3", "botocore", "kubernetes", "pytest", "urllib3")}
    versions["python"] = sys.version.split()[0]
    versions["kubectl"] = _command_version(["kubectl", "version", "--client"])
    versions["curl"] = _command_version(["curl", "--version"])
    if aws_cli:
        versions["aws-cli"] = _command_version([aws_cli, "--version"])
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "cpu_model": cpu_model, "load_average_at_start": load,
            "versions": versions}
