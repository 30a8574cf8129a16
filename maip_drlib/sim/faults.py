"""The fault state every part of the simulation reads, and the controls that change it.

One ``FaultState`` per simulation, shared by the moto middleware, the fake Kubernetes API
servers, the controller, the actuator endpoints and the metric publisher. All access is
under one lock; readers take snapshots. Every fault is simulated.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Literal

OutageMode = Literal["refuse", "hang"]
PromotionMode = Literal["normal", "stuck", "fail"]
ReplicatorState = Literal["RUNNING", "FAILED", "CREATING", "UPDATING", "DELETING"]

# Replication lag stores with a CloudWatch metric the readiness checks read.
LAG_STORES = ("rds", "dynamodb", "msk")


@dataclass(frozen=True)
class EndpointFault:
    """How a region's actuator endpoint misbehaves: HTTP status and DOWN components."""

    http_status: int = 200
    down_components: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlbFault:
    """What a region's ALB metrics report; None means "as the endpoint fault implies".

    ``http_5xx_count`` is the ``HTTPCode_ELB_5XX_Count`` of each published datapoint (one
    datapoint stands for one minute of traffic); ``target_response_time_s`` is its
    ``TargetResponseTime``. Only the metrics change: the endpoint and the Route 53 health
    check still answer as the endpoint fault says (a degraded ALB is not a dead one).
    """

    http_5xx_count: float | None = None
    target_response_time_s: float | None = None


@dataclass(frozen=True)
class RegionFaults:
    """Faults that apply to one region."""

    outage: OutageMode | None = None
    endpoint: EndpointFault = field(default_factory=EndpointFault)
    # Pods that never become ready: None, or a waiting reason such as CrashLoopBackOff.
    pods_never_ready: str | None = None
    alb: AlbFault = field(default_factory=AlbFault)


@dataclass(frozen=True)
class FaultSnapshot:
    """An immutable view of every fault at one moment."""

    regions: dict[str, RegionFaults]
    route53_control_plane_impaired: bool = False
    # Replication lag in seconds per store (rds, dynamodb, msk).
    lag_seconds: dict[str, float] = field(default_factory=dict)
    replicator_state: ReplicatorState = "RUNNING"
    promotion: PromotionMode = "normal"

    def region(self, name: str) -> RegionFaults:
        return self.regions.get(name, RegionFaults())

    def region_down(self, name: str) -> bool:
        return self.region(name).outage is not None


class FaultState:
    """Thread-safe holder of the simulation's faults."""

    def __init__(self, regions: tuple[str, ...]):
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._snapshot = FaultSnapshot(
            regions={name: RegionFaults() for name in regions},
            lag_seconds={store: 0.5 for store in LAG_STORES},
        )

    def snapshot(self) -> FaultSnapshot:
        with self._lock:
            return self._snapshot

    def wait_for_change(self, timeout: float) -> None:
        """Block until any fault changes or ``timeout`` seconds pass (for hanging APIs)."""
        with self._changed:
            self._changed.wait(timeout)

    def _update(self, **changes: object) -> FaultSnapshot:
        with self._changed:
            self._snapshot = replace(self._snapshot, **changes)  # type: ignore[arg-type]
            self._changed.notify_all()
            return self._snapshot

    def _update_region(self, region: str, **changes: object) -> FaultSnapshot:
        with self._changed:
            if region not in self._snapshot.regions:
                raise KeyError(f"unknown region {region!r}")
            regions = dict(self._snapshot.regions)
            regions[region] = replace(regions[region], **changes)  # type: ignore[arg-type]
            self._snapshot = replace(self._snapshot, regions=regions)
            self._changed.notify_all()
            return self._snapshot

    # Controls -------------------------------------------------------------------------

    def region_outage(self, region: str, mode: OutageMode = "refuse") -> FaultSnapshot:
        return self._update_region(region, outage=mode)

    def restore_region(self, region: str) -> FaultSnapshot:
        return self._update_region(region, outage=None, endpoint=EndpointFault(),
                                   pods_never_ready=None, alb=AlbFault())

    def set_endpoint(self, region: str, http_status: int = 200,
                     down_components: tuple[str, ...] = ()) -> FaultSnapshot:
        return self._update_region(
            region, endpoint=EndpointFault(http_status=http_status,
                                           down_components=tuple(down_components))
        )

    def set_alb(self, region: str, http_5xx_count: float | None = None,
                target_response_time_s: float | None = None) -> FaultSnapshot:
        """Degrade ``region``'s ALB metrics (both None: clear the fault)."""
        for name, value in (("http_5xx_count", http_5xx_count),
                            ("target_response_time_s", target_response_time_s)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0")
        return self._update_region(region, alb=AlbFault(
            http_5xx_count=None if http_5xx_count is None else float(http_5xx_count),
            target_response_time_s=(None if target_response_time_s is None
                                    else float(target_response_time_s))))

    def set_pods_never_ready(self, region: str, reason: str | None) -> FaultSnapshot:
        return self._update_region(region, pods_never_ready=reason)

    def impair_route53_control_plane(self, impaired: bool = True) -> FaultSnapshot:
        return self._update(route53_control_plane_impaired=impaired)

    def set_lag(self, store: str, seconds: float) -> FaultSnapshot:
        if store not in LAG_STORES:
            raise KeyError(f"unknown store {store!r}; one of {', '.join(LAG_STORES)}")
        if seconds < 0:
            raise ValueError("lag must be >= 0 seconds")
        lags = dict(self.snapshot().lag_seconds)
        lags[store] = float(seconds)
        return self._update(lag_seconds=lags)

    def set_replicator_state(self, state: ReplicatorState) -> FaultSnapshot:
        return self._update(replicator_state=state)

    def set_promotion(self, mode: PromotionMode) -> FaultSnapshot:
        return self._update(promotion=mode)
