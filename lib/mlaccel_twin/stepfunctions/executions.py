"""Step Functions behaviours moto's interpreter gets wrong, as pure functions the seam installs.

- An execution started without a name gets a generated one (AWS gives a UUID); moto names it
  ``None``, so a second one collides and ListExecutions breaks.
- An execution's output is JSON text; moto sent a string output bare.
- A definite JSONPath (no wildcard, slice, filter, union or deep scan) selects one value, as in
  AWS: ``$.x[0].y`` is the value of ``y``; moto answers a list for paths through an index,
  so Choice rules on such paths silently took the default branch.
- GetExecutionHistory pages its events and honours ``reverseOrder``; moto sent them all,
  oldest first.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

# Path features that make a JSONPath select several values.
_INDEFINITE = re.compile(r"\*|\.\.|\?\(|\[[^\]]*[:,][^\]]*\]")


def execution_name(name: str | None) -> str:
    """The name an execution gets: the one asked for, else a UUID, as AWS does.

    Examples
    --------
    >>> execution_name("nightly-1")
    'nightly-1'
    >>> len(execution_name(None))
    36
    """
    return name if name else str(uuid.uuid4())


def output_json(output: Any) -> str:
    """An execution's output as DescribeExecution sends it: JSON text, strings included.

    Examples
    --------
    >>> output_json("deployed"), output_json({"score": 0.9})
    ('"deployed"', '{"score":0.9}')
    """
    return json.dumps(output, separators=(",", ":"))


def is_definite(path: str) -> bool:
    """Whether a JSONPath selects at most one value (then AWS answers that value, not a list).

    Examples
    --------
    >>> is_definite("$.x[0].y"), is_definite("$.x[*].y"), is_definite("$.x[1:3]")
    (True, False, False)
    >>> is_definite("$..y"), is_definite("$.x[?(@.y > 1)]"), is_definite("$.x[0,2]")
    (False, False, False)
    """
    return not _INDEFINITE.search(path)


def definite_extract(original: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """moto's ``extract_json``, answering the one value a definite path selects."""
    from jsonpath_ng.ext.parser import parse

    def extract_json(path: str, data: Any) -> Any:
        if is_definite(path):
            matches = parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return original(path, data)  # moto's answer, or its error naming the missing path

    return extract_json


def history_page(
    events: list[dict[str, Any]],
    *,
    reverse_order: bool = False,
    max_results: int | None = None,
    next_token: str | None = None,
) -> dict[str, Any]:
    """One page of GetExecutionHistory as AWS answers it: oldest first, or newest first with
    ``reverseOrder``; at most ``maxResults`` events (AWS's default and ceiling: 1000) and a
    ``nextToken`` for the rest.

    Examples
    --------
    >>> events = [{"id": i} for i in range(1, 6)]
    >>> page = history_page(events, reverse_order=True, max_results=2)
    >>> [e["id"] for e in page["events"]], "nextToken" in page
    ([5, 4], True)
    >>> [e["id"] for e in history_page(events, max_results=2, next_token="4")["events"]]
    [5]
    """
    size = min(max_results or 1000, 1000)
    ordered = list(reversed(events)) if reverse_order else list(events)
    start = _offset(next_token)
    page: dict[str, Any] = {"events": ordered[start : start + size]}
    if start + size < len(ordered):
        page["nextToken"] = str(start + size)
    return page


def _offset(next_token: str | None) -> int:
    if not next_token:
        return 0
    if not next_token.isdigit():
        from moto.stepfunctions.exceptions import InvalidToken

        raise InvalidToken(f"Invalid Token: {next_token!r} is not a token this twin gave")
    return int(next_token)
