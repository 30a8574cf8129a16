"""Patch: RDS StopDBInstance refuses an instance that has read replicas, or is one.

moto 5.2.5: ``stop_db_instance`` stops a source that has read replicas (status ``stopped``),
and refuses a read replica with the wrong code (``InvalidDBClusterStateFault``).

Production: "You can't stop a DB instance that has a read replica, or that is a read replica"
(RDS User Guide, stopping an instance); the error is ``InvalidDBInstanceState``. This is why a
planned failover fences at the application instead of stopping the writer (DESIGN.md 4).

This patch raises ``InvalidDBInstanceState`` for both cases before moto's own checks. Not
supported: the other stop limitations (SQL Server Multi-AZ, Aurora members) beyond moto's.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "rds_stop_with_replicas"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _stop(original: Any) -> Any:
    def stop_db_instance(
        self: Any, db_instance_identifier: str, db_snapshot_identifier: str | None = None
    ) -> Any:
        from moto.rds.exceptions import RDSClientError

        database = self.describe_db_instances(db_instance_identifier)[0]
        if database.replicas:
            raise RDSClientError(
                "InvalidDBInstanceState",
                f"Cannot stop DB instance {db_instance_identifier} because it has read "
                f"replicas: {', '.join(database.replicas)}.",
            )
        if database.is_replica:
            raise RDSClientError(
                "InvalidDBInstanceState",
                f"Cannot stop or start a Read-Replica instance ({db_instance_identifier}).",
            )
        return original(self, db_instance_identifier, db_snapshot_identifier)

    return stop_db_instance


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.rds.models import RDSBackend

    replace_method(RDSBackend, "stop_db_instance", _stop)
