"""The kit's bucket: it exists in the region, and an object can be written, read and deleted."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from mlaccel.doctor._check import Check, error_code, failed, not_run, passed
from mlaccel.doctor._needs import PROBE_PREFIX

if TYPE_CHECKING:
    from mlaccel._connect import Connection


def check_bucket(connection: Connection) -> tuple[str | None, Check]:
    """The kit's bucket exists in the region and a probe object can be written, read, deleted."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = "bucket"
    try:
        bucket = connection.bucket or _default_bucket(connection)
    except (ClientError, BotoCoreError) as exc:
        fix = "set MLACCEL_BUCKET to the bucket the kit should use"
        return None, not_run(name, f"cannot name the SageMaker default bucket: {exc}", fix)
    s3 = connection.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        return bucket, _bucket_problem(exc, bucket, connection.region)
    key = f"{PROBE_PREFIX}/probe-{uuid.uuid4().hex[:12]}.txt"
    body = b"mlaccel doctor probe: safe to delete\n"
    step = "s3:PutObject"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        step = "s3:GetObject"
        read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        step = "s3:DeleteObject"
        s3.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        fix = (
            f"allow s3:PutObject, s3:GetObject and s3:DeleteObject on the objects of s3://{bucket}"
        )
        detail = f"{step} of s3://{bucket}/{key} failed: {error_code(exc)}"
        return bucket, failed(name, detail, fix)
    if read != body:
        return bucket, failed(
            name,
            f"s3://{bucket}/{key} read back other bytes than written",
            "check the bucket's policy",
        )
    return bucket, passed(name, f"s3://{bucket}: wrote, read and deleted a probe object")


def _default_bucket(connection: Connection) -> str:
    """The SageMaker SDK's default bucket name, which :func:`mlaccel.connect` uses on AWS when
    none is named (without creating it, as connect would)."""
    from mlaccel._sagemaker import _import_sagemaker

    sagemaker = _import_sagemaker()
    return str(sagemaker.session.generate_default_sagemaker_bucket_name(connection.boto3_session))


def _bucket_problem(exc: Exception, bucket: str, region: str) -> Check:
    code = error_code(exc)
    headers = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
    where = headers.get("x-amz-bucket-region")
    if code in ("404", "NoSuchBucket"):
        fix = (
            f"create it (`aws s3 mb s3://{bucket} --region {region}`) or set MLACCEL_BUCKET to a "
            "bucket you may write"
        )
        return failed("bucket", f"s3://{bucket} does not exist", fix)
    if where and where != region:
        fix = f"use a bucket in {region} (MLACCEL_BUCKET): SageMaker jobs read and write there"
        return failed("bucket", f"s3://{bucket} is in {where}, not {region}", fix)
    fix = f"allow s3:ListBucket on s3://{bucket}, or set MLACCEL_BUCKET to a bucket you may use"
    return failed("bucket", f"cannot reach s3://{bucket}: {code}", fix)
