"""The twin's e-mail outbox: messages SNS would have mailed, kept in the twin's own S3.

Keeping them in S3 (a bucket of the twin) lets any process that can reach the twin read them,
whichever kernel or test published.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any

OUTBOX_BUCKET = "mlaccel-twin-outbox"


def deliver(
    s3: Any,
    *,
    topic_arn: str,
    endpoint: str,
    subject: str | None,
    message: str,
    message_id: str,
) -> None:
    """Write one delivered e-mail as a JSON object under ``<topic name>/``."""
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=OUTBOX_BUCKET)
    now = time.time()
    topic = topic_arn.rsplit(":", 1)[-1]
    key = f"{topic}/{int(now * 1000):015d}-{uuid.uuid4().hex[:8]}.json"
    record = {
        "topic_arn": topic_arn,
        "to": endpoint,
        "subject": subject,
        "message": message,
        "message_id": message_id,
        "sent_at": now,
    }
    s3.put_object(Bucket=OUTBOX_BUCKET, Key=key, Body=json.dumps(record).encode())


def read_outbox(s3: Any, topic: str | None = None) -> list[dict[str, Any]]:
    """E-mails delivered so far (oldest first), optionally for one topic name or ARN."""
    prefix = f"{topic.rsplit(':', 1)[-1]}/" if topic else ""
    try:
        s3.head_bucket(Bucket=OUTBOX_BUCKET)
    except s3.exceptions.ClientError:
        return []  # no e-mail was ever sent
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=OUTBOX_BUCKET, Prefix=prefix
        )
        for obj in page.get("Contents", [])
    ]
    records = [json.loads(s3.get_object(Bucket=OUTBOX_BUCKET, Key=k)["Body"].read()) for k in keys]
    return sorted(records, key=lambda r: r["sent_at"])
