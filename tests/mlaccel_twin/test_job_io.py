"""Jobs move their S3 data through the twin's store in the same process, with what a request
would give: the same bytes, the same listing, and the fallback when the store lacks a bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

import mlaccel
from mlaccel_twin.sagemaker_jobs import container


class NoRequests:
    """An S3 client that fails the test if a job's copy goes through the server."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} went through the server")


def test_job_inputs_and_outputs_skip_the_server_and_keep_the_bytes(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    s3 = conn.client("s3")
    body = bytes(range(256)) * 40_000  # 10 MB: over the size an upload splits into parts
    s3.put_object(Bucket=conn.bucket, Key="job-io/in/data.bin", Body=body)
    target = tmp_path / "in" / "data.bin"
    target.parent.mkdir()
    container.fetch(NoRequests(), conn.bucket, "job-io/in/data.bin", target)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(body).digest()

    out = tmp_path / "out"
    (out / "part").mkdir(parents=True)
    (out / "part" / "result.csv").write_bytes(body)
    container.upload_dir(NoRequests(), out, f"s3://{conn.bucket}/job-io/out")
    answer = s3.get_object(Bucket=conn.bucket, Key="job-io/out/part/result.csv")
    assert answer["ContentLength"] == len(body) and answer["Body"].read() == body
    listed = s3.list_objects_v2(Bucket=conn.bucket, Prefix="job-io/out/")["Contents"]
    assert [o["Key"] for o in listed] == ["job-io/out/part/result.csv"]


def test_a_bucket_the_store_lacks_goes_through_the_client(tmp_path: Path) -> None:
    calls: list[str] = []

    class Client:
        def get_object(self, **kwargs: Any) -> Any:
            calls.append(f"get {kwargs['Bucket']}/{kwargs['Key']}")

            class Body:
                def iter_chunks(self, size: int) -> Any:
                    return iter([b"abc", b"def"])

            return {"Body": Body()}

        def upload_file(self, path: str, bucket: str, key: str) -> None:
            calls.append(f"upload {bucket}/{key}")

    target = tmp_path / "x"
    container.fetch(Client(), "no-such-bucket-here", "k/x", target)
    assert target.read_bytes() == b"abcdef"
    container.store(Client(), target, "no-such-bucket-here", "k/y")
    assert calls == ["get no-such-bucket-here/k/x", "upload no-such-bucket-here/k/y"]


def test_a_missing_key_is_answered_by_the_server_with_its_error(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="NoSuchKey"):
        container.fetch(conn.client("s3"), conn.bucket, "job-io/missing.csv", tmp_path / "m")
