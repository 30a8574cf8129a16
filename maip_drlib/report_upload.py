"""Copy a drill's evidence (and its single-file report) to S3, read-only on the evidence.

``upload_evidence(s3_client, folder, bucket=..., prefix=...)`` takes a drill folder
(``reports/<drill id>``: every attempt and ``html/``) or one attempt folder
(``reports/<drill id>/attempt-N``: that attempt, plus ``../html/index.html`` when the report
was built; ``upload_report`` sends the report alone) and writes each file to
``s3://<bucket>/<prefix>/<drill id>/<path in the drill>`` with a content type, no ACL
(objects stay private to the bucket owner; the bucket's own policy decides who reads), and
server-side encryption when asked (``AES256`` or ``aws:kms``
with an optional key id). Files are sent one by one through the given client, whose timeouts
and retries bound each call; ``max_files`` and ``max_bytes`` bound the whole upload.

It returns an ``Upload``: the keys written and one line per file that failed. An AWS failure
never raises (the evidence on disk stays the record); bad arguments raise ``ValueError``.

Not supported: deleting or overwriting-protection of existing keys (an upload of the same
attempt writes the same keys again), object lock and retention, public or presigned links,
symlinks (skipped), files over 5 GiB (one PUT each).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from maip_drlib.evidence.dr_test_record import RECORD_FILES
from maip_drlib.evidence.drill_index import INDEX_FILES

SSE_MODES = ("AES256", "aws:kms")
MAX_FILES = 5000
MAX_BYTES = 2 * 1024**3
CONTENT_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".properties": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".sig": "text/plain; charset=utf-8",
}


@dataclass
class Upload:
    """The outcome of one upload; ``location`` is the drill's S3 prefix."""

    bucket: str
    location: str
    keys: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes: int = 0

    @property
    def complete(self) -> bool:
        return not self.errors and not self.skipped

    def describe(self) -> str:
        text = f"evidence: {len(self.keys)} file(s), {self.bytes} bytes uploaded to {self.location}"
        if self.errors:
            text += f"; {len(self.errors)} failed: {'; '.join(self.errors[:3])}"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped (limits or not regular files)"
        return text


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def _drill_layout(folder: Path) -> tuple[Path, list[Path]]:
    """(drill folder, the files to send) for a drill or an attempt folder."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise ValueError(f"{folder}: not an evidence folder")
    if folder.name.startswith("attempt-"):
        drill = folder.parent
        files = sorted(folder.rglob("*"))
        # The drill's signed index (which attempts exist), its DR test record and the report,
        # when present: the S3 copy verifies with the key as the folder does.
        for extra in (*(drill / name for name in sorted(INDEX_FILES)),
                      *(drill / name for name in RECORD_FILES),
                      drill / "html" / "index.html"):
            if extra.is_file():
                files.append(extra)
        return drill, files
    return folder, sorted(folder.rglob("*"))


def _key(prefix: str, drill: Path, path: Path) -> str:
    relative = "" if path == drill else path.relative_to(drill).as_posix()
    parts = [part for part in (prefix.strip("/"), drill.name, relative) if part]
    return "/".join(parts)


def upload_evidence(s3_client: Any, folder: Path, *, bucket: str, prefix: str = "maip-dr",
                    sse: str | None = None, kms_key_id: str | None = None,
                    max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> Upload:
    """Upload the evidence under ``folder`` (see the module docstring); never raises for AWS."""
    drill, files = _drill_layout(Path(folder))
    return _upload(s3_client, drill, files, bucket=bucket, prefix=prefix, sse=sse,
                   kms_key_id=kms_key_id, max_files=max_files, max_bytes=max_bytes)


def upload_report(s3_client: Any, drill_dir: Path, *, bucket: str, prefix: str = "maip-dr",
                  sse: str | None = None, kms_key_id: str | None = None) -> Upload:
    """Upload only the drill's single-file report (``html/index.html``), e.g. right after
    ``maip-dr report`` built it; an Upload with an error when it does not exist."""
    drill = Path(drill_dir).resolve()
    report = drill / "html" / "index.html"
    result = _upload(s3_client, drill, [report] if report.is_file() else [], bucket=bucket,
                     prefix=prefix, sse=sse, kms_key_id=kms_key_id, max_files=1,
                     max_bytes=MAX_BYTES)
    if not report.is_file():
        result.errors.append(f"{drill.name}/html/index.html: no report built")
    return result


def check_settings(bucket: str, sse: str | None = None, kms_key_id: str | None = None) -> None:
    """Raise ``ValueError`` (one line) for settings no upload could use; for the edge to check
    before a drill starts."""
    if not bucket or "/" in bucket or ":" in bucket:
        raise ValueError(f"S3 bucket {bucket!r}: give a bucket name, not a URL or a path")
    if sse is not None and sse not in SSE_MODES:
        raise ValueError(f"S3 server-side encryption {sse!r}: one of {', '.join(SSE_MODES)}")
    if kms_key_id and sse != "aws:kms":
        raise ValueError("an S3 KMS key id needs server-side encryption 'aws:kms'")


def _upload(s3_client: Any, drill: Path, files: list[Path], *, bucket: str, prefix: str,
            sse: str | None, kms_key_id: str | None, max_files: int, max_bytes: int) -> Upload:
    check_settings(bucket, sse, kms_key_id)
    location = f"s3://{bucket}/{_key(prefix, drill, drill)}/"
    result = Upload(bucket=bucket, location=location)
    for path in files:
        if path.is_symlink() or not path.is_file():
            if path.is_symlink():
                result.skipped.append(path.name)
            continue
        size = path.stat().st_size
        if len(result.keys) >= max_files or result.bytes + size > max_bytes:
            result.skipped.append(str(path.relative_to(drill)))
            continue
        key = _key(prefix, drill, path)
        extra: dict[str, Any] = {"ContentType": content_type(path)}
        if sse:
            extra["ServerSideEncryption"] = sse
        if kms_key_id:
            extra["SSEKMSKeyId"] = kms_key_id
        try:
            with path.open("rb") as body:
                s3_client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            result.errors.append(f"{key}: S3 answered {code}")
            if code in ("NoSuchBucket", "AccessDenied", "AllAccessDisabled"):
                break  # the next file would meet the same answer
            continue
        except BotoCoreError as error:
            result.errors.append(f"{key}: S3 did not answer ({type(error).__name__})")
            break
        result.keys.append(key)
        result.bytes += size
    return result
