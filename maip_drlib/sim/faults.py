"""The fault state every part of the simulation reads, and the controls that change it.

One ``FaultState`` per simulation, shared by the moto middleware, the fake Kubernetes API
servers, the controller, the actuator endpoints and the metric publisher. All access is
under one lock; readers take snapshots. Parts that open or close sockets (the Kubernetes API
servers, the actuator endpoints, the PostgreSQL servers) also register listeners: every control
calls them in its caller's thread before it returns, so a fault (or its clearing) is in force
once the control returns; their follower threads stay as a backstop. Every fault is simulated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

OutageMode = Literal["refuse", "hang"]
ApiFaultKind = Literal["refuse", "hang", "5xx", "throttle"]
PromotionMode = Literal["normal", "stuck", "fail"]
ReplicatorState = Literal["RUNNING", "FAILED", "CREATING", "UPDATING", "DELETING"]

# Replication lag stores with a CloudWatch metric the readiness checks read.
LAG_STORES = ("rds", "dynamodb", "msk")

_log = logging.getLogger(__name__)
FaultListener = Callable[["FaultSnapshot"], None]


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
class ApiFault:
    """One AWS API fault: which calls it hits, what they get, and for how many calls.

    ``service`` is the SigV4 signing name (``rds``, ``eks``, ``route53``, ``monitoring``, ...)
    or ``*``; ``region`` the signing region or ``*``. ``kind``: ``refuse`` (connection dropped),
    ``hang`` (no answer, bounded), ``5xx`` (HTTP ``status``, ``ServiceUnavailable`` by default)
    or ``throttle`` (the service's own throttling error: ``Throttling`` for query and rest-xml
    services, ``ThrottlingException`` for JSON services, ``TooManyRequestsException`` with HTTP
    429 for rest-json services, unless ``code``/``status`` say otherwise). ``remaining``: how
    many more requests it hits (a burst), None for a persistent fault (``hang`` is always
    persistent). Global services (Route 53, IAM, STS) are hit only by a fault naming them.
    """

    kind: ApiFaultKind
    service: str = "*"
    region: str = "*"
    status: int | None = None
    code: str | None = None
    remaining: int | None = None

    def matches(self, service: str | None, region: str | None) -> bool:
        return (self.service in ("*", service)) and (self.region in ("*", region))


@dataclass(frozen=True)
class RegionFaults:
    """Faults that apply to one region."""

    outage: OutageMode | None = None
    endpoint: EndpointFault = field(default_factory=EndpointFault)
    # Pods that never become ready: None, or a waiting reason such as CrashLoopBackOff.
    pods_never_ready: str | None = None
    alb: AlbFault = field(default_factory=AlbFault)
    # The Kubernetes API alone refuses or hangs (the AWS APIs and endpoint are unaffected).
    kube_api: OutageMode | None = None
    # Every node reports Ready=False while the Kubernetes API answers.
    nodes_not_ready: bool = False
    # Non-health application paths (the synthetic request) answer this status; health stays.
    synthetic_status: int | None = None


@dataclass(frozen=True)
class FaultSnapshot:
    """An immutable view of every fault at one moment."""

    regions: dict[str, RegionFaults]
    route53_control_plane_impaired: bool = False
    # Replication lag in seconds per store (rds, dynamodb, msk).
    lag_seconds: dict[str, float] = field(default_factory=dict)
    replicator_state: ReplicatorState = "RUNNING"
    promotion: PromotionMode = "normal"
    # AWS API faults, consulted in order (first match wins); bursts count down.
    api_faults: tuple[ApiFault, ...] = ()
    # EKS node group updates end Failed (the scaling is left as it was).
    nodegroup_update_fails: bool = False
    # Route 53 changes stay PENDING (never INSYNC) while set.
    route53_change_stuck: bool = False
    # Every replication link into a simulated PostgreSQL standby is cut (data plane only:
    # without it the fault is recorded and changes nothing).
    replication_cut: bool = False

    def region(self, name: str) -> RegionFaults:
        return self.regions.get(name, RegionFaults())

    def region_down(self, name: str) -> bool:
        return self.region(name).outage is not None

    def kube_api_mode(self, name: str) -> OutageMode | None:
        """How the region's Kubernetes API misbehaves: region outage first, then its own."""
        region = self.region(name)
        return region.outage or region.kube_api


