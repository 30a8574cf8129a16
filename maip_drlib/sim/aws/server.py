"""The moto server of the simulation: moto in server mode on loopback, behind the fault middleware.

Built like moto's ``ThreadedMotoServer`` (werkzeug ``make_server`` over
``DomainDispatcherApplication(create_backend_app)``, threaded, ``MotoRequestHandler``) with
``FaultMiddleware`` in front. ``start()`` applies the patches (idempotent), resets every moto
backend and installs a fresh ``SimRuntime``.

moto's backends and the patches are process-global: ONE simulation per process, and starting
a server wipes whatever moto state the process had. Not supported: binding anything but
127.0.0.1, two servers running at once in one process, TLS (plain HTTP on loopback).
"""

from __future__ import annotations

import threading
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.middleware import DEFAULT_HANG_LIMIT_S, FaultMiddleware, Rule
from maip_drlib.sim.aws.runtime import HealthRegistry, RegionHealth, SimDurations, SimRuntime
from maip_drlib.sim.clock import SimClock
from maip_drlib.sim.faults import FaultState

LOOPBACK = "127.0.0.1"
_STOP_TIMEOUT_S = 10.0


def _quiet_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietMotoRequestHandler(MotoRequestHandler):
        """moto's handler without a log line per request, nor per malformed request.

        A simulated outage drops connections mid-request, and the remains of such a request
        read as "Bad request syntax"; clients see the drop, the console need not.
        """

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return None

        def log_error(self, *args: Any) -> None:
            return None

    return QuietMotoRequestHandler


def _reset_moto_state() -> None:
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()


class MotoServer:
    """moto on 127.0.0.1 with simulated faults; ``start()`` returns the endpoint URL."""

    def __init__(
        self,
        faults: FaultState,
        clock: SimClock,
        *,
        region_healthy: RegionHealth | None = None,
        durations: SimDurations | None = None,
        hang_limit_s: float = DEFAULT_HANG_LIMIT_S,
        rules: tuple[Rule, ...] = (),
    ):
        self.faults = faults
        self.clock = clock
        self.runtime = SimRuntime(
            faults=faults,
            clock=clock,
            health=HealthRegistry(faults, region_healthy),
            durations=durations or SimDurations(),
        )
        self._hang_limit_s = hang_limit_s
        self._rules = rules
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.middleware: FaultMiddleware | None = None
        self.endpoint_url: str | None = None

    def start(self) -> str:
        """Start serving on a free loopback port; returns ``http://127.0.0.1:PORT``."""
        if self._server is not None:
            raise RuntimeError("MotoServer already started")
        from werkzeug.serving import make_server

        from maip_drlib.sim.aws.patches import apply_all

        apply_all()
        _reset_moto_state()
        runtime.install(self.runtime)

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            create_backend_app,
        )

        self.middleware = FaultMiddleware(
            DomainDispatcherApplication(create_backend_app),
            self.faults,
            hang_limit_s=self._hang_limit_s,
            rules=list(self._rules),
        )
        self._server = make_server(
            LOOPBACK, 0, self.middleware, threaded=True, request_handler=_quiet_handler()
        )
        port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"moto-server-{port}", daemon=True,
        )
        self._thread.start()
        self.endpoint_url = f"http://{LOOPBACK}:{port}"
        return self.endpoint_url

    def stop(self) -> None:
        """Stop serving (bounded); hanging requests are released and dropped."""
        if self._server is None:
            return
        if self.middleware is not None:
            self.middleware.stop()
        from maip_drlib.sim.aws.patches.dynamodb_item_replication import stop_delivery

        stop_delivery(_STOP_TIMEOUT_S)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=_STOP_TIMEOUT_S)
        self._server = None
        self._thread = None

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
