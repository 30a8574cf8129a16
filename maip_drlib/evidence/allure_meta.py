"""Allure run metadata: ``environment.properties``, ``executor.json`` and ``categories.json``.

Written into an alluredir at the end of a pytest session by
``maip_drlib.pytest_dr.allure_evidence``; everything goes through the Redactor.

- ``environment.properties``: target and kind, regions, ``time_scale``, ``simulated``, the drill
  and attempt ids, the operator, the config file's SHA-256, versions of the suite and of the key
  libraries (those installed).
- ``executor.json`` (Allure 2 schema, plus ``operator``, ``drillId`` and ``attemptId``): the
  operator is the AWS caller identity (STS ARN through the target's handles) plus the local
  user and host.
- ``categories.json``: for Allure 2 users only; Allure 3 ignores it and reads the same rules
  from ``allurerc.mjs`` (keep both in step: ``CATEGORIES`` is the source of truth, a test checks
  the config mentions every name).

Not supported: Allure 2's ``history/`` trend files, and an operator identity other than AWS STS
(a live target whose STS is unreachable is recorded as "unavailable (reason)").
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from maip_drlib.evidence.redact import Redactor, default_redactor

KEY_LIBRARIES = ("maip-dr", "boto3", "botocore", "kubernetes", "pytest", "pytest-bdd",
                 "allure-pytest-bdd", "moto")

# Failure classes of a drill. Allure 2 reads categories.json (first match wins); Allure 3 reads
# allurerc.mjs. Messages are "<ExceptionClass>: ..." (allure-pytest-bdd's exconly()).
CAPABILITY_ERRORS = ("CheckFailed", "WaitTimeout", "WaitFailed", "NotFound", "AssertionError")
CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "DR capability failed",
        "description": "The platform did not meet a DR check, wait or RTO: a verdict about "
                       "the platform.",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": "(?s).*\\b(" + "|".join(CAPABILITY_ERRORS) + ")\\b.*",
    },
    {
        "name": "suite or environment error",
        "description": "Unreachable target, bad configuration, refused guard or an internal "
                       "error: no verdict about the platform.",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": "(?s).*",
    },
]


@dataclass(frozen=True)
class Operator:
    """Who ran the drill: the AWS caller identity and the local account."""

    aws_arn: str  # the STS ARN, or "unavailable (<reason>)"
    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.aws_arn} ({self.user}@{self.host})"


def local_user_host() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return user, socket.gethostname()


def caller_identity_arn(handles: Any) -> str:
    """The STS caller identity ARN through the target's primary handle, or why not."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(handles.primary.client("sts").get_caller_identity()["Arn"])
    except ClientError as error:
        return f"unavailable ({error.response.get('Error', {}).get('Code', 'ClientError')})"
    except BotoCoreError as error:
        return f"unavailable ({type(error).__name__})"
    except (KeyError, AttributeError) as error:
        return f"unavailable ({type(error).__name__})"


def operator_of(handles: Any | None, reason_if_none: str = "no target handles") -> Operator:
    user, host = local_user_host()
    arn = caller_identity_arn(handles) if handles is not None else f"unavailable ({reason_if_none})"
    return Operator(aws_arn=arn, user=user, host=host)


def library_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str]:
    """Installed versions of ``names``; libraries that are not installed are left out."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def file_sha256(path: Path | None) -> str:
    if path is None:
        return "none (no config file: embedded defaults)"
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as error:
        return f"unreadable ({error.strerror})"


def environment_properties(target: Any, *, drill_id: str | None, attempt: int | None,
                           config_path: Path | None, operator: Operator) -> dict[str, str]:
    """The environment of one run, as ordered key/value strings (simulated first)."""
    simulated = bool(getattr(target, "simulated", False))
    regions = [c.region for c in getattr(target, "connections", ())] or [
        getattr(target.primary, "region", "?"), getattr(target.secondary, "region", "?")]
    props: dict[str, str] = {
        "simulated": "true" if simulated else "false",
        "evidence": ("SIMULATED run: evidence from a simulation, not production" if simulated
                     else "live run"),
        "target": str(target.name),
        "target.kind": str(target.kind),
        "regions": ", ".join(regions),
        "primary.region": str(target.primary.region),
        "secondary.region": str(target.secondary.region),
        "time_scale": (f"{target.time_scale:g} real seconds per simulated minute"
                       if target.time_scale else
                       ("simulation default" if simulated else "real time (1 min = 60 s)")),
        "drill.id": drill_id or "none",
        "attempt": str(attempt) if attempt is not None else "none",
        "operator": str(operator),
        "config.file": str(config_path) if config_path else "none",
        "config.sha256": file_sha256(config_path),
    }
    for name, version in library_versions().items():
        props[f"version.{name}"] = version
    return props


def _escape_property(text: str, *, key: bool) -> str:
    out: list[str] = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char in "=:#!" and (key or index == 0):
            out.append("\\" + char)
        elif char == " " and (key or index == 0):
            out.append("\\ ")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) > 0x7E or ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else "?")
        else:
            out.append(char)
    return "".join(out)


def write_environment(alluredir: Path, props: dict[str, str],
                      redactor: Redactor | None = None) -> Path:
    """``environment.properties`` (Java properties syntax, ASCII with \\u escapes)."""
    redactor = redactor or default_redactor()
    lines = [f"{_escape_property(k, key=True)}="
             f"{_escape_property(redactor.text(v), key=False)}" for k, v in props.items()]
    path = Path(alluredir) / "environment.properties"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def executor_info(*, operator: Operator, drill_id: str | None, attempt: int | None,
                  target: Any) -> dict[str, Any]:
    """Allure's executor.json (name, type, buildName, buildOrder, reportName) plus the drill."""
    sim = " (SIMULATED)" if getattr(target, "simulated", False) else ""
    build = f"drill {drill_id or 'none'} attempt {attempt if attempt is not None else '-'}"
    return {
        "name": str(operator),
        "type": "maip-dr",
        "buildName": build + f" on {target.name} [{target.kind}]{sim}",
        "buildOrder": attempt if attempt is not None else 0,
        "reportName": f"MAIP DR {drill_id or 'run'}{sim}",
        "operator": {"awsArn": operator.aws_arn, "user": operator.user, "host": operator.host},
        "drillId": drill_id,
        "attemptId": attempt,
        "target": {"name": target.name, "kind": target.kind},
        "simulated": bool(getattr(target, "simulated", False)),
    }


def write_executor(alluredir: Path, info: dict[str, Any],
                   redactor: Redactor | None = None) -> Path:
    redactor = redactor or default_redactor()
    path = Path(alluredir) / "executor.json"
    path.write_text(json.dumps(redactor.value(info), indent=2))
    return path


def write_categories(alluredir: Path) -> Path:
    """``categories.json`` for Allure 2 (Allure 3 takes its categories from allurerc.mjs)."""
    path = Path(alluredir) / "categories.json"
    path.write_text(json.dumps(CATEGORIES, indent=2))
    return path
