"""Reading and advancing a running twin's clock from any process (``mlaccel twin advance``)."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from mlaccel.errors import MLAccelInputError

CLOCK_PATH = "/_mlaccel/clock"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``1h``, ``90m``, ``1d12h``, ``30s``.

    Examples
    --------
    >>> parse_duration("1h"), parse_duration("1d12h"), parse_duration("90m")
    (3600.0, 129600.0, 5400.0)
    """
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or _DURATION.sub("", cleaned).strip():
        raise MLAccelInputError(
            f"duration={text!r} is not a duration; write it like 30s, 15m, 1h or 1d12h"
        )
    return float(sum(float(amount) * _UNITS[unit] for amount, unit in parts))


def _call(url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    if not url.startswith(("http://127.", "http://localhost")):
        raise MLAccelInputError(f"twin_url={url!r} is not on loopback")
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url.rstrip("/") + CLOCK_PATH, data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        result: dict[str, Any] = json.loads(answer.read())
    return result


def clock_now(url: str) -> dict[str, Any]:
    """The twin's time (``now``, ISO 8601 UTC) and how far it runs ahead (``offset_seconds``)."""
    return _call(url)


def advance_clock(url: str, duration: str | float) -> dict[str, Any]:
    """Move the twin's clock forward; schedules due in between fire now.

    Examples
    --------
    >>> advance_clock(twin.url, "1h")["fired"]  # doctest: +SKIP
    [['hourly-scoring', '2026-12-04T21:00:00+00:00']]
    """
    seconds = parse_duration(duration) if isinstance(duration, str) else float(duration)
    return _call(url, {"advance_seconds": seconds})
