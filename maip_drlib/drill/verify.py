"""Kept for importers not yet moved: the stages' read-only outcome checks are
``drill.outcome_checks``.

``steps/failover_steps.py`` imports this module; new code imports
``maip_drlib.drill.outcome_checks``. Not supported: anything beyond these re-exports (a test
that patches a name patches ``drill.outcome_checks``).
"""

from __future__ import annotations

from maip_drlib.drill.outcome_checks import (
    clients_resolve_to,
    deployments_ready,
    dr_holds_replica_or_writer,
    endpoint_up_from,
    failback_replica_replicates,
    failover_pair_restored,
    nodes_reachable,
    only_writer_in,
    primary_takes_no_writes,
)

__all__ = ["clients_resolve_to", "deployments_ready", "dr_holds_replica_or_writer",
           "endpoint_up_from", "failback_replica_replicates", "failover_pair_restored",
           "nodes_reachable", "only_writer_in", "primary_takes_no_writes"]
