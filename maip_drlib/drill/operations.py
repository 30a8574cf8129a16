"""What a run does for its operators once it has results: notify, publish metrics, upload.

``Operations`` holds the settings the edge read (CLI options, environment, config file);
``on_stage_failed`` posts the immediate notice of a failed stage, ``after_gameday`` (called
after the attempt is sealed: it writes nothing into the attempt) uploads the evidence,
publishes the metrics and posts the completion notice; ``after_readiness`` publishes the
readiness metrics and notifies a readiness run that did not pass; ``upload_drill`` copies a
whole drill folder (every attempt and the single-file report of ``maip-dr report``) to the
same keys as the game day's upload. Each action is bounded by its own timeouts and retries and
is reported through ``echo``; none fails or stops a run (``upload_drill`` returns the
``Upload`` so that ``maip-dr report``, whose job the upload is, can set its exit code).

Not supported: uploading or publishing from the embedded readiness (its simulation ends with
its pytest run), uploading to the embedded target from ``maip-dr report`` (no simulation runs
then), notifications of passing readiness runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maip_drlib.config import SECONDARY_REGION, Target, Topology
from maip_drlib.evidence.redact import Redactor
from maip_drlib.metrics_publish import gameday_data, publish, readiness_data
from maip_drlib.notify import (
    Delivery,
    WebhookSettings,
    notify_completion,
    notify_stage_failure,
    post_webhook,
)
from maip_drlib.notify_messages import readiness_payload
from maip_drlib.regions import RegionHandles, build_region_handles
from maip_drlib.report_upload import Upload, upload_evidence
from maip_drlib.write_gate import WriteGate

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Operations:
    webhook: WebhookSettings | None = None
    metrics_namespace: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = "maip-dr"
    s3_region: str = SECONDARY_REGION
    s3_sse: str | None = None
    s3_kms_key_id: str | None = None


def _consented(target: Target) -> WriteGate:
    """Metrics and uploads run only after the CLI checked consent (cli/consent.py)."""
    return WriteGate.consented(target=target.name)


def _target(target: Target) -> dict[str, Any]:
    return {"name": target.name, "kind": target.kind}


def on_stage_failed(ops: Operations | None, result: Mapping[str, Any], *, drill_id: str,
                    target: Target, evidence: Path, redactor: Redactor,
                    echo: Echo) -> Delivery | None:
    if ops is None or ops.webhook is None:
        return None
    delivery = notify_stage_failure(ops.webhook, result, drill_id=drill_id,
                                    target=_target(target), simulated=target.simulated,
                                    report_location=str(evidence), redactor=redactor)
    echo(f"maip-dr: {delivery.describe()}")
    return delivery


def _upload(ops: Operations, bucket: str, handles: RegionHandles, folder: Path,
            echo: Echo) -> Upload:
    """Copy ``folder`` (a drill or an attempt folder) to ``bucket``; reported."""
    upload = upload_evidence(handles.by_name(ops.s3_region).client("s3"), folder,
                             bucket=bucket, prefix=ops.s3_prefix, sse=ops.s3_sse,
                             kms_key_id=ops.s3_kms_key_id)
    echo(f"maip-dr: {upload.describe()}")
    return upload


def upload_drill(ops: Operations, drill_dir: Path, *, target: Target, topology: Topology,
                 echo: Echo) -> Upload | None:
    """Upload a whole drill folder (``reports/<drill id>``: every attempt and ``html/``) to
    the evidence bucket; None when no bucket is configured. Never raises for AWS."""
    if not ops.s3_bucket:
        return None
    handles = build_region_handles(target, topology, writes=_consented(target))
    try:
        return _upload(ops, ops.s3_bucket, handles, drill_dir, echo)
    finally:
        handles.close()


def after_gameday(ops: Operations | None, attempt_dir: Path, *, target: Target,
                  topology: Topology, digest: str | None, primary_down: bool,
                  redactor: Redactor, echo: Echo) -> None:
    if ops is None:
        return
    summary = json.loads((attempt_dir / "summary.json").read_text())
    location = str(attempt_dir)
    if ops.s3_bucket or ops.metrics_namespace:
        handles = build_region_handles(target, topology, writes=_consented(target))
        try:
            if ops.s3_bucket:
                upload = _upload(ops, ops.s3_bucket, handles, attempt_dir, echo)
                if upload.keys:
                    location = upload.location
            if ops.metrics_namespace:
                published = publish(handles, gameday_data(summary),
                                    namespace=ops.metrics_namespace, primary_down=primary_down)
                echo(f"maip-dr: {published.describe()}")
        finally:
            handles.close()
    if ops.webhook is not None:
        delivery = notify_completion(ops.webhook, summary, digest=digest,
                                     report_location=location, redactor=redactor)
        echo(f"maip-dr: {delivery.describe()}")


def after_readiness(ops: Operations | None, results: list[dict[str, Any]], *, target: Target,
                    topology: Topology, exit_code: int, redactor: Redactor,
                    echo: Echo) -> None:
    if ops is None:
        return
    if ops.metrics_namespace:
        if target.kind == "embedded":
            echo("maip-dr: metrics not published (the embedded simulation ended with the run)")
        else:
            handles = build_region_handles(target, topology, writes=_consented(target))
            try:
                published = publish(handles, readiness_data(results, target=target.name),
                                    namespace=ops.metrics_namespace)
            finally:
                handles.close()
            echo(f"maip-dr: {published.describe()}")
    if ops.webhook is not None and exit_code != 0:
        payload = readiness_payload(results, target=_target(target), simulated=target.simulated,
                                    exit_code=exit_code, redactor=redactor)
        delivery = post_webhook(ops.webhook, payload, event="readiness", redactor=redactor)
        echo(f"maip-dr: {delivery.describe()}")
