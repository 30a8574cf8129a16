"""Patch: Route 53 changes read PENDING, then INSYNC after a simulated short time.

moto 5.2.5: every ``ChangeResourceRecordSets`` answers the same change id
(``/change/C2682N5HXP0BZ4``) with status ``INSYNC``, and ``GetChange`` answers ``INSYNC`` for
any id.

Production: each change has its own id and reads ``PENDING`` until all Route 53 name servers
have it (typically within 60 s), then ``INSYNC``; the ``resource_record_sets_changed`` waiter
polls ``GetChange``.

This patch gives each change a fresh id, ``PENDING`` until ``SimDurations.route53_change_s``
simulated seconds have passed; while the ``route53_change_stuck`` fault is set, changes made by
this patch read PENDING. Not supported: ``NoSuchChange`` for unknown ids (they read
``INSYNC``, as moto does, so the ids moto makes for hosted zone creation keep working).
"""

from __future__ import annotations

import uuid
from typing import Any

from maip_drlib.sim.aws import runtime
from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "route53_change_status"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply", "change_status"]


def _new_change_id() -> str:
    return "C" + uuid.uuid4().hex[:13].upper()


def change_status(change_id: str) -> str:
    sim = runtime.current()
    bare = change_id.rsplit("/", 1)[-1]
    with sim.lock:
        insync_at = sim.route53_changes.get(bare)
    if insync_at is None:
        return "INSYNC"
    if sim.faults.snapshot().route53_change_stuck or sim.now() < insync_at:
        return "PENDING"
    return "INSYNC"


def _change(original: Any) -> Any:
    def change_resource_record_sets(self: Any) -> Any:
        result = original(self)
        sim = runtime.current()
        change_id = _new_change_id()
        with sim.lock:
            sim.route53_changes[change_id] = sim.deadline_after(sim.durations.route53_change_s)
        info = result.result["ChangeInfo"]
        info["Id"] = f"/change/{change_id}"
        info["Status"] = "PENDING"
        return result

    return change_resource_record_sets


def _get_change(original: Any) -> Any:
    def get_change(self: Any) -> Any:
        from moto.core.responses import ActionResult
        from moto.core.utils import utcnow

        change_id = self._get_param("Id")
        return ActionResult(
            {
                "ChangeInfo": {
                    "Id": f"/change/{change_id.rsplit('/', 1)[-1]}",
                    "Status": change_status(change_id),
                    "SubmittedAt": utcnow(),
                }
            }
        )

    return get_change


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.route53.responses import Route53

    replace_method(Route53, "change_resource_record_sets", _change)
    replace_method(Route53, "get_change", _get_change)
