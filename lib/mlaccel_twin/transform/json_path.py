"""The JSONPath subset SageMaker batch transform accepts in InputFilter, OutputFilter and join."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlaccel.errors import (
    JobFailed,
    MLAccelInputError,
)

_NAME = r"[A-Za-z_][A-Za-z0-9_\-]*"


_SEGMENT = re.compile(rf"\.(?P<name>{_NAME})|\[(?P<bracket>[^\]]*)\]")


_INT = re.compile(r"^\s*-?\d+\s*$")


@dataclass(frozen=True)
class _Step:
    kind: str  # "key", "keys", "index", "indices", "slice", "all", "union"
    keys: tuple[str, ...] = ()
    indices: tuple[int, ...] = ()
    bounds: tuple[int | None, int | None, int | None] = (None, None, None)
    parts: tuple[_Step, ...] = ()  # of a union such as [0,5:]: indices and slices


def parse_json_path(path: str, label: str = "path") -> tuple[_Step, ...]:
    """Parse SageMaker's JSONPath subset (``$``, ``.key``, ``['key']``, ``[i]``, ``[i,j]``,
    ``[i:j]``, ``[i,j:]``, ``[*]``).

    Examples
    --------
    >>> len(parse_json_path("$.features[1:]"))
    2
    """
    text = path.strip()
    if not text.startswith("$"):
        raise MLAccelInputError(
            f"{label}={path!r} is not a JSONPath; start it with '$' (e.g. '$[1:]' or '$.features')"
        )
    steps = []
    position = 1
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise MLAccelInputError(
                f"{label}={path!r} cannot be read at {text[position:]!r}; SageMaker supports "
                "$, .key, ['key'], [i], [i,j], [i:j], [i,j:] and [*]"
            )
        if match.group("name") is not None:
            steps.append(_Step("key", keys=(match.group("name"),)))
        else:
            steps.append(_bracket_step(match.group("bracket"), path, label))
        position = match.end()
    return tuple(steps)


def _bracket_step(inside: str, path: str, label: str) -> _Step:
    content = inside.strip()
    if content == "*":
        return _Step("all")
    if content.startswith(("'", '"')):
        names = tuple(part.strip().strip("'\"") for part in content.split(","))
        return _Step("key" if len(names) == 1 else "keys", keys=names)
    if ":" in content and "," in content:
        # Indices and slices together, as in AWS's OutputFilter example "$[0,5:]".
        return _Step(
            "union", parts=tuple(_bracket_step(p, path, label) for p in content.split(","))
        )
    if ":" in content:
        parts = content.split(":")
        if len(parts) > 3 or not all(not p.strip() or _INT.match(p) for p in parts):
            raise MLAccelInputError(
                f"{label}={path!r}: [{inside}] is not a slice like [1:] or [0:3]"
            )
        values = [int(p) if p.strip() else None for p in parts] + [None] * (3 - len(parts))
        return _Step("slice", bounds=(values[0], values[1], values[2]))
    parts = content.split(",")
    if not all(_INT.match(p) for p in parts):
        raise MLAccelInputError(
            f"{label}={path!r}: [{inside}] must hold indices like [0] or [0,-1], a slice, "
            "quoted keys or *"
        )
    indices = tuple(int(p) for p in parts)
    return _Step("index" if len(indices) == 1 else "indices", indices=indices)


def select_json_path(value: Any, path: str, *, label: str = "path") -> Any:
    """Select part of a record with SageMaker's JSONPath subset.

    CSV records are lists of their fields; JSON records are what ``json.loads`` returns.

    Examples
    --------
    >>> select_json_path(["id7", "1.0", "2.0", "3.0"], "$[1:]")
    ['1.0', '2.0', '3.0']
    >>> select_json_path(["id7", "1.0", "2.0", "0.93"], "$[0,-1]")
    ['id7', '0.93']
    >>> select_json_path(["id7", "1.0", "0.2", "0.8"], "$[0,-2:]")
    ['id7', '0.2', '0.8']
    >>> select_json_path({"id": 7, "features": [1, 2]}, "$.features")
    [1, 2]
    """
    current = value
    for step in parse_json_path(path, label):
        current = _apply_step(current, step, path, label)
    return current


def _apply_step(value: Any, step: _Step, path: str, label: str) -> Any:
    try:
        if step.kind == "union":
            selected: list[Any] = []
            for part in step.parts:
                chosen = _apply_step(value, part, path, label)
                selected += chosen if part.kind == "slice" else [chosen]
            return selected
        if step.kind == "all":
            return list(value.values()) if isinstance(value, dict) else list(value)
        if step.kind in {"key", "keys"}:
            if not isinstance(value, dict):
                raise TypeError(f"selects key(s) {list(step.keys)} of a non-object")
            if step.kind == "key":
                return value[step.keys[0]]
            return {key: value[key] for key in step.keys}
        if not isinstance(value, list):
            raise TypeError("indexes a value that is not an array")
        if step.kind == "index":
            return value[step.indices[0]]
        if step.kind == "indices":
            return [value[i] for i in step.indices]
        start, stop, stride = step.bounds
        return value[slice(start, stop, stride)]
    except (KeyError, IndexError, TypeError) as exc:
        shown = json.dumps(value)[:120] if not isinstance(value, bytes) else repr(value[:60])
        raise JobFailed(f"{label} {path!r} does not fit the record {shown}: {exc}") from None
