"""Seam: e-mail subscriptions on the twin deliver to an outbox (``mlaccel.notify``).

moto records SNS e-mail subscriptions but sends nothing. This seam writes each message an
``email`` or ``email-json`` subscription receives (after its filter policy) to the twin's outbox
(:mod:`mlaccel_twin.sns.outbox`), where ``Connection.local_backend.read_outbox`` reads it.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's subscription no longer has what this seam extends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace
from mlaccel_twin.sns import outbox

EMAIL_PROTOCOLS = {"email", "email-json"}


def install(runtime: TwinRuntime) -> None:
    """Make moto's e-mail subscriptions deliver to the outbox."""
    from moto.sns.models import Subscription

    check_seams()
    replace(Subscription, "publish", _publish)


def check_seams() -> None:
    """Fail loudly when moto's SNS subscription model no longer has what the seam uses."""
    from moto.sns.models import Subscription

    fail_if_broken("sns", missing_attributes([(Subscription, "publish")]))


def _publish(original: Callable[..., None]) -> Callable[..., None]:
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

    return publish
