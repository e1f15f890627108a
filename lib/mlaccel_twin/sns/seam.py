"""Seam: e-mail subscriptions on the twin deliver to an outbox (``mlaccel.notify``)."""

from __future__ import annotations

from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin.seams import fail_if_broken, missing_attributes
from mlaccel_twin.sns import outbox

EMAIL_PROTOCOLS = {"email", "email-json"}


def install(runtime: TwinRuntime) -> None:
    from moto.sns.models import Subscription

    check_seams()
    original = Subscription.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        original(self, message, message_id, subject, message_attributes, **kwargs)
        if self.protocol not in EMAIL_PROTOCOLS:
            return
        matcher = getattr(self, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        outbox.deliver(
            active_runtime().client("s3"),
            topic_arn=self.topic.arn,
            endpoint=self.endpoint,
            subject=subject,
            message=message,
            message_id=message_id,
        )

    Subscription.publish = publish  # type: ignore[method-assign,assignment]


def check_seams() -> None:
    """Fail loudly when moto's SNS subscription model no longer has what the seam uses."""
    from moto.sns.models import Subscription

    fail_if_broken("sns", missing_attributes([(Subscription, "publish")]))
