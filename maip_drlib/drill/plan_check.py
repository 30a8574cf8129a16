"""Whether a drill made the calls its dry-run plan listed: the plan against the journal.

A game day journals its dry-run plan (``drill.plan``, from the state before the first mutating
call) and every mutating call as it is made (``call`` records, intent then result, from the
write gate). ``compare`` matches the two per stage as multisets of ``CallKey``: stage,
service, operation (the boto3 name: the journal's API name through botocore's own
``xform_name``; Kubernetes client methods as the verb and resource the gate sees), region, the
resource the call names (the write gate's ``resource_of``) and the identifiers it carries
(scalar parameters both sides name, replicas of a Kubernetes scale, the EKS scaling config,
the actions and set identifiers of a Route 53 change batch, the item key of a DynamoDB put).

Not supported: PostgreSQL statements (the write gate does not see them: the journal has an
``action`` record instead, and they are left out of the comparison); parameters the plan
cannot know before the call (marked ``<...>`` in the plan: left out); order within a stage.
A planned call with a ``condition`` (made only if the platform has not done it by itself) may
be made or not; made, it must still match.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from maip_drlib.write_gate import resource_of

UNGATED_SERVICES = ("postgresql",)
KUBE_METHODS = {  # client method -> (verb and resource as the gate names them, URL path)
    "patch_namespaced_deployment_scale": (
        "patch deployments/scale", "apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"),
}


@dataclass(frozen=True, order=True)
class CallKey:
    """One mutating call as both sides can name it."""

    stage: str
    service: str
    operation: str
    region: str
    resource: str
    identifiers: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        ids = ", ".join(f"{k}={v}" for k, v in self.identifiers)
        return (f"[{self.stage}] {self.service} {self.region} {self.operation} {self.resource}"
                + (f" ({ids})" if ids else ""))


@dataclass(frozen=True)
class PlanComparison:
    """Calls planned and not made, and calls made and not planned."""

    not_made: tuple[CallKey, ...]
    not_planned: tuple[CallKey, ...]

    @property
    def same(self) -> bool:
        return not self.not_made and not self.not_planned


def _decoded(value: Any) -> Any:
    """A journal parameter: nested values are JSON text (cut at 400 characters: then None)."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _nested_identifiers(key: str, value: Any) -> list[tuple[str, str]]:
    if key == "scalingConfig" and isinstance(value, Mapping):
        return [(f"scalingConfig.{k}", str(value[k])) for k in sorted(value)]
    if key == "ChangeBatch" and isinstance(value, Mapping):
        changes = value.get("Changes") or []
        return [("changes", ";".join(
            f"{c.get('Action')} {c.get('ResourceRecordSet', {}).get('SetIdentifier')}"
            for c in changes))]
    if key == "Item" and isinstance(value, Mapping) and "pk" in value:
        pk = value["pk"]
        return [("Item.pk", str(pk.get("S") if isinstance(pk, Mapping) else pk))]
    return []


def _identifiers(parameters: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for key, raw in parameters.items():
        value = _decoded(raw)
        if isinstance(value, str) and (value.startswith("<") or value == "[REDACTED]"):
            continue
        if isinstance(value, str | int | bool) and key != "clientRequestToken":
            found.append((key, str(value)))
        else:
            found += _nested_identifiers(key, value)
    return tuple(sorted(found))


def planned_key(call: Mapping[str, Any]) -> CallKey:
    """A ``drill.plan`` call (``PlannedCall`` as a dict) as a ``CallKey``."""
    parameters = dict(call.get("parameters") or {})
    service, operation = str(call["service"]), str(call["operation"])
    if service == "kubernetes" and operation in KUBE_METHODS:
        verb, path = KUBE_METHODS[operation]
        resource = path.format(**parameters)
        return CallKey(str(call["stage"]), service, verb, str(call["region"]), resource,
                       (("replicas", str(parameters.get("replicas"))),))
    return CallKey(str(call["stage"]), service, operation, str(call["region"]),
                   resource_of(parameters) or "", _identifiers(parameters))


def made_key(record: Mapping[str, Any]) -> CallKey:
    """A journal ``call`` record (its intent) as a ``CallKey``."""
    parameters = dict(record.get("parameters") or {})
    service, operation = str(record["service"]), str(record["operation"])
    if service == "kubernetes":
        body = _decoded(parameters.get("body")) or {}
        replicas = body.get("spec", {}).get("replicas") if isinstance(body, Mapping) else None
        return CallKey(str(record.get("stage")), service, operation, str(record["region"]),
                       str(record.get("resource") or ""), (("replicas", str(replicas)),))
    return CallKey(str(record.get("stage")), service, xform_name(operation),
                   str(record["region"]), str(record.get("resource") or ""),
                   _identifiers(parameters))


def _comparable(key: CallKey, other: set[str]) -> CallKey:
    """``key`` with only the identifiers the other side also names (the plan omits what it
    cannot know; the journal omits what the gate cut)."""
    return CallKey(key.stage, key.service, key.operation, key.region, key.resource,
                   tuple(item for item in key.identifiers if item[0] in other))


def compare(planned: Iterable[Mapping[str, Any]],
            records: Iterable[Mapping[str, Any]]) -> PlanComparison:
    """The plan's calls against the journal's ``call`` intents (PostgreSQL left out)."""
    gated = [call for call in planned if call.get("service") not in UNGATED_SERVICES]
    plan = [planned_key(call) for call in gated if not call.get("condition")]
    optional = [planned_key(call) for call in gated if call.get("condition")]
    made = [made_key(r) for r in records if r.get("kind") == "call"
            and r.get("event") == "intent" and r.get("service") not in UNGATED_SERVICES]

    def names(keys: list[CallKey]) -> set[str]:
        return {name for key in keys for name, _ in key.identifiers}

    shared = names(plan + optional) & names(made)
    plan_count = Counter(_comparable(key, shared) for key in plan)
    made_count = Counter(_comparable(key, shared) for key in made)
    extra = made_count - plan_count
    extra -= Counter(_comparable(key, shared) for key in optional)  # made as its condition said
    return PlanComparison(tuple(sorted((plan_count - made_count).elements())),
                          tuple(sorted(extra.elements())))