class FaultState:
    """Thread-safe holder of the simulation's faults."""

    def __init__(self, regions: tuple[str, ...]):
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._snapshot = FaultSnapshot(
            regions={name: RegionFaults() for name in regions},
            lag_seconds={store: 0.5 for store in LAG_STORES},
        )
        self._listeners: list[FaultListener] = []

    def add_listener(self, listener: FaultListener) -> None:
        """Call ``listener(snapshot)`` after every control change, before the control returns.

        Listeners run in the caller's thread, outside the lock, and must be idempotent (a
        follower thread may apply the same snapshot). A listener that raises is logged and
        the others still run. Burst counting on the request path does not call them.
        """
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: FaultListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _announce(self, snapshot: FaultSnapshot) -> FaultSnapshot:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(snapshot)
            except Exception as error:  # a follower thread retries the change
                _log.warning("applying a simulated fault change failed in %r: %s",
                             listener, error)
        return snapshot

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
            snapshot = self._snapshot
        return self._announce(snapshot)

    def _update_region(self, region: str, **changes: object) -> FaultSnapshot:
        with self._changed:
            if region not in self._snapshot.regions:
                raise KeyError(f"unknown region {region!r}")
            regions = dict(self._snapshot.regions)
            regions[region] = replace(regions[region], **changes)  # type: ignore[arg-type]
            self._snapshot = replace(self._snapshot, regions=regions)
            self._changed.notify_all()
            snapshot = self._snapshot
        return self._announce(snapshot)

    # Controls -------------------------------------------------------------------------

    def region_outage(self, region: str, mode: OutageMode = "refuse") -> FaultSnapshot:
        return self._update_region(region, outage=mode)

    def restore_region(self, region: str) -> FaultSnapshot:
        """Region back: its outage, endpoint, pod, ALB, Kubernetes, node and API faults end."""
        with self._changed:
            kept = tuple(fault for fault in self._snapshot.api_faults if fault.region != region)
            self._snapshot = replace(self._snapshot, api_faults=kept)
        return self._update_region(region, outage=None, endpoint=EndpointFault(),
                                   pods_never_ready=None, alb=AlbFault(), kube_api=None,
                                   nodes_not_ready=False, synthetic_status=None)

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

    def set_kube_api(self, region: str, mode: OutageMode | None) -> FaultSnapshot:
        """Only ``region``'s Kubernetes API refuses or hangs (None: it answers again)."""
        return self._update_region(region, kube_api=mode)

    def set_nodes_not_ready(self, region: str, not_ready: bool = True) -> FaultSnapshot:
        """Every node of ``region`` reports NotReady while the API answers (False: Ready)."""
        return self._update_region(region, nodes_not_ready=not_ready)

    def set_synthetic_status(self, region: str, status: int | None) -> FaultSnapshot:
        """``region``'s application paths answer ``status`` while health stays (None: clear)."""
        if status is not None and not 100 <= status <= 599:
            raise ValueError("synthetic status must be an HTTP status 100..599")
        return self._update_region(region, synthetic_status=status)

    def add_api_fault(self, fault: ApiFault) -> FaultSnapshot:
        """Add an AWS API fault (see ``ApiFault``); later faults match after earlier ones."""
        if fault.kind not in ("refuse", "hang", "5xx", "throttle"):
            raise ValueError(f"unknown API fault kind {fault.kind!r}")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("an API fault burst must hit at least 1 call")
        if fault.kind == "hang" and fault.remaining is not None:
            raise ValueError("a hang API fault is persistent (no burst count)")
        if fault.status is not None and not 400 <= fault.status <= 599:
            raise ValueError("an API fault status must be 400..599")
        with self._changed:
            snapshot = self._set(api_faults=(*self._snapshot.api_faults, fault))
        return self._announce(snapshot)

    def clear_api_faults(self, service: str | None = None,
                         region: str | None = None) -> FaultSnapshot:
        """Remove API faults (all, or those for exactly this service and/or region)."""
        with self._changed:
            kept = tuple(fault for fault in self._snapshot.api_faults
                         if (service is not None and fault.service != service)
                         or (region is not None and fault.region != region))
            snapshot = self._set(api_faults=kept)
        return self._announce(snapshot)

    def take_api_fault(self, service: str | None, region: str | None) -> ApiFault | None:
        """The first API fault matching a request, counting one call off a burst."""
        with self._changed:
            faults = list(self._snapshot.api_faults)
            for index, fault in enumerate(faults):
                if not fault.matches(service, region):
                    continue
                if fault.remaining is not None:
                    if fault.remaining <= 1:
                        del faults[index]
                    else:
                        faults[index] = replace(fault, remaining=fault.remaining - 1)
                    self._set(api_faults=tuple(faults))
                return fault
            return None

    def _set(self, **changes: object) -> FaultSnapshot:
        # Caller holds the lock.
        self._snapshot = replace(self._snapshot, **changes)  # type: ignore[arg-type]
        self._changed.notify_all()
        return self._snapshot

    def set_nodegroup_update_fails(self, fails: bool = True) -> FaultSnapshot:
        """EKS node group updates end ``Failed`` with an error (False: they succeed)."""
        return self._update(nodegroup_update_fails=fails)

    def set_route53_change_stuck(self, stuck: bool = True) -> FaultSnapshot:
        """Route 53 changes read PENDING while set (False: they reach INSYNC as usual)."""
        return self._update(route53_change_stuck=stuck)

    def set_replication_cut(self, cut: bool = True) -> FaultSnapshot:
        """Cut every PostgreSQL standby's replication link (False: restore; data plane only)."""
        return self._update(replication_cut=cut)
