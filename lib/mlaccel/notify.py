"""Notifications: SNS topics for people, and (on the twin) the outbox where their e-mails land."""

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
    """E-mails the local twin delivered (oldest first), optionally for one topic name or ARN.

    The outbox is a feature of the twin, which the connection carries; on AWS, e-mails go to
    their recipients and there is nothing to read here.
    """
    if connection.local_backend is None:
        raise MLAccelInputError(
            "the outbox exists on the local twin only; on AWS, e-mails go to their recipients"
        )
    return connection.local_backend.read_outbox(connection.client("s3"), topic)


def last_email(topic: str, *, connection: Connection) -> str | None:
    """The body of the last e-mail sent to ``topic``'s subscribers, where the kit can read it.

    On the local twin it comes from the outbox; on AWS the e-mail went to its recipients, and
    this returns None (say so to the reader rather than show an empty message).

    Examples
    --------
    >>> last_email(topic_arn, connection=conn)  # doctest: +SKIP
    'Training pipeline mlaccel-used-cars-training succeeded ...'
    """
    if connection.local_backend is None:
        return None
    emails = read_outbox(connection=connection, topic=topic)
    return str(emails[-1]["message"]) if emails else None
