"""Seam: the tags the kit finds its resources by, where moto 5.2.5 lacks them.

- Application Auto Scaling: moto drops ``RegisterScalableTarget``'s ``Tags`` and has no
  ``ListTagsForResource``, ``TagResource`` or ``UntagResource``. This seam keeps a target's tags
  on the target and answers the three calls, as AWS does for scalable targets (policies and
  scheduled actions are not taggable).
- Resource Groups Tagging API: moto's EventBridge lists only event buses in ``GetResources``.
  This seam lists rules too (type ``events:rule``), with the tags ``PutRule`` and
  ``TagResource`` gave them. moto keeps an endpoint configuration's ARN as a one-item tuple,
  which ``GetResources`` returns as ``"('arn:...',)"``; the seam keeps it as the ARN itself.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes, replace, unwrapped

RULE_TYPE = "events:rule"


def install(runtime: TwinRuntime) -> None:
    """Give scalable targets tags, and EventBridge rules a place in ``GetResources``."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.events.models import EventsBackend
    from moto.sagemaker.models import FakeEndpointConfig

    check_seams()
    replace(ApplicationAutoScalingResponse, "register_scalable_target", _register_scalable_target)
    add(ApplicationAutoScalingResponse, "list_tags_for_resource", _list_tags_for_resource)
    add(ApplicationAutoScalingResponse, "tag_resource", _tag_resource)
    add(ApplicationAutoScalingResponse, "untag_resource", _untag_resource)
    replace(EventsBackend, "iter_tagged_resources", _iter_tagged_resources)
    replace(FakeEndpointConfig, "__init__", _endpoint_config_init)


def check_seams() -> None:
    """Fail loudly when moto's scalable targets or EventBridge backend changed."""
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.events.models import EventBus, EventsBackend
    from moto.sagemaker.models import FakeEndpointConfig

    problems = missing_attributes(
        [
            (ApplicationAutoScalingResponse, "register_scalable_target"),
            (ApplicationAutoScalingResponse, "applicationautoscaling_backend"),
            (EventsBackend, "iter_tagged_resources"),
        ]
    )
    if "self.tagger" not in inspect.getsource(EventsBackend.__init__):
        problems.append("EventsBackend no longer keeps self.tagger")
    if "self.targets" not in inspect.getsource(ApplicationAutoscalingBackend.__init__):
        problems.append("ApplicationAutoscalingBackend no longer keeps self.targets")
    if "self.rules" not in inspect.getsource(EventBus.__init__):
        problems.append("EventBus no longer keeps self.rules")
    config_init = inspect.getsource(unwrapped(FakeEndpointConfig.__init__))
    if "self.endpoint_config_arn =" not in config_init:
        problems.append("FakeEndpointConfig no longer keeps self.endpoint_config_arn")
    for action in ("list_tags_for_resource", "tag_resource", "untag_resource"):
        own = getattr(ApplicationAutoScalingResponse, action, None)
        if own is not None and not getattr(own, "_mlaccel_seam", False):
            problems.append(f"moto now implements application-autoscaling {action}; review")
    fail_if_broken("tagging", problems)


# --------------------------------------------------------------------------- scalable targets


def target_tags(target: Any) -> dict[str, str]:
    """The tags kept on a moto scalable target (none until the seam gives it some)."""
    tags = getattr(target, "mlaccel_tags", None)
    if tags is None:
        tags = {}
        target.mlaccel_tags = tags
    return tags


def _target_by_arn(backend: Any, arn: str) -> Any:
    from moto.core.exceptions import JsonRESTError

    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                return target
    raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")


def _register_scalable_target(original: Callable[..., str]) -> Callable[..., str]:
    def register_scalable_target(self: Any) -> str:
        answer = original(self)
        tags = self._get_param("Tags") or {}
        if tags:
            arn = json.loads(answer)["ScalableTargetARN"]
            target_tags(_target_by_arn(self.applicationautoscaling_backend, arn)).update(tags)
        return answer

    return register_scalable_target


def _list_tags_for_resource(self: Any) -> str:
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    return json.dumps({"Tags": dict(target_tags(target))})


def _tag_resource(self: Any) -> str:
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    target_tags(target).update(self._get_param("Tags") or {})
    return json.dumps({})


def _untag_resource(self: Any) -> str:
    target = _target_by_arn(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
    for key in self._get_param("TagKeys") or []:
        target_tags(target).pop(key, None)
    return json.dumps({})


# --------------------------------------------------------------------------- GetResources


def _endpoint_config_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.arn = self.endpoint_config_arn  # moto 5.2.5 keeps a one-item tuple

    return __init__


def _iter_tagged_resources(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def iter_tagged_resources(self: Any) -> Iterator[Any]:
        from moto.core.resource_tagging import TaggedResource

        yield from original(self)
        for bus in self.event_buses.values():
            for rule in bus.rules.values():
                tags = self.tagger.get_tag_dict_for_resource(rule.arn)
                yield TaggedResource(arn=rule.arn, tags=tags, resource_type=RULE_TYPE)

    return iter_tagged_resources
