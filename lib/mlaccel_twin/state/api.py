"""How the saved control plane is read and created again through the twin's own API: the
small helpers every part uses (:mod:`mlaccel_twin.state.control`, :mod:`mlaccel_twin.state.jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("mlaccel_twin.state.control")

# service name -> a boto3 client of the twin
Clients = Callable[[str], Any]


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under ``key`` of a paginated List call."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


def only(described: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The ``keys`` of a Describe answer that have a value (what a Create call takes back)."""
    return {k: described[k] for k in keys if described.get(k) not in (None, [], {})}


def restore_each(kind: str, items: list[Any], create: Callable[[Any], None]) -> None:
    """Create each saved item; one that fails is logged and the others still come back."""
    for item in items:
        try:
            create(item)
        except Exception:
            log.exception("could not restore a saved %s: %s", kind, str(item)[:200])


def tags_of(sm: Any, arn: str) -> list[dict[str, str]]:
    """A SageMaker resource's tags."""
    return list(sm.list_tags(ResourceArn=arn).get("Tags", []))


def tag_arg(tags: list[dict[str, str]]) -> dict[str, Any]:
    """``Tags=`` for a Create call, left out when there are none (SageMaker refuses [])."""
    return {"Tags": tags} if tags else {}
