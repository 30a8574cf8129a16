"""Counts and times every API round trip the library makes, and replays each distinct one.

Installed in a worker process only (never in the suite): wraps botocore's
``BaseClient._make_api_call`` (one AWS request), the Kubernetes client's ``ApiClient.call_api``
(one HTTP request) and the two HTTPS probes (endpoint health, TLS certificate). A call is keyed
by what it asks for (service, region, operation, parameters; or method, host, path, query), so
``replay_distinct`` makes each request the checks need exactly once, one after the other.

Not supported: calls made through other transports (none in the readiness checks or stage 4).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Key = tuple[str, ...]


@dataclass
class Call:
    key: Key
    kind: str  # "aws", "kube", "https"
    seconds: float
    replay: Callable[[], Any]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class Recorder:
    """Thread-safe log of calls; ``reset`` between measured runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.enabled = True

    def add(self, call: Call) -> None:
        if self.enabled:
            with self._lock:
                self.calls.append(call)

    def reset(self) -> list[Call]:
        with self._lock:
            taken, self.calls = self.calls, []
        return taken

    def install(self) -> None:
        self._install_botocore()
        self._install_kube()
        self._install_https()

    def _timed(self, kind: str, key: Key, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.add(Call(key, kind, time.perf_counter() - started, call))

    def _install_botocore(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        recorder = self

        def make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            key = ("aws", client.meta.service_model.service_name, client.meta.region_name,
                   operation_name, _canonical(api_params))
            return recorder._timed("aws", key,
                                   lambda: original(client, operation_name, api_params))

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]

    def _install_kube(self) -> None:
        from kubernetes.client.api_client import ApiClient

        original = ApiClient.call_api
        recorder = self

        def call_api(client: Any, resource_path: str, method: str, *args: Any,
                     **kwargs: Any) -> Any:
            path_params = args[0] if args else kwargs.get("path_params")
            query = args[1] if len(args) > 1 else kwargs.get("query_params")
            key = ("kube", str(client.configuration.host), method, resource_path,
                   _canonical(path_params), _canonical(query))
            return recorder._timed(
                "kube", key, lambda: original(client, resource_path, method, *args, **kwargs))

        ApiClient.call_api = call_api  # type: ignore[method-assign]

    def _install_https(self) -> None:
        from maip_drlib.probes import endpoint, tls

        health, certificate = endpoint.endpoint_health, tls.peer_certificate
        recorder = self

        def endpoint_health(url: str, *args: Any, **kwargs: Any) -> Any:
            return recorder._timed("https", ("https", "health", url),
                                   lambda: health(url, *args, **kwargs))

        def peer_certificate(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            return recorder._timed("https", ("https", "tls", host, str(port)),
                                   lambda: certificate(host, port, *args, **kwargs))

        endpoint.endpoint_health = endpoint_health  # type: ignore[assignment]
        tls.peer_certificate = peer_certificate  # type: ignore[assignment]


def counts(calls: list[Call]) -> dict[str, Any]:
    """Calls by kind, distinct requests, repeats of the same request, and by operation."""
    by_kind = Counter(call.kind for call in calls)
    distinct = {call.key for call in calls}
    by_operation = Counter(_operation(call.key) for call in calls)
    return {"total": len(calls), "by_kind": dict(by_kind), "distinct": len(distinct),
            "repeated": len(calls) - len(distinct),
            "by_operation": dict(by_operation.most_common())}


def _operation(key: Key) -> str:
    if key[0] == "aws":
        return f"aws {key[1]}:{key[3]} ({key[2]})"
    if key[0] == "kube":
        return f"kube {key[2]} {key[3]}"
    return f"https {key[1]}"


def replay_distinct(calls: list[Call]) -> tuple[float, dict[str, float]]:
    """Each distinct request once, sequentially; total seconds and seconds per request."""
    first: dict[Key, Call] = {}
    for call in calls:
        first.setdefault(call.key, call)
    per: dict[str, float] = {}
    total = 0.0
    for key, call in first.items():
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # an error answer is still a round trip
            call.replay()
        elapsed = time.perf_counter() - started
        total += elapsed
        per[" ".join(key)[:160]] = round(elapsed, 6)
    return total, per
