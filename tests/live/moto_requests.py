"""The simulation's own log of AWS requests: moto's request recorder, read and classified.

``maip-dr sim up`` serves AWS with moto; moto records every request it receives once
``POST /moto-api/recorder/start-recording`` is called (unsigned, so the simulation's fault
middleware lets it pass), and serves the record at ``GET /moto-api/recorder/download-recording``
(JSON lines: method, url, headers, body, base64 when ``body_encoded``). This is the
simulation's view, independent of what the suite says it did.

``operation`` names a request's API operation from its wire protocol: the ``X-Amz-Target``
header (JSON protocols), ``Action=`` (query protocols: RDS, ELBv2, STS, IAM), the path of the
RPC v2 CBOR protocol (``/service/S/operation/OP``), else the HTTP method of a REST call (Route
53, EKS, MSK, S3), where GET and HEAD read. ``is_read`` is true for reading operations
(Describe, List, Get, Query, Scan, BatchGet, Head, Lookup, Search).

``simulation_own`` tells the simulation's own writes apart: its metrics publisher puts the
datapoints AWS itself would publish (namespaces ``AWS/...``, which CloudWatch refuses from any
customer, so never the suite's) and, standing in for the platform's services, one DynamoDB item
per region (hash key ``simulated-traffic#<region>``) while their pods run. Not supported: S3
reads by POST (select), multipart bodies.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from maip_drlib.sim.aws.metrics import SIMULATED_TRAFFIC_KEY
from maip_drlib.sim.aws.seed import DYNAMODB_HASH_KEY

READ_PREFIXES = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "Head", "Lookup",
                 "Search")
_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Recorded:
    """One request moto received."""

    method: str
    path: str
    service: str
    region: str
    operation: str
    body: dict[str, Any]

    @property
    def is_read(self) -> bool:
        return self.operation.startswith(READ_PREFIXES)

    @property
    def simulation_own(self) -> bool:
        if self.operation == "PutMetricData":
            return str(self.body.get("Namespace", "")).startswith("AWS/")
        if self.operation == "PutItem":  # the simulated services' own traffic (one item)
            key = self.body.get("Item", {}).get(DYNAMODB_HASH_KEY, {}).get("S", "")
            return str(key).startswith(f"{SIMULATED_TRAFFIC_KEY}#")
        return False

    def __str__(self) -> str:
        table = self.body.get("TableName")
        what = f" {table}" if table else ""
        return f"{self.service} {self.region} {self.operation}{what} ({self.method} {self.path})"


def _scope(headers: dict[str, str]) -> tuple[str, str]:
    auth = headers.get("Authorization", "")
    for part in auth.replace(",", " ").split():
        if part.startswith("Credential="):
            pieces = part.removeprefix("Credential=").split("/")
            if len(pieces) == 5:
                return pieces[3], pieces[2]
    return "?", "?"


def _body(entry: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    raw = entry.get("body") or ""
    data = base64.b64decode(raw) if entry.get("body_encoded") else str(raw).encode()
    try:
        parsed = json.loads(data) if data else {}
    except (ValueError, UnicodeDecodeError):
        parsed = {}
    return data, parsed if isinstance(parsed, dict) else {}


def classify(entry: dict[str, Any]) -> Recorded:
    """One recorded entry -> its service, region and operation."""
    headers = {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}
    method = str(entry.get("method", "GET")).upper()
    parts = urlsplit(str(entry.get("url", "")))
    service, region = _scope(headers)
    data, parsed = _body(entry)
    target = headers.get("X-Amz-Target")
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif "/operation/" in parts.path:
        operation = parts.path.rsplit("/operation/", 1)[-1]
    else:
        query = parse_qs(parts.query)
        if b"Action=" in data:
            query = {**query, **parse_qs(data.decode("utf-8", "replace"))}
        actions = query.get("Action")
        if actions:
            operation = actions[0]
        else:
            operation = "Get (REST)" if method in ("GET", "HEAD") else f"{method} (REST)"
    return Recorded(method, parts.path, service, region, operation, parsed)


class MotoRecorder:
    """Start, reset and read moto's recording at a simulation's AWS endpoint."""

    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url.rstrip("/")

    def _post(self, action: str) -> None:
        response = requests.post(f"{self.endpoint_url}/moto-api/recorder/{action}",
                                 timeout=_TIMEOUT_S)
        response.raise_for_status()

    def start(self) -> None:
        self._post("start-recording")

    def reset(self) -> None:
        self._post("reset-recording")

    def requests(self) -> list[Recorded]:
        response = requests.get(f"{self.endpoint_url}/moto-api/recorder/download-recording",
                                timeout=_TIMEOUT_S)
        response.raise_for_status()
        return [classify(json.loads(line)) for line in response.text.splitlines() if line]


def writes(recorded: list[Recorded]) -> list[Recorded]:
    """The mutating requests the suite made (the simulation's own metric datapoints aside)."""
    return [entry for entry in recorded if not entry.is_read and not entry.simulation_own]
