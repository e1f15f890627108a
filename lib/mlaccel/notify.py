"""Notifications: SNS topics for people, and the twin's outbox where their e-mails land."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection


def ensure_topic(name: str, *, email: str | None = None, connection: Connection) -> str:
    """Create (or find) SNS topic ``name``, subscribe ``email`` once; return the topic ARN.

    Examples
    --------
    >>> ensure_topic("alerts", email="team@example.com", connection=conn)  # doctest: +SKIP
    """
    if not name or not isinstance(name, str):
        raise MLAccelInputError(f"name={name!r} must be a topic name such as 'mlaccel-alerts'")
    sns = connection.client("sns")
    arn = str(sns.create_topic(Name=name)["TopicArn"])  # idempotent on AWS and the twin
    if email:
        if "@" not in email:
            raise MLAccelInputError(f"email={email!r} is not an e-mail address")
        subscribed = {
            s["Endpoint"]
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
            for s in page["Subscriptions"]
        }
        if email not in subscribed:
            sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
    return arn


def publish(
    topic_arn: str, subject: str, message: str | dict[str, Any], *, connection: Connection
) -> str:
    """Publish a readable message (dicts become indented JSON); return the message id."""
    if len(subject) > 100:
        raise MLAccelInputError("subject must be at most 100 characters, as SNS requires")
    body = message if isinstance(message, str) else json.dumps(message, indent=2, default=str)
    response = connection.client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=body)
    return str(response["MessageId"])


def read_outbox(*, connection: Connection, topic: str | None = None) -> list[dict[str, Any]]:
    """E-mails the twin delivered (oldest first), optionally for one topic name or ARN."""
    from mlaccel.twin.outbox import OUTBOX_BUCKET

    if not connection.is_local:
        raise MLAccelInputError(
            "the outbox exists on the local twin only; on AWS, e-mails go to their recipients"
        )
    s3 = connection.client("s3")
    prefix = f"{topic.rsplit(':', 1)[-1]}/" if topic else ""
    keys = (
        [
            obj["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=OUTBOX_BUCKET, Prefix=prefix
            )
            for obj in page.get("Contents", [])
        ]
        if _bucket_exists(s3)
        else []
    )
    records = [json.loads(s3.get_object(Bucket=OUTBOX_BUCKET, Key=k)["Body"].read()) for k in keys]
    return sorted(records, key=lambda r: r["sent_at"])


def _bucket_exists(s3: Any) -> bool:
    from mlaccel.twin.outbox import OUTBOX_BUCKET

    try:
        s3.head_bucket(Bucket=OUTBOX_BUCKET)
    except Exception:  # no e-mail was ever sent
        return False
    return True
