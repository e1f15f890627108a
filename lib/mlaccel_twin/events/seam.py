"""Seam: EventBridge rules deliver to Step Functions and Lambda targets on the twin.

moto 5.2.5 matches events against rules (events put with ``PutEvents`` and S3's EventBridge
notifications) but only delivers to log groups, queues and other buses. This seam hands the
matched event for ``states`` and ``lambda`` targets to :mod:`mlaccel_twin.events.delivery`, and
the other targets to moto as before.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's rule no longer has what this seam extends.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace
from mlaccel_twin.events.delivery import DELIVERED, deliver, target_input, target_service

# Tests and older callers reach the delivery helpers through the seam.
__all__ = ["check_seams", "install", "target_input", "target_service"]

log = logging.getLogger(__name__)


def install(runtime: TwinRuntime) -> None:
    """Make moto's rules deliver matched events to state machines and functions."""
    from moto.events.models import Rule

    check_seams()
    replace(Rule, "send_to_targets", _send_to_targets)


def check_seams() -> None:
    """Fail loudly when moto's EventBridge rule no longer has what the seam extends."""
    from moto.events.models import Rule
    from moto.events.utils import EventTemplateParser

    problems = missing_attributes([(Rule, "send_to_targets"), (EventTemplateParser, "parse")])
    if "self.event_pattern" not in inspect.getsource(Rule.__init__):
        problems.append("Rule no longer keeps self.event_pattern")
    fail_if_broken("events", problems)


def _send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        ours = [t for t in self.targets if target_service(t) in DELIVERED]
        others = [t for t in self.targets if target_service(t) not in DELIVERED]
        if others:
            # moto raises on target types it does not know: give it only its own.
            theirs = copy.copy(self)
            theirs.targets = others
            original(theirs, original_event, transform_input)
        if self.state != "ENABLED" or self.scheduled_expression:
            return  # scheduled rules match no event (an empty pattern would match them all)
        if not self.event_pattern.matches_event(original_event):
            return
        client = active_runtime().client
        for target in ours:
            try:
                deliver(target, dict(original_event), client)
            except Exception:  # delivery is asynchronous in AWS: never fail the sender
                log.exception("could not deliver an event of rule %s to %s", self.name, target)

    return send_to_targets
