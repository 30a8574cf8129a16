"""Patch: the simulated RDS API drives real PostgreSQL servers (the opt-in data plane).

moto 5.2.5: every DB instance's ``Endpoint`` is a made-up name
(``<id>.aaaaaaaaaa.<region>.rds.amazonaws.com``, port 5432) with nothing behind it; promote,
create-read-replica, stop, start and delete change records only.

Production: the endpoint reaches a real database; promotion makes the replica writable;
a new read replica is a copy of its source that streams from it; a stopped or deleted
instance serves nothing.

This patch, ACTIVE ONLY while the running simulation has its data plane on (the moto
runtime's ``data_plane`` is set; otherwise every call is moto's, unchanged):
``Endpoint`` is 127.0.0.1 and the server's port; ``PromoteReadReplica`` keeps the
``rds_promotion`` timing and, when that completes, promotes the server (``pg_promote``),
the instance reading ``modifying`` until the server is a writer (``failed`` if it cannot);
``CreateDBInstanceReadReplica`` builds a streaming standby of the source's server (same
port if a server of that name exists; refused with ``InvalidDBInstanceState``, and the
instance not created, when the standby cannot be built); ``StopDBInstance`` stops the
server cleanly, ``StartDBInstance`` starts it, ``DeleteDBInstance`` removes it and its data.
Applied by the data plane on start-up, not by ``apply_all`` (``patch_names`` is unchanged);
idempotent. Not supported: reboots, snapshots and restores, instances with no server
behind them (moto's made-up endpoint stays), removing the patch again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import (
    _ORIGINALS_ATTR,
    MOTO_VERSION,
    check_moto_version,
)

PATCH_NAME = "rds_data_plane"
_wrapped: dict[tuple[type, str], Any] = {}

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "hooks"]


def hooks() -> Any:
    """The running simulation's data plane, or None (then the patch does nothing)."""
    try:
        return getattr(runtime.current(), "data_plane", None)
    except RuntimeError:
        return None


def _wrap(owner: type, name: str, build: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` by ``build(current)`` once (properties included)."""
    if (owner, name) in _wrapped:
        return
    current = getattr(owner, name)
    _wrapped[(owner, name)] = current
    replacement = build(current)
    if not isinstance(replacement, property):
        # Keeps ``_support.is_patched`` true for the patches underneath.
        setattr(replacement, _ORIGINALS_ATTR, current)
    setattr(owner, name, replacement)


def _source_name(source: str) -> str:
    """An instance id from an id or an ARN (``arn:aws:rds:REGION:ACCOUNT:db:ID``)."""
    return source.rsplit(":", 1)[-1] if source.startswith("arn:") else source


def _endpoint(original: property) -> property:
    def endpoint(self: Any) -> dict[str, Any]:
        plane = hooks()
        found = plane.endpoint(self.db_instance_identifier, self.region) if plane else None
        if found is None:
            return original.fget(self)  # type: ignore[misc]
        return {"Address": found[0], "Port": found[1]}

    return property(endpoint)


def _finder(account_id: str) -> Callable[[str, str], Any]:
    from moto.rds.models import rds_backends

    def find(instance: str, region: str) -> Any:
        if not region:
            return None
        return rds_backends[account_id][region].databases.get(instance)

    return find


def _describe(original: Any) -> Any:
    def describe_db_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        plane = hooks()
        if plane is not None:
            plane.after_describe(_finder(self.account_id))
        return result

    return describe_db_instances


def _promote(original: Any) -> Any:
    def promote_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = original(self, db_kwargs)
        plane = hooks()
        if plane is not None:
            plane.promotion_requested(database.db_instance_identifier)
        return database

    return promote_read_replica


def _create_replica(original: Any) -> Any:
    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        from moto.rds.exceptions import RDSClientError

        from maip_drlib.sim.postgres import PostgresSimError

        source = _source_name(db_kwargs["source_db_instance_identifier"])
        replica = original(self, db_kwargs)
        plane = hooks()
        if plane is None:
            return replica
        try:
            plane.replica_created(replica.db_instance_identifier, source, self.region_name)
        except PostgresSimError as error:
            self.databases.pop(replica.db_instance_identifier, None)
            primary = self.find_db_from_id(db_kwargs["source_db_instance_identifier"])
            primary.remove_replica(replica)
            raise RDSClientError("InvalidDBInstanceState",
                                 f"cannot build read replica {replica.db_instance_identifier} "
                                 f"of {source}: {error}") from error
        return replica

    return create_db_instance_read_replica


def _after(hook_name: str) -> Callable[[Any], Any]:
    def build(original: Any) -> Any:
        def call(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
            result = original(self, db_instance_identifier, *args, **kwargs)
            plane = hooks()
            if plane is not None:
                getattr(plane, hook_name)(db_instance_identifier)
            return result

        return call

    return build


def apply() -> None:
    """Wrap moto's RDS (on top of the other RDS patches, which ``apply_all`` applied)."""
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.rds.models import DBInstance, RDSBackend

    from maip_drlib.sim.aws.patches import apply_all

    apply_all()
    _wrap(DBInstance, "endpoint", _endpoint)
    _wrap(RDSBackend, "describe_db_instances", _describe)
    _wrap(RDSBackend, "promote_read_replica", _promote)
    _wrap(RDSBackend, "create_db_instance_read_replica", _create_replica)
    _wrap(RDSBackend, "stop_db_instance", _after("stopped"))
    _wrap(RDSBackend, "start_db_instance", _after("started"))
    _wrap(RDSBackend, "delete_db_instance", _after("deleted"))
