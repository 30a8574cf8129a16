"""Patch: a Route 53 CREATE conflicts only with a record of the same name, type AND set id.

moto 5.2.5: a CREATE equal to any earlier CREATE in the zone's change journal is refused with
``InvalidChangeBatch`` ("already exists") whenever ANY record of that name and type exists, even
one with another set identifier, or one the same batch deletes first. Turning a weighted pair
back into the failover pair the zone was seeded with (DELETE both weighted, CREATE both
failover records, one batch) is therefore refused; production accepts it.

Production: a CREATE fails when a record with the same name, type and set identifier exists
once the batch's earlier changes are applied.

This patch turns moto's journal check off (``ChangeList.__contains__`` answers False) and makes
``FakeZone.add_rrset`` refuse a record whose name, type and set identifier exist (the path
moto's CloudFormation records take). ChangeResourceRecordSets batches are replayed and checked
as a whole by ``route53_change_batches``. Not supported: the other reasons Route 53 refuses a
CREATE.
"""

from __future__ import annotations

from typing import Any

from maip_drlib.sim.aws.patches._support import MOTO_VERSION, check_moto_version, replace_method

PATCH_NAME = "route53_recreate_record"

__all__ = ["MOTO_VERSION", "PATCH_NAME", "apply"]


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _contains(original: Any) -> Any:
    def __contains__(self: Any, item: Any) -> bool:
        return False

    return __contains__


def _add(original: Any) -> Any:
    def add_rrset(self: Any, record_set: dict[str, Any]) -> Any:
        from moto.route53.exceptions import ResourceRecordAlreadyExists

        key = (_normal(record_set["Name"]), record_set["Type"], record_set.get("SetIdentifier"))
        for existing in self.rrsets:
            if (_normal(existing.name), existing.type, existing.set_identifier) == key:
                raise ResourceRecordAlreadyExists(name=key[0] + ".", _type=key[1])
        return original(self, record_set)

    return add_rrset


def apply() -> None:
    check_moto_version(PATCH_NAME, MOTO_VERSION)
    from moto.route53.models import ChangeList, FakeZone

    replace_method(ChangeList, "__contains__", _contains)
    replace_method(FakeZone, "add_rrset", _add)
