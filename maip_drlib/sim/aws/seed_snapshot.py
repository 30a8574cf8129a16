"""Seed once, restore at each start: the seeded moto state kept as a snapshot.

Seeding the MAIP topology through moto's HTTP API (``seed.seed_topology``) costs about a second
once moto is warm and three on a cold process (boto3 clients, moto's first requests). After the
first seeding of a topology, ``seeded_topology`` keeps a pickled copy of every moto backend
(and the ``SeedResult``), in memory and in the user's cache (``snapshot_store``: a new process
restores it too); each later start with the same topology, services, secrets and ALB health
unpickles a fresh, independent copy into moto's backends instead of seeding again. The
restored platform is the one seeding creates, with the ids and creation times of the first
seeding (the seeded platform predates the drill either way), and the simulated Route 53
checkers watch its health checks from the start, as after seeding.

What the snapshot cannot hold makes the capture give up (the start then seeds as before, and
says so at DEBUG): a private key type pickle does not know (KMS keys are kept as PEM), or a
moto backend not registered under its own service name. A snapshot that cannot be restored
(written by other code, broken) is discarded and the start seeds.

Not supported: moto's ``model_data`` instance tracking (used by its Config and
resource-groups APIs, which the simulation does not serve); a snapshot taken after anything
but the seeding wrote to moto.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from maip_drlib.config import Topology
from maip_drlib.sim.aws import snapshot_store
from maip_drlib.sim.aws.seed import AlbHealth, SeedResult, seed_topology, seeding_arguments

_log = logging.getLogger(__name__)
_snapshots: dict[tuple[Any, ...], bytes] = {}
_snapshots_lock = threading.Lock()
# What unpickling a snapshot written by other code or a broken file can raise.
_UNLOADABLE = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
               KeyError, TypeError, ValueError)
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_PRIVATE_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


class SnapshotUnavailable(Exception):
    """The moto state could not be kept; the start seeds instead."""


@dataclass(frozen=True)
class _SeededState:
    seed: SeedResult
    backends: dict[str, dict[str, dict[str, Any]]]  # service -> account -> region -> backend


def seeded_topology(endpoint_url: str, topology: Topology, *,
                    alb_health: AlbHealth | None = None,
                    services: tuple[str, ...] | None = None,
                    secret_names: tuple[str, ...] | None = None,
                    environ: Mapping[str, str] | None = None) -> SeedResult:
    """``seed_topology``'s result and moto state, restored from a snapshot of the same
    seeding (this process's, else the user's snapshot file: ``snapshot_store``) when there
    is one, else seeded through HTTP and then kept in both places.

    The caller's moto server must be freshly started (``MotoServer.start`` resets every
    backend): the snapshot replaces moto's whole state.
    """
    arguments = seeding_arguments(alb_health, services, secret_names)
    key = (topology, *arguments)
    folder = snapshot_store.snapshot_dir(os.environ if environ is None else environ)
    restored = _restore(key, folder)
    if restored is not None:
        return dataclasses.replace(restored, endpoint_url=endpoint_url)
    seed = seed_topology(endpoint_url, topology, alb_health=arguments[0],
                         services=arguments[1], secret_names=arguments[2])
    try:
        blob = _dump(_SeededState(seed=seed, backends=_current_backends()))
    except SnapshotUnavailable as problem:
        _log.debug("the seeded simulation is not kept (%s); each start seeds", problem)
        return seed
    with _snapshots_lock:
        _snapshots[key] = blob
    if folder is not None:
        snapshot_store.save(folder, snapshot_store.fingerprint(repr(key)), blob)
    return seed


def _restore(key: tuple[Any, ...], folder: Path | None) -> SeedResult | None:
    """Install the kept moto state of ``key``; its SeedResult, or None (nothing kept)."""
    with _snapshots_lock:
        blob = _snapshots.get(key)
    name = ""
    if blob is None and folder is not None:
        name = snapshot_store.fingerprint(repr(key))
        blob = snapshot_store.load(folder, name)
    if blob is None:
        return None
    try:
        state = _load(blob)
    except _UNLOADABLE as problem:
        _log.debug("simulation snapshot %s not restored (%s); seeding", name or "in memory",
                   problem)
        if folder is not None and name:
            snapshot_store.discard(folder, name)
        return None
    _install(state.backends)
    _track_health_checks()
    with _snapshots_lock:
        _snapshots[key] = blob
    return state.seed


def forget_snapshots() -> None:
    """Drop every kept snapshot (the next start of each topology seeds through HTTP)."""
    with _snapshots_lock:
        _snapshots.clear()


def _current_backends() -> dict[str, dict[str, dict[str, Any]]]:
    from moto.backends import get_backend
    from moto.core.base_backend import BackendDict

    found: dict[str, dict[str, dict[str, Any]]] = {}
    for backend_dict in BackendDict._instances:  # moto keeps no public list
        service = backend_dict.service_name
        if _backend_dict(service, get_backend) is not backend_dict:
            raise SnapshotUnavailable(f"moto backend {service!r} is not found by its name")
        found[service] = {account: dict(regions) for account, regions in backend_dict.items()}
    return found


def _backend_dict(service: str, get_backend: Any) -> Any:
    try:
        return get_backend(service)
    except (KeyError, ImportError, AttributeError):
        return None


def _install(backends: dict[str, dict[str, dict[str, Any]]]) -> None:
    from moto.backends import get_backend

    for service, accounts in backends.items():
        backend_dict = get_backend(service)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            account_backends = backend_dict[account]  # registers it for moto's reset
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)


def _track_health_checks() -> None:
    """What seeding's CreateHealthCheck does besides storing: the checkers start watching."""
    from moto.route53.models import route53_backends

    from maip_drlib.sim.aws import runtime
    from maip_drlib.sim.aws.patches.route53_health_status import spec_of

    registry = runtime.current().health
    for _account, backends in route53_backends.items():
        for backend in backends.values():
            for health_check in backend.health_checks.values():
                registry.track(spec_of(health_check))


# Pickling -----------------------------------------------------------------------------------

class _Pickler(pickle.Pickler):
    """Keeps locks as new locks, private keys as PEM, and moto's registries by name."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return _new_lock, (isinstance(obj, type(threading.RLock())),)
        pem = _private_key_pem(obj)
        if pem is not None:
            return _load_private_key, (pem,)
        return NotImplemented

    def persistent_id(self, obj: Any) -> str | None:
        from moto.core.base_backend import BackendDict

        if isinstance(obj, BackendDict):
            return obj.service_name
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        from moto.backends import get_backend

        return get_backend(pid)


def _dump(state: _SeededState) -> bytes:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    except (pickle.PicklingError, TypeError, AttributeError) as problem:
        raise SnapshotUnavailable(str(problem)) from problem
    return buffer.getvalue()


def _load(blob: bytes) -> _SeededState:
    state = _Unpickler(io.BytesIO(blob)).load()
    if not isinstance(state, _SeededState):
        raise TypeError(f"a seed snapshot holds {type(state).__name__}")
    return state


def _new_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _private_key_pem(obj: Any) -> bytes | None:
    if not isinstance(obj, _PRIVATE_KEY_TYPES):
        return None
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_private_key(pem: bytes) -> Any:
    # A key a seeding made and _dump wrote (in memory, or the user's private snapshot file):
    # RSA validation (about 50 ms a key) would only re-check it.
    return serialization.load_pem_private_key(pem, password=None,
                                              unsafe_skip_rsa_key_validation=True)

