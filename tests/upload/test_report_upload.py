"""Evidence upload to S3, against the shared simulation's S3 (simulated: moto)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from maip_drlib.regions import RegionHandles
from maip_drlib.report_upload import content_type, upload_evidence, upload_report

pytestmark = pytest.mark.sim

REGION = "us-west-2"
DRILL = "gameday-20260101T000000Z"


def make_drill(root: Path) -> Path:
    drill = root / DRILL
    for attempt in ("attempt-1", "attempt-2"):
        folder = drill / attempt
        (folder / "allure-results").mkdir(parents=True)
        (folder / "journal.jsonl").write_text('{"kind": "drill.start"}\n')
        (folder / "summary.json").write_text('{"verdict": "PASS"}\n')
        (folder / "summary.md").write_text("# DR drill\n")
        (folder / "timeline.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (folder / "manifest.json").write_text("{}\n")
        (folder / "manifest.sig").write_text("hmac\n")
        (folder / "allure-results" / "x-result.json").write_text("{}")
    (drill / "html").mkdir()
    (drill / "html" / "index.html").write_text("<html></html>")
    (drill / "index.json").write_text('{"attempts": []}\n')  # the signed drill index
    (drill / "index.sig").write_text("hmac\n")
    return drill


@pytest.fixture(scope="module")
def s3(handles: RegionHandles):
    return handles.by_name(REGION).client("s3")


@pytest.fixture
def bucket(s3) -> str:
    name = f"maip-dr-evidence-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def listed(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_an_attempt_and_its_report_are_uploaded(s3, bucket, tmp_path):
    drill = make_drill(tmp_path)
    result = upload_evidence(s3, drill / "attempt-2", bucket=bucket, prefix="dr/prod",
                             sse="AES256")
    assert result.complete and result.errors == []
    assert result.location == f"s3://{bucket}/dr/prod/{DRILL}/"
    expected = sorted(f"dr/prod/{DRILL}/{p}" for p in (
        "attempt-2/allure-results/x-result.json", "attempt-2/journal.jsonl",
        "attempt-2/manifest.json", "attempt-2/manifest.sig", "attempt-2/summary.json",
        "attempt-2/summary.md", "attempt-2/timeline.png", "html/index.html", "index.json",
        "index.sig"))
    assert sorted(result.keys) == expected == listed(s3, bucket)
    head = s3.head_object(Bucket=bucket, Key=f"dr/prod/{DRILL}/attempt-2/summary.json")
    assert head["ContentType"] == "application/json"
    assert head["ServerSideEncryption"] == "AES256"
    body = s3.get_object(Bucket=bucket, Key=f"dr/prod/{DRILL}/attempt-2/journal.jsonl")
    assert body["Body"].read() == b'{"kind": "drill.start"}\n'
    grants = s3.get_object_acl(Bucket=bucket, Key=f"dr/prod/{DRILL}/html/index.html")["Grants"]
    assert all("URI" not in g["Grantee"] for g in grants)  # no AllUsers / AuthenticatedUsers
    assert result.bytes == sum(p.stat().st_size for p in (drill / "attempt-2").rglob("*")
                               if p.is_file()) + len("<html></html>") + sum(
        (drill / name).stat().st_size for name in ("index.json", "index.sig"))


def test_a_whole_drill_is_uploaded(s3, bucket, tmp_path):
    drill = make_drill(tmp_path)
    result = upload_evidence(s3, drill, bucket=bucket, prefix="")
    assert result.complete and len(result.keys) == 17  # index.json and .sig included
    assert all(key.startswith(f"{DRILL}/") for key in listed(s3, bucket))


def test_limits_bound_the_upload(s3, bucket, tmp_path):
    drill = make_drill(tmp_path)
    result = upload_evidence(s3, drill, bucket=bucket, max_files=3)
    assert len(result.keys) == 3 and len(result.skipped) == 14 and not result.complete
    assert "14 skipped" in result.describe()


def test_a_missing_bucket_is_reported_not_raised(s3, tmp_path):
    drill = make_drill(tmp_path)
    result = upload_evidence(s3, drill, bucket=f"missing-{uuid.uuid4().hex[:8]}")
    assert result.keys == [] and len(result.errors) == 1
    assert "S3 answered NoSuchBucket" in result.errors[0]


def test_an_unreachable_region_is_reported_not_raised(simulation, s3, bucket, tmp_path):
    drill = make_drill(tmp_path)
    simulation.faults.region_outage(REGION)
    try:
        result = upload_evidence(s3, drill, bucket=bucket)
    finally:
        simulation.faults.restore_region(REGION)
    assert result.keys == [] and len(result.errors) == 1
    assert "S3 did not answer" in result.errors[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bucket": "s3://x/y"}, "bucket name"),
    ({"bucket": "b", "sse": "rot13"}, "one of AES256, aws:kms"),
    ({"bucket": "b", "kms_key_id": "k"}, "needs server-side encryption 'aws:kms'"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        upload_evidence(object(), make_drill(tmp_path), **kwargs)


def test_content_types():
    assert content_type(Path("journal.jsonl")) == "application/x-ndjson"
    assert content_type(Path("timeline.png")) == "image/png"
    assert content_type(Path("summary.md")).startswith("text/markdown")
    assert content_type(Path("blob.bin")) == "application/octet-stream"


def test_the_report_alone(s3, bucket, tmp_path):
    drill = make_drill(tmp_path)
    result = upload_report(s3, drill, bucket=bucket, prefix="p", sse="AES256")
    assert result.complete and result.keys == [f"p/{DRILL}/html/index.html"] == listed(s3, bucket)
    head = s3.head_object(Bucket=bucket, Key=result.keys[0])
    assert head["ContentType"] == "text/html; charset=utf-8"
    (drill / "html" / "index.html").unlink()
    missing = upload_report(s3, drill, bucket=bucket)
    assert missing.keys == [] and missing.errors == [f"{DRILL}/html/index.html: no report built"]


def test_upload_drill_sends_every_attempt_and_the_report(simulation, target, s3, bucket,
                                                         tmp_path):
    """What ``maip-dr report --s3-bucket`` calls after building the report."""
    from maip_drlib.drill.operations import Operations, upload_drill

    drill = make_drill(tmp_path)
    lines: list[str] = []
    ops = Operations(s3_bucket=bucket, s3_prefix="dr")
    result = upload_drill(ops, drill, target=target, topology=simulation.topology,
                          echo=lines.append)
    assert result is not None and result.complete and len(result.keys) == 17
    assert listed(s3, bucket) == sorted(result.keys)
    assert f"dr/{DRILL}/html/index.html" in result.keys
    assert lines == [f"maip-dr: {result.describe()}"]
    assert upload_drill(Operations(), drill, target=target, topology=simulation.topology,
                        echo=lines.append) is None and len(lines) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--s3-bucket", "s3://b/p"], "--s3-bucket: S3 bucket 's3://b/p': give a bucket name"),
    (["--s3-bucket", "evidence"], "--s3-bucket: uploading needs --config with a sim or live "
                                  "target"),
])
def test_report_refuses_an_upload_it_cannot_make_before_building(tmp_path, args, message):
    from maip_cli_helpers import run_maip_dr

    make_drill(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    done = run_maip_dr(["report", DRILL, "--reports", str(tmp_path), *args], home,
                       timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert (tmp_path / DRILL / "html" / "index.html").read_text() == "<html></html>"  # not rebuilt


def test_an_attempt_upload_carries_the_drills_test_record(s3, bucket, tmp_path):
    drill = make_drill(tmp_path)
    for name in ("dr-test-record.md", "dr-test-record.json"):
        (drill / name).write_text("record\n")
    result = upload_evidence(s3, drill / "attempt-2", bucket=bucket, prefix="dr")
    assert {f"dr/{DRILL}/dr-test-record.md", f"dr/{DRILL}/dr-test-record.json"} <= set(
        result.keys), result.keys
