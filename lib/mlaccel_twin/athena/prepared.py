"""Athena's prepared statements: ``PREPARE``, ``EXECUTE … USING`` and ``DEALLOCATE PREPARE``.

Statements prepared in SQL and those created with ``CreatePreparedStatement`` live in the same
place (moto's Athena backend, per workgroup); ``EXECUTE`` binds its ``USING`` values, or the
query's ``ExecutionParameters``, to the statement's ``?`` markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREPARE = re.compile(
    r"^\s*PREPARE\s+(?P<name>\w+)\s+FROM\s+(?P<body>.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL
)
EXECUTE = re.compile(
    r"^\s*EXECUTE\s+(?P<name>\w+)(?:\s+USING\s+(?P<values>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
DEALLOCATE = re.compile(r"^\s*DEALLOCATE\s+PREPARE\s+(?P<name>\w+)\s*;?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Execute:
    """An ``EXECUTE``: the statement's name and the values it binds (None: none given)."""

    name: str
    values: list[str] | None


def parse_execute(sql: str) -> Execute | None:
    """The ``EXECUTE`` in ``sql``, or None when ``sql`` is no EXECUTE.

    Examples
    --------
    >>> parse_execute("EXECUTE by_age USING 30, 'a,b', date '2026-01-01'")
    Execute(name='by_age', values=['30', "'a,b'", "date '2026-01-01'"])
    >>> parse_execute("EXECUTE by_age")
    Execute(name='by_age', values=None)
    >>> parse_execute("SELECT 1") is None
    True
    """
    match = EXECUTE.match(sql)
    if match is None:
        return None
    values = match.group("values")
    return Execute(match.group("name"), split_values(values) if values else None)


def split_values(text: str) -> list[str]:
    """SQL literals separated by commas outside quotes and parentheses.

    Examples
    --------
    >>> split_values("1, 'it''s, here', ARRAY[1, 2]")
    ['1', "'it''s, here'", 'ARRAY[1, 2]']
    """
    values: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return [v for v in values if v]
